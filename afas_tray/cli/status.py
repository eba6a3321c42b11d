"""`afas-tray status`: ask the running app (over the single-instance socket) how it is doing.

One line each for the phone book, Xelion and the call reports; exit 0 when all is well, 1 when
something needs attention, 2 when no app runs. For IT on terminal servers and support calls.
Registered by afas_tray.cli.main with ``cli_status.add_parser(sub)``; imports stay light (no Qt).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from afas_tray.i18n import T, current_language

OK, ATTENTION, NOT_RUNNING = 0, 1, 2


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    s: argparse.ArgumentParser = subparsers.add_parser(
        "status", help="the running app's state, one line per part; exit 1: needs attention, "
        "2: not running")
    s.add_argument("--json", action="store_true", help="the state as the app sends it (JSON)")
    s.set_defaults(func=cmd_status)
    return s


def _when(epoch: Any) -> str:
    if not isinstance(epoch, int | float) or not epoch:
        return str(T("never", "nooit"))
    return dt.datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get(current_language()) or value.get("en") or "")
    return ""


def format_status(state: dict[str, Any]) -> list[str]:
    """The three lines (plus the app's message, when it has one)."""
    book, xel, rep = state.get("phonebook", {}), state.get("xelion", {}), state.get("reports", {})
    modes = {"full": T("full refresh", "volledig verversen"),
             "incremental": T("incremental", "incrementeel"),
             "paused": T("paused", "gepauzeerd")}
    mode = modes.get(str(book.get("mode")))
    lines = [str(T("Phone book: {n} relations, last sync {when}, {mode}",
                   "Telefoonboek: {n} relaties, laatst gesynchroniseerd {when}, {mode}").format(
        n=book.get("size", 0), when=_when(book.get("last_sync")), mode=mode or book.get("mode")))]
    if not xel.get("configured"):
        lines.append(str(T("Xelion: not set up", "Xelion: niet ingesteld")))
    else:
        connected = T("connected", "verbonden") if xel.get("connected") else \
            T("not connected", "niet verbonden")
        line = str(T("Xelion: {state}, last call event {when}",
                     "Xelion: {state}, laatste gespreksgebeurtenis {when}").format(
            state=connected, when=_when(xel.get("last_event"))))
        detail = _text(xel.get("state"))
        if detail and not xel.get("connected"):
            line += f" ({detail})"
        lines.append(line)
    line = str(T("Reports: {q} on their way, {w} waiting, {f} failed",
                 "Verslagen: {q} onderweg, {w} wachtend, {f} mislukt").format(
        q=rep.get("queued", 0), w=rep.get("waiting", 0), f=rep.get("failed", 0)))
    refused = _text(rep.get("failed_message"))
    if rep.get("failed") and refused:
        line += " — " + refused  # AFAS's own words (the error text names AFAS)
    paused = _text(rep.get("paused"))
    if paused:
        line += " — " + paused
    lines.append(line)
    missed = [m for m in state.get("missed", []) if isinstance(m, dict)]
    if missed:
        lines.append(str(T("Missed calls not yet seen: {n}", "Gemiste oproepen nog niet bekeken: {n}")
                         .format(n=len(missed))))
        for call in missed[:10]:
            try:
                when = dt.datetime.fromisoformat(str(call.get("time"))).astimezone().strftime(
                    "%d-%m %H:%M")
            except ValueError:
                when = "?"
            who = f" — {call['name']}" if call.get("name") else ""
            lines.append(f"  {when}  {call.get('number', '')}{who}")
    message = _text(state.get("message"))
    if message:
        lines.append(message)
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    from afas_tray.system.instance_client import ask_status, instance_name
    from afas_tray.system.paths import app_paths

    reply = ask_status(instance_name(app_paths()))
    if reply is None:
        print(T("AFAS Tray is not running.", "AFAS Tray draait niet."), file=sys.stderr)
        return NOT_RUNNING
    try:
        state = json.loads(reply)
        if not isinstance(state, dict) or "error" in state:
            raise ValueError(state.get("error") if isinstance(state, dict) else "not an object")
    except ValueError as exc:
        print(T("The running app sent no readable status: {e}",
                "De draaiende app stuurde geen leesbare status: {e}").format(e=exc), file=sys.stderr)
        return ATTENTION
    if args.json:
        print(json.dumps(state, indent=2, ensure_ascii=False))
    else:
        for line in format_status(state):
            print(line)
    return ATTENTION if state.get("needs_attention") else OK
