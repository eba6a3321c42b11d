"""`afas-tray outbox`: list the call reports on their way to AFAS; `outbox retry ID|--failed`.

Registered by afas_tray.cli.main with ``cli_outbox.add_parser(sub)``. Imports stay light at module
level: the CLI builds its parser on every start, also for `afas-tray call`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Any

from afas_tray.i18n import T

STATES = ("pending", "sending", "done", "failed")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``outbox`` to the CLI's subparsers (the object ``add_subparsers()`` returned)."""
    o: argparse.ArgumentParser = subparsers.add_parser(
        "outbox", help="list call reports waiting for or sent to AFAS; `outbox retry ID|--failed` requeues")
    o.add_argument("--state", choices=STATES, help="only reports in this state")
    osub = o.add_subparsers(dest="outbox_action")
    r = osub.add_parser("retry", help="send a failed report again (ID as listed), or all failed ones")
    r.add_argument("id", nargs="?", help="the report's ID (the Xelion call)")
    r.add_argument("--failed", action="store_true", help="all failed reports")
    o.set_defaults(func=cmd_outbox)
    return o


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S") if epoch else ""


def cmd_outbox(args: argparse.Namespace) -> int:
    from afas_tray.reports.outbox import Outbox, OutboxState
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    outbox = Outbox(profile.paths.database_file)
    try:
        if getattr(args, "outbox_action", None) == "retry":
            return _retry(outbox, args)
        rows = outbox.items(args.state)
        if not rows:
            print(T("The outbox is empty.", "De outbox is leeg."))
            return 0
        header = (str(T("ID", "ID")), str(T("STATE", "STATUS")), str(T("TRIES", "POGINGEN")),
                  "SBID", str(T("UPDATED", "BIJGEWERKT")), str(T("SUBJECT / LAST MESSAGE", "ONDERWERP / LAATSTE MELDING")))
        table = [header]
        for row in rows:
            state = row.state.value + ("?" if row.unsure and row.state != OutboxState.DONE else "")
            message = f" — {row.last_message}" if row.last_message and row.state != OutboxState.DONE else ""
            if row.state == OutboxState.PENDING and row.next_try > time.time():
                message += f" ({T('next try', 'volgende poging')} {_when(row.next_try)})"
            table.append((row.key, state, str(row.attempts), row.sb_id, _when(row.updated),
                          f"{row.item.subject}{message}"))
        widths = [max(len(r[i]) for r in table) for i in range(5)]
        for r in table:
            print("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5])
        status = outbox.status()
        print(T(f"{status.backlog} waiting, {status.failed} failed.",
                f"{status.backlog} wachtend, {status.failed} mislukt."))
        if any(r.unsure and r.state != OutboxState.DONE for r in rows):
            print(T("?: may already be in AFAS; it is looked up there before it is sent again.",
                    "?: staat misschien al in AFAS; dat wordt eerst nagekeken voordat het opnieuw gaat."))
        return 0
    finally:
        outbox.close()


def _retry(outbox: Any, args: argparse.Namespace) -> int:
    if args.failed == bool(args.id):
        print(f"afas-tray: {T('give an ID or --failed', 'geef een ID of --failed')}", file=sys.stderr)
        return 2
    if args.failed:
        n = outbox.retry_failed()
        print(T(f"{n} report(s) queued again; the running app sends them at its next sync.",
                f"{n} verslag(en) opnieuw in de wachtrij; de app verstuurt ze bij de volgende synchronisatie."))
        return 0
    if outbox.retry(args.id):
        print(T(f"Report {args.id} queued again; the running app sends it at its next sync.",
                f"Verslag {args.id} opnieuw in de wachtrij; de app verstuurt het bij de volgende synchronisatie."))
        return 0
    row = outbox.get(args.id)
    if row is None:
        print(f"afas-tray: {T(f'no report with ID {args.id}', f'geen verslag met ID {args.id}')}", file=sys.stderr)
    else:
        print(f"afas-tray: {T(f'report {args.id} is {row.state.value}, not failed', f'verslag {args.id} is {row.state.value}, niet mislukt')}",
              file=sys.stderr)
    return 1
