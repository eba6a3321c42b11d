"""The Xelion trigger AFAS Tray needs, and whether its events reach this desk.

A ``new_call`` trigger (``model/XCCTrigger.html``, ``resources/triggers_create.html``) is what
puts the caller's number into the user's websocket: Xelion sends its value, placeholders filled
in, as a trigger event (``websockets/model/TriggerEvent.html``). Channel events carry no number.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from afas_tray.i18n import T, Text

TRIGGER_TYPE = "new_call"
# The only action the guide shows by name; Xelion's own clients run it, AFAS Tray reads the
# same value from the websocket, and the URL form works both ways (the OS hands it to us).
TRIGGER_ACTION = "system_command"
TRIGGER_CONDITION = "${incoming}=1"
TRIGGER_VALUE = "afas-tray://call?number=${callerPhoneNumber}&callId=${callId}"
TRIGGER_NAME = "AFAS Tray"
SEEN_FILE = "xelion-seen.json"


def recommended_trigger(name: str = TRIGGER_NAME) -> dict[str, Any]:
    """The ``POST triggers`` body of the trigger AFAS Tray needs."""
    return {
        "type": TRIGGER_TYPE,
        "action": TRIGGER_ACTION,
        "condition": TRIGGER_CONDITION,
        "value": TRIGGER_VALUE,
        "active": True,
        "commonName": name,
        "objectType": "XCCTrigger",
    }


def trigger_rows() -> list[tuple[Text, str]]:
    """The trigger as label/value rows (settings dialog, CLI, README)."""
    return [
        (T("Type", "Type"), TRIGGER_TYPE),
        (T("Action", "Actie"), TRIGGER_ACTION),
        (T("Condition", "Voorwaarde"), TRIGGER_CONDITION),
        (T("Value", "Waarde"), TRIGGER_VALUE),
    ]


def is_ours(trigger: dict[str, Any]) -> bool:
    """An existing trigger that already does the job (same type, our value, active)."""
    return (trigger.get("type") == TRIGGER_TYPE and trigger.get("active", True) is not False
            and "afas-tray" in str(trigger.get("value") or "").lower())


def mark_trigger_seen(data_dir: Path, kind: str) -> None:
    """Remember (for ``doctor``) that a trigger event reached this desk."""
    path = data_dir / SEEN_FILE
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"trigger_event_at": time.time(), "kind": kind}),
                       encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # diagnostics only


def trigger_seen(data_dir: Path) -> tuple[float, str] | None:
    """(when, event type) of the last trigger event seen on this desk, or None."""
    try:
        data = json.loads((data_dir / SEEN_FILE).read_text(encoding="utf-8"))
        return float(data["trigger_event_at"]), str(data.get("kind") or "")
    except (OSError, ValueError, KeyError, TypeError):
        return None
