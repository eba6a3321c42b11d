"""Linux: the application entry that makes AFAS Tray a handler for phone links (issue 16).

Windows registers handlers in its installer (``packaging/windows/afas-tray.iss``) and macOS in
``Info.plist``; the Linux bundle is a folder without installer, so ``afas-tray links`` writes
``~/.local/share/applications/afas-tray.desktop`` with ``MimeType=x-scheme-handler/tel;…``
(Desktop Entry Specification; the ``%u`` field code passes the link). That offers AFAS Tray for
``tel:``/``callto:`` (and ``afas-tray:``) links; ``--default`` also makes it the default for
``tel:``/``callto:`` with ``xdg-mime``. The autostart entry (``autostart.py``) stays separate: a
file in the autostart folder is never consulted for links.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

from afas_tray import APP_NAME
from afas_tray.system.autostart import _write_atomic, default_command, desktop_exec

APP_DESKTOP_FILE = "afas-tray.desktop"
SCHEMES = ("tel", "callto", "afas-tray")
DIAL_SCHEMES = ("tel", "callto")


def applications_dir() -> Path:
    data = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(data) if data and os.path.isabs(data) else Path.home() / ".local" / "share"
    return base / "applications"


def handler_entry(command: list[str]) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={APP_NAME}",
        "Comment=Caller pop, call reports and dialling for Xelion and AFAS Profit",
        "Comment[nl]=Bellerherkenning, gespreksverslagen en bellen voor Xelion en AFAS Profit",
        f"Exec={desktop_exec(command)} %u",
        "Terminal=false",
        "Categories=Office;Telephony;",
        "MimeType=" + "".join(f"x-scheme-handler/{s};" for s in SCHEMES),
        "",
    ])


def install(command: list[str] | None = None, *, make_default: bool = False,
            folder: Path | None = None) -> Path:
    """Write the entry (idempotent) and refresh the desktop database; returns its path."""
    path = (folder or applications_dir()) / APP_DESKTOP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, handler_entry(command or default_command()).encode("utf-8"))
    _run_quietly("update-desktop-database", str(path.parent))
    if make_default:
        for scheme in DIAL_SCHEMES:
            _run_quietly("xdg-mime", "default", APP_DESKTOP_FILE, f"x-scheme-handler/{scheme}")
    return path


def _run_quietly(*cmd: str) -> None:
    if shutil.which(cmd[0]) is None:
        return
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10, check=False)


def cmd_links(args: object) -> int:
    import sys

    from afas_tray.i18n import T

    if not sys.platform.startswith("linux"):
        print(T("Only needed on Linux: the Windows installer and the macOS app register "
                "tel:/callto: links themselves.",
                "Alleen nodig op Linux: de Windows-installer en de macOS-app registreren "
                "tel:/callto:-links zelf."))
        return 0
    path = install(make_default=bool(getattr(args, "default", False)))
    print(T(f"Registered for tel:, callto: and afas-tray: links: {path}",
            f"Geregistreerd voor tel:-, callto:- en afas-tray:-links: {path}"))
    return 0
