"""`afas-tray xelion addressbook sync [--dry-run]`: push the phone book into Xelion's address book.

Registered under the CLI's ``xelion`` group with ``add_addressbook_parser(xelion_subparsers)``.
Imports stay light at module level: the CLI builds its parser on every start.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from afas_tray.i18n import T

PLAN_SHOWN = 20  # items of each kind a dry run lists


def add_addressbook_parser(xelion_subparsers: Any) -> argparse.ArgumentParser:
    """Add ``addressbook`` to the ``xelion`` group's subparsers."""
    a: argparse.ArgumentParser = xelion_subparsers.add_parser(
        "addressbook", help="keep Xelion's address book in step with AFAS (one desk or server)")
    asub = a.add_subparsers(dest="addressbook_action", required=True)
    s = asub.add_parser("sync", help="push the phone book's organisations, persons and contact "
                                     "persons into Xelion's address book")
    s.add_argument("--dry-run", action="store_true",
                   help="print the plan (creates, updates, removals) without writing")
    s.add_argument("--rate", type=float, default=8.0,
                   help="requests per second at most (default 8)")
    s.add_argument("--concurrency", type=int, default=2,
                   help="requests in flight at most (default 2)")
    s.set_defaults(func=cmd_addressbook_sync)
    return a


def _print_plan(plan: Any) -> None:
    print(plan.describe())
    for title, items in (
        (T("create (or adopt)", "aanmaken (of overnemen)"), [(d.kind, d.name, d.numbers)
                                                             for d in plan.creates]),
        (T("update", "bijwerken"), [(d.kind, d.name, d.numbers) for d, _m in plan.updates]),
        (T("remove", "verwijderen"), [(m.role, m.key, m.oid) for m in plan.removals]),
    ):
        for kind, name, extra in items[:PLAN_SHOWN]:
            if isinstance(extra, tuple):
                extra = ", ".join(n for n, _t in extra)
            print(f"  {title}: {kind} {name}  {extra}".rstrip())
        if len(items) > PLAN_SHOWN:
            more = len(items) - PLAN_SHOWN
            print(T(f"  … and {more:,} more", f"  … en nog {more:,}"))


def cmd_addressbook_sync(args: argparse.Namespace) -> int:
    import asyncio

    from afas_tray.phonebook import PhoneBook
    from afas_tray.phonebook.xelion_push import AddressBookSync
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    loaded = profile.load()
    if loaded.problem is not None:
        print(f"afas-tray: {loaded.problem}", file=sys.stderr)
    settings = loaded.settings
    region = settings.phone.default_region
    book = PhoneBook(profile.paths.phonebook_file, region)
    push = AddressBookSync(book, profile.paths.database_file, region)
    try:
        plan = push.plan()
        if args.dry_run:
            _print_plan(plan)
            return 0
        if not settings.xelion.configured:
            print(T("afas-tray: Xelion is not set up (see `afas-tray config`).",
                    "afas-tray: Xelion is niet ingesteld (zie `afas-tray config`)."),
                  file=sys.stderr)
            return 2
        if plan.empty:
            print(T("Xelion address book: nothing changed.", "Xelion-adresboek: niets gewijzigd."))
            return 0
        print(plan.describe(), flush=True)
        tty = sys.stderr.isatty()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if tty and (now - last[0] > 0.1 or done == total):
                last[0] = now
                print(f"\r{done:,}/{total:,} …".ljust(40), end="", file=sys.stderr, flush=True)

        result = asyncio.run(_push(settings, profile.secrets, push, plan, progress, args.rate,
                                   args.concurrency))
        if tty:
            print("\r".ljust(40), end="\r", file=sys.stderr)
        print(result.summary())
        return 1 if result.interrupted is not None or result.failed else 0
    finally:
        push.close()
        book.close()


SESSION_KEY = "xelion.session.addressbook"


async def _push(settings: Any, secrets: Any, push: Any, plan: Any, progress: Any, rate: float,
                concurrency: int) -> Any:
    from afas_tray.xelion import AddressablesApi, XelionClient

    x = settings.xelion
    # Its own userSpace: the running app's session must not be thrown out by this login.
    # A killed run leaves its session holding that userSpace: keep the token so the next run
    # ends it instead of being refused as "already logged in".
    async with XelionClient(x.host, x.tenant, x.username, x.password,
                            x.effective_user_space() + "-addressbook",
                            previous_session=secrets.get(SESSION_KEY) or None,
                            on_session=lambda token: secrets.set(SESSION_KEY, token or ""),
                            logout_on_close=True) as client:
        api = AddressablesApi(client, rate=rate, concurrency=concurrency)
        return await push.push(api, plan, progress=progress, workers=concurrency)
