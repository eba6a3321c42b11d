"""The optional global dial hotkey (setting ``dial.hotkey``), through pynput when installed.

pynput (kept, LGPL) registers system-wide hotkeys on Windows (a low-level keyboard hook), macOS
(a Quartz event tap: the user must allow AFAS Tray under Privacy → Input Monitoring /
Accessibility) and Linux under X11 (Xlib; under Wayland only while an X client has focus, as
Wayland gives no global keys to clients). It is an optional extra (``pip install
afas-tray[hotkey]``): without it, or without a usable display, the hotkey is off and this says
why. The callback runs on pynput's thread; the caller hops back to its own loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from afas_tray.i18n import T, Text

log = logging.getLogger(__name__)


def start(spec: str, on_hotkey: Callable[[], None]) -> tuple[Callable[[], None] | None, Text | None]:
    """Listen for ``spec`` (pynput syntax, e.g. ``<ctrl>+<alt>+d``): (stop function, problem)."""
    spec = spec.strip()
    if not spec:
        return None, None
    try:
        from pynput import keyboard
    except Exception as exc:  # not installed, or no X display / unsupported session
        log.info("dial hotkey unavailable: %s", type(exc).__name__)
        return None, T(
            "The dial hotkey needs the optional pynput package and a desktop session it "
            "supports (Windows, macOS, Linux with X11). See the README.",
            "De belsneltoets vraagt het optionele pakket pynput en een bureaubladsessie die het "
            "ondersteunt (Windows, macOS, Linux met X11). Zie de README.")
    try:
        keyboard.HotKey.parse(spec)
        listener = keyboard.GlobalHotKeys({spec: on_hotkey})
        listener.start()
    except (ValueError, KeyError):
        return None, T(f"'{spec[:40]}' is not a hotkey; write it like <ctrl>+<alt>+d.",
                       f"'{spec[:40]}' is geen sneltoets; schrijf hem als <ctrl>+<alt>+d.")
    log.info("dial hotkey %s active", spec)
    return listener.stop, None
