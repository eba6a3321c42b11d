"""Start the app: hand a call to a running instance, or set up Qt, the single-instance socket and
the one asyncio loop (qasync), and run the tray shell (``ui/shell.py``) on it.

The only module besides ``ui/`` that touches Qt, and the one that wires ``--demo``'s simulators.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence

from afas_tray import APP_NAME, __version__
from afas_tray.handoff import (
    HandoffError,
    event_to_line,
    is_call_url,
    parse_call_url,
)
from afas_tray.system.instance_client import instance_name, send_to_instance
from afas_tray.system.logs import setup_logging
from afas_tray.system.profile import Profile

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    demo_env = None
    if "--demo" in args:
        from afas_tray.demo.environment import DemoEnvironment

        demo_env = DemoEnvironment()
        demo_settings = demo_env.start()  # sets AFAS_TRAY_HOME to a throw-away profile
    profile = Profile.open()
    setup_logging(profile.paths, console=bool(os.environ.get("AFAS_TRAY_DEBUG")))
    name = instance_name(profile.paths)
    urls = [a for a in args if is_call_url(a)]
    lines: list[str] = []
    for url in urls:
        try:
            lines.append(event_to_line(parse_call_url(url)))
        except HandoffError as exc:
            print(f"afas-tray: {exc.text}", file=sys.stderr)
            return 2
    # A second start (URL scheme, double-click) hands its calls to the running instance.
    if lines and demo_env is None and all(send_to_instance(name, line) for line in lines):
        return 0

    import qasync
    from PySide6.QtWidgets import QApplication

    from afas_tray.ui.qt_compat import guard_bool_refcounts
    from afas_tray.ui.single_instance import SingleInstanceServer

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    guard_bool_refcounts()  # before the loop: qasync emits a signal per worker-thread result
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setQuitOnLastWindowClosed(False)
    server = SingleInstanceServer(name)
    if not server.listen():
        if lines and all(send_to_instance(name, line) for line in lines):
            return 0
        print(f"afas-tray: {server.error_text() or 'AFAS Tray is already running.'}", file=sys.stderr)
        return 1

    if demo_env is not None:
        profile.save(demo_settings)
    loaded = profile.load()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    from afas_tray.ui.shell import TrayShell, url_open_filter

    shell = TrayShell(app, profile, loaded, demo_env=demo_env)
    server.received.connect(shell.on_instance_message)
    server.status_provider = shell.status_json  # `afas-tray status`
    url_events = url_open_filter(shell)  # macOS delivers afas-tray:// URLs as QFileOpenEvent
    app.installEventFilter(url_events)
    for line in lines:
        shell.on_instance_message(line)
    signal.signal(signal.SIGINT, lambda *_: shell.quit())
    signal.signal(signal.SIGTERM, lambda *_: shell.quit())
    try:
        with loop:
            loop.run_until_complete(shell.run())
    finally:
        server.close()
        if demo_env is not None:
            demo_env.stop()
    return 0
