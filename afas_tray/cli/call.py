"""``afas-tray call NUMBER [--call-id ID]``: hand a ringing call to the running app.

On the hot path of every ringing call (a phone hook or a Xelion trigger starts it), so this
module and what it imports stay small: the gate (``handoff``) and the socket client
(``system.instance_client``), nothing with dataclasses, Qt, httpx or settings, not even
``typing`` or ``re``. Only when no app runs does it load ``subprocess`` to start one.
``afas_tray/__main__.py`` (``python -m afas_tray`` and the frozen bundle) comes here before it
imports anything else; so does the ``afas-tray`` console script (``cli.main``).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Sequence


def cmd_call(args_list: Sequence[str]) -> int:
    """Hand a ringing call to the running instance; start one when none runs."""
    from afas_tray.handoff import HandoffError, cli_call_line, parse_call_parts
    from afas_tray.system.instance_client import profile_instance_name, send_to_instance

    try:
        line = cli_call_line(args_list)
    except HandoffError as exc:
        print(f"afas-tray: {exc.text}", file=sys.stderr)
        return 2
    if send_to_instance(profile_instance_name(), line):
        return 0
    number, call_id = parse_call_parts(args_list)
    return _start_app_with(number, call_id)


def _start_app_with(number: str, call_id: str) -> int:
    """No instance runs: start the tray app detached, carrying the call as an afas-tray:// URL."""
    from urllib.parse import urlencode

    from afas_tray.system.autostart import start_detached

    start_detached(["afas-tray://call?" + urlencode({"number": number, "callId": call_id})])
    return 0
