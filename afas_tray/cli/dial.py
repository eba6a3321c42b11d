"""``afas-tray dial NUMBER`` and ``afas-tray tel:…`` / ``callto:…`` (how the OS opens a link).

The call is placed from this short-lived process with its own Xelion session (its own userSpace,
``<userSpace>-dial``, so the running app's session is never ended by it), logged out afterwards.
Exit codes: 0 placed (or handed to the softphone), 1 Xelion or the OS refused, 2 bad input.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from afas_tray.i18n import T

if TYPE_CHECKING:
    from afas_tray.pop.dial import DialResult

DIAL_USER_SPACE_SUFFIX = "-dial"


def wants_dial(args: Sequence[str]) -> bool:
    """``dial …`` or a lone tel:/callto: link: the CLI's ``main`` hands these to ``cmd_dial``."""
    # Cheap on purpose: every CLI start asks this; the dial module (phonenumbers) loads later.
    if not args:
        return False
    scheme, sep, _ = args[0].strip().partition(":")
    return args[0] == "dial" or (bool(sep) and scheme.lower() in ("tel", "callto"))


def number_from_args(args: Sequence[str]) -> str:
    from afas_tray.pop.dial import DialError, is_dial_url

    items = list(args)
    if items[:1] == ["dial"]:
        items = items[1:]
    if items[:1] == ["--"]:
        items = items[1:]
    if not items:
        raise DialError(T("Usage: afas-tray dial NUMBER (or a tel: link).",
                          "Gebruik: afas-tray dial NUMMER (of een tel:-link)."))
    if is_dial_url(items[0]) and len(items) > 1:
        raise DialError(T("Extra arguments after the link.", "Extra argumenten na de link."))
    # A number may come split over several arguments (``dial 020 622 12 34``).
    return " ".join(items)


async def dial_headless(raw: str) -> DialResult:
    """Dial with the saved settings and a session of our own."""
    from afas_tray.pop.dial import Dialler, xelion_call_through
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    loaded = profile.load()
    settings = loaded.settings
    x = settings.xelion
    if settings.dial.prefer_softphone or not x.configured:  # Dialler explains what is missing
        return await Dialler(settings, None).dial(raw)
    from afas_tray.xelion import XelionClient

    client = XelionClient(x.host, x.tenant, x.username, x.password,
                          x.effective_user_space()[: 200 - len(DIAL_USER_SPACE_SUFFIX)]
                          + DIAL_USER_SPACE_SUFFIX, logout_on_close=True)
    async with client:
        return await Dialler(settings, xelion_call_through(client, settings)).dial(raw)


def cmd_dial(args: Sequence[str]) -> int:
    from afas_tray.pop.dial import DialError, dial_target

    try:
        raw = number_from_args(args)
        dial_target(raw)  # refuse junk before any settings or network are touched
    except DialError as exc:
        print(f"afas-tray: {exc.text}", file=sys.stderr)
        return 2
    if args[:1] != ["dial"]:
        if _hand_to_app(raw):
            return 0  # a tel:/callto: link: the running app dials and shows the result
        if _without_terminal() and _start_app_then_hand(raw):
            return 0  # clicked in a browser, no app running: start it, it dials and says so
    result = asyncio.run(dial_headless(raw))
    stream = sys.stdout if result.ok else sys.stderr
    print(str(result.text), file=stream)
    return 0 if result.ok else 1


def _hand_to_app(raw: str) -> bool:
    """Give a link's number to the running app (its session, its notification); False when
    no app runs. ``dial`` typed in a terminal dials itself, so its answer is printed there."""
    from afas_tray.pop.dial import dial_to_line
    from afas_tray.system.instance_client import instance_name, send_to_instance
    from afas_tray.system.paths import app_paths

    return send_to_instance(instance_name(app_paths()), dial_to_line(raw))


def add_parsers(sub: Any) -> None:
    """``afas-tray missed`` and ``afas-tray links`` (``dial`` itself is routed before argparse)."""
    m = sub.add_parser("missed", help="list the missed calls not yet seen")
    m.add_argument("--json", action="store_true", help="as JSON lines")
    m.set_defaults(func=cmd_missed)
    links = sub.add_parser("links", help="Linux: register AFAS Tray for tel:/callto: links")
    links.add_argument("--default", action="store_true",
                       help="also make it the default app for tel: and callto:")
    links.set_defaults(func=_cmd_links)


def _cmd_links(args: Any) -> int:
    from afas_tray.system.url_links import cmd_links

    return cmd_links(args)


def missed_lines(db_path: Any) -> list[str]:
    """One line per unseen missed call, newest first (for ``missed`` and ``status``)."""
    from datetime import datetime

    from afas_tray.reports.missed import unseen_missed_calls

    lines = []
    for call in unseen_missed_calls(db_path):
        when = datetime.fromisoformat(call["time"]).astimezone().strftime("%d-%m %H:%M")
        who = f" — {call['name']}" if call["name"] else ""
        lines.append(f"{when}  {call['number']}{who}")
    return lines


def cmd_missed(args: Any) -> int:
    import json

    from afas_tray.reports.missed import unseen_missed_calls
    from afas_tray.system.paths import app_paths

    db = app_paths().database_file
    if getattr(args, "json", False):
        for call in unseen_missed_calls(db):
            print(json.dumps(call, ensure_ascii=False))
        return 0
    lines = missed_lines(db)
    if not lines:
        print(T("No missed calls waiting.", "Geen gemiste oproepen die wachten."))
        return 0
    print(T(f"Missed calls not yet seen ({len(lines)}):",
            f"Gemiste oproepen nog niet bekeken ({len(lines)}):"))
    for line in lines:
        print(f"  {line}")
    return 0


def _without_terminal() -> bool:
    """A bundled program opened by the OS for a link: nobody would read what we print."""
    stream = sys.stderr
    return bool(getattr(sys, "frozen", False)) and (stream is None or not stream.isatty())


def _start_app_then_hand(raw: str, wait: float = 20.0) -> bool:
    import time

    from afas_tray.system.autostart import start_detached

    try:
        start_detached([])
    except OSError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if _hand_to_app(raw):
            return True
    return False
