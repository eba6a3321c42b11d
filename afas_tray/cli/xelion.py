"""`afas-tray xelion …`: the trigger Xelion needs (`trigger show|create`) and a field capture
(`capture [--minutes N] [--keep-numbers] FILE`) for checking a new tenant.

Registered by afas_tray.cli.main with ``cli_xelion.add_parser(sub)``; imports stay light at module
level (the CLI builds its parser on every start, also for `afas-tray call`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from afas_tray.i18n import T


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``xelion`` to the CLI's subparsers."""
    x: argparse.ArgumentParser = subparsers.add_parser(
        "xelion", help="the Xelion trigger (`trigger show|create`) and a field capture")
    xsub = x.add_subparsers(dest="xelion_action", required=True)
    t = xsub.add_parser("trigger", help="show the new_call trigger AFAS Tray needs, or create it")
    t.add_argument("trigger_action", choices=("show", "create"))
    t.add_argument("--json", action="store_true", help="show: the POST triggers body as JSON")
    c = xsub.add_parser("capture", help="record this desk's Xelion websocket frames and REST "
                        "replies (secrets redacted) into FILE")
    c.add_argument("file")
    c.add_argument("--minutes", type=float, default=5.0, help="how long (default 5)")
    c.add_argument("--keep-numbers", action="store_true",
                   help="keep phone numbers (default: replaced by stand-ins)")
    from afas_tray.cli.addressbook import add_addressbook_parser

    add_addressbook_parser(xsub)  # `xelion addressbook sync` sets its own func
    x.set_defaults(func=cmd_xelion)
    return x


def _print_trigger(as_json: bool) -> None:
    from afas_tray.xelion import recommended_trigger, trigger_rows

    if as_json:
        print(json.dumps(recommended_trigger(), indent=2))
        return
    print(T("Create this trigger in Xelion (administration):",
            "Maak deze trigger aan in Xelion (beheer):"))
    for label, value in trigger_rows():
        print(f"  {label}: {value}")


def _client(settings: Any, suffix: str) -> Any:
    from afas_tray.xelion import XelionClient

    x = settings.xelion
    # Its own userSpace: the running app's session is not thrown out.
    return XelionClient(x.host, x.tenant, x.username, x.password,
                        x.effective_user_space()[: 200 - len(suffix)] + suffix)


def cmd_xelion(args: argparse.Namespace) -> int:
    if args.xelion_action == "trigger" and args.trigger_action == "show":
        _print_trigger(args.json)
        return 0
    from afas_tray.system.profile import Profile

    settings = Profile.open().load().settings
    if not settings.xelion.configured:
        print(T("afas-tray: Xelion is not set up: fill in server, tenant, user name and "
                "password first.",
                "afas-tray: Xelion is niet ingesteld: vul eerst server, tenant, gebruikersnaam "
                "en wachtwoord in."), file=sys.stderr)
        return 2
    if args.xelion_action == "trigger":
        return asyncio.run(_create_trigger(settings))
    return asyncio.run(_capture(settings, Path(args.file), args.minutes, args.keep_numbers))


async def _create_trigger(settings: Any) -> int:
    from afas_tray.xelion import XelionError, XelionNoPermission, is_ours, recommended_trigger

    client = _client(settings, "-admin")
    try:
        async with client:
            try:
                existing = await client.triggers()
                if any(is_ours(t) for t in existing):
                    print(T("The AFAS Tray trigger exists already; nothing changed.",
                            "De AFAS Tray-trigger bestaat al; niets gewijzigd."))
                    return 0
                created = await client.create_trigger(recommended_trigger())
            finally:
                await client.logout()  # a one-off session
    except XelionNoPermission:
        print(T(f"afas-tray: the Xelion account '{settings.xelion.username}' may not create "
                "triggers (administration rights needed). Ask a Xelion administrator to create "
                "it, or run this with an administrator's account. The trigger:",
                f"afas-tray: het Xelion-account '{settings.xelion.username}' mag geen triggers "
                "maken (beheerrechten nodig). Vraag een Xelion-beheerder om hem te maken, of "
                "gebruik een beheerdersaccount. De trigger:"), file=sys.stderr)
        _print_trigger(False)
        return 3
    except XelionError as exc:
        print(f"afas-tray: {exc.text}", file=sys.stderr)
        return 2
    print(T(f"Trigger created in Xelion (oid {created.get('oid', '?')}).",
            f"Trigger aangemaakt in Xelion (oid {created.get('oid', '?')})."))
    return 0


async def run_capture(client: Any, minutes: float, keep_numbers: bool,
                      stop: asyncio.Event | None = None) -> Any:
    """Capture for ``minutes`` (or until ``stop`` is set); returns the Capture."""
    from afas_tray.xelion import Capture, XelionEventStream

    capture = Capture(keep_numbers=keep_numbers)
    client.on_exchange = capture.exchange
    stream = XelionEventStream(client, capture.event, on_frame=capture.frame)
    task = asyncio.ensure_future(stream.run())
    waiter = asyncio.ensure_future((stop or asyncio.Event()).wait())
    try:
        await asyncio.wait({task, waiter}, timeout=max(0.0, minutes * 60.0))
    finally:
        stream.stop()
        waiter.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)
    return capture


async def _capture(settings: Any, target: Path, minutes: float, keep_numbers: bool) -> int:
    from afas_tray.xelion import XelionError

    client = _client(settings, "-capture")
    print(T(f"Capturing Xelion for {minutes:g} minutes: make a few calls to this desk now "
            "(answer one, let one ring out, write a report in Xelion).",
            f"Xelion wordt {minutes:g} minuten vastgelegd: bel nu een paar keer naar dit "
            "toestel (neem er een op, laat er een overgaan, schrijf een verslag in Xelion)."))
    try:
        async with client:
            try:
                capture = await run_capture(client, minutes, keep_numbers)
            finally:
                await client.logout()
    except XelionError as exc:
        print(f"afas-tray: {exc.text}", file=sys.stderr)
        return 2
    try:
        capture.save(target)
    except OSError as exc:
        print(T(f"afas-tray: cannot write {target}: {exc.strerror}.",
                f"afas-tray: kan {target} niet schrijven: {exc.strerror}."), file=sys.stderr)
        return 2
    print(T(f"Written {target}: {len(capture.frames)} websocket frames, {len(capture.rest)} "
            "REST replies; secrets redacted" + ("" if keep_numbers else ", numbers replaced")
            + ".",
            f"{target} geschreven: {len(capture.frames)} websocket-berichten, "
            f"{len(capture.rest)} REST-antwoorden; geheimen verwijderd"
            + ("" if keep_numbers else ", nummers vervangen") + "."))
    return 0
