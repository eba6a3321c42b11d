"""Command line: `afas-tray` starts the tray app; subcommands serve consultants and triggers.

Kept free of Qt imports at module level so `afas-tray call …` (a Xelion trigger or softphone
hook, run on every ringing call) starts fast; the console script imports this module first, so
argparse, json and the texts (dataclasses) load only in the commands that use them.
"""

from __future__ import annotations

import sys

from afas_tray import __version__

# typing.TYPE_CHECKING without importing typing (mypy knows the name): the console script
# imports this module on every `afas-tray call`, where typing alone costs milliseconds.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import Any

    from afas_tray.i18n import Text
    from afas_tray.system.profile import Profile


def _fail(message: Text | str, code: int = 2) -> int:
    print(f"afas-tray: {message}", file=sys.stderr)
    return code


def _shown(value: Any, *, secret: bool) -> str:
    """A setting as `config show/get` print it: secrets only as set / not set."""
    import json

    from afas_tray.i18n import T

    if secret:
        return str(T("(set)", "(ingesteld)")) if value else str(T("(not set)", "(niet ingesteld)"))
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, bool):
        return json.dumps(value)
    return "" if value is None else str(value)


# --- config ----------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> int:
    import json

    from afas_tray.config import KEYS, SettingsError, flatten, get_value
    from afas_tray.i18n import T
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    loaded = profile.load()
    if loaded.problem is not None:
        print(f"afas-tray: {loaded.problem}", file=sys.stderr)
    settings = loaded.settings
    if args.action == "show":
        for path, key in KEYS.items():
            print(f"{path} = {_shown(get_value(settings, path), secret=key.secret)}")
        mapping = settings.afas.connectors.mapping
        if mapping:
            print(f"afas.connectors.mapping = {json.dumps({r: vars(m) for r, m in mapping.items()})}")
        return 0
    if args.action == "get":
        try:
            value = get_value(settings, args.key)
        except SettingsError as exc:
            return _fail(exc.text)
        print(_shown(value, secret=KEYS[args.key].secret))
        return 0
    if args.action == "set":
        raw = sys.stdin.readline().rstrip("\r\n") if args.value == "-" else args.value
        return _apply(profile, settings, {args.key: raw})
    if args.action == "import":
        try:
            with open(args.file, encoding="utf-8") as fh:
                data = json.load(fh)
            if not isinstance(data, dict):
                raise ValueError
        except OSError as exc:
            return _fail(T(f"Cannot read {args.file}: {exc.strerror}.",
                           f"Kan {args.file} niet lezen: {exc.strerror}."))
        except ValueError:
            return _fail(T(f"{args.file} is not a JSON object of settings.",
                           f"{args.file} is geen JSON-object met instellingen."))
        flat = flatten(data)
        flat.pop("version", None)
        return _apply(profile, settings, flat)
    return _fail("unknown action")


def _apply(profile: Profile, settings: Any, values: dict[str, Any]) -> int:
    """Set all values or none: validate the touched keys before anything is written."""
    from afas_tray.config import SettingsError, mapping_from_json, set_value, validate
    from afas_tray.i18n import T

    work = settings.copy()
    try:
        for path, raw in values.items():
            if path == "afas.connectors.mapping":
                work.afas.connectors.mapping = mapping_from_json(raw)
                continue
            set_value(work, path, raw)
    except SettingsError as exc:
        return _fail(exc.text)
    errors = validate(work)
    touched = [p for p in values if p in errors]
    if touched:
        err = errors[touched[0]]
        return _fail(T(f"{touched[0]}: {err.en}", f"{touched[0]}: {err.nl}"))
    profile.save(work)
    return 0


# --- doctor, sync, lookup --------------------------------------------------------------------------


def _load_settings(profile: Profile) -> Any:
    loaded = profile.load()
    if loaded.problem is not None:
        print(f"afas-tray: {loaded.problem}", file=sys.stderr)
    return loaded.settings


def cmd_doctor(args: argparse.Namespace) -> int:
    import asyncio

    from afas_tray.doctor import run_checks
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    settings = _load_settings(profile)
    failed = 0

    async def go() -> None:
        nonlocal failed
        async for result in run_checks(settings, profile.secrets):
            mark = "OK  " if result.ok and not result.warning else "WARN" if result.ok else "FAIL"
            failed += 0 if result.ok else 1
            print(f"[{mark}] {result.title}: {result.detail}", flush=True)

    asyncio.run(go())
    return 1 if failed else 0


def cmd_sync(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from afas_tray.config import ROLE_TEXT, validate
    from afas_tray.i18n import T
    from afas_tray.phonebook import PhoneBook, SyncError
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    settings = _load_settings(profile)
    errors = validate(settings, require_secrets=True)
    if errors:
        key, msg = next(iter(errors.items()))
        return _fail(T(f"{key}: {msg.en} (see `afas-tray config`)", f"{key}: {msg.nl} (zie `afas-tray config`)"))
    book = PhoneBook(profile.paths.phonebook_file)
    tty = sys.stderr.isatty()
    last = [0.0]

    def progress(role: str, rows: int) -> None:
        now = time.monotonic()
        if tty and now - last[0] > 0.1:
            last[0] = now
            print(f"\r{ROLE_TEXT[role]}: {rows:,} …".ljust(50), end="", file=sys.stderr, flush=True)

    from afas_tray.phonebook import SyncEngine
    from afas_tray.status import StatusBoard

    async def go() -> Any:
        # The app's own engine: incremental when the book and its marks allow, else full.
        engine = SyncEngine(settings, book, StatusBoard())
        if getattr(args, "full", False):
            result = await engine.refresh_once(progress)
            return "full", dict(result.rows), result.seconds, result.kept, "asked (--full)"
        cycle = await engine.sync_once()
        return cycle.kind, dict(cycle.rows), cycle.seconds, cycle.kept, cycle.reason

    try:
        kind, rows, seconds, kept, reason = asyncio.run(go())
    except SyncError as exc:
        if tty:
            print(file=sys.stderr)
        return _fail(exc.text, 1)
    if tty:
        print("\r".ljust(50), end="\r", file=sys.stderr)
    parts = ", ".join(f"{n:,} {ROLE_TEXT[r]}" for r, n in rows.items())
    how = (T(f"full refresh ({reason})", f"volledig verversen ({reason})") if kind == "full"
           else T("incremental (changed rows)", "incrementeel (gewijzigde rijen)"))
    print(T(f"Phone book synced, {how.en}: {parts}; {book.numbers():,} numbers in {seconds:.1f} s.",
            f"Telefoonboek gesynchroniseerd, {how.nl}: {parts}; {book.numbers():,} nummers in {seconds:.1f} s."))
    for text in kept.values():
        print(text, file=sys.stderr)
    return 0


def cmd_lookup(args: argparse.Namespace) -> int:
    from afas_tray.i18n import T
    from afas_tray.phonebook import PhoneBook
    from afas_tray.pop.router import card_url
    from afas_tray.system.profile import Profile

    profile = Profile.open()
    settings = _load_settings(profile)
    book = PhoneBook(profile.paths.phonebook_file)
    matches = book.lookup(args.number, settings.phone.default_region)
    if not matches:
        print(T(f"No relation has the number {args.number}.", f"Geen relatie heeft het nummer {args.number}."))
        return 1
    template = settings.afas.insite_url_template
    for m in matches:
        who = f"{m.name} ({m.kind}, BcId {m.bcid}"
        who += f", {T('contact', 'contactpersoon')} {m.contact_name or m.contact_id})" if m.contact_id else ")"
        print(f"{who}  {card_url(template, m.bcid, m.number) or ''}".rstrip())
    return 0


# --- entry -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    import argparse

    p = argparse.ArgumentParser(prog="afas-tray", description="AFAS Tray: caller pop and call logging "
                                "for Xelion and AFAS Profit.")
    p.add_argument("--version", action="version", version=f"afas-tray {__version__}")
    p.add_argument("--demo", action="store_true", help="run with simulated AFAS and Xelion")
    sub = p.add_subparsers(dest="command")

    c = sub.add_parser("config", help="show or change settings")
    csub = c.add_subparsers(dest="action", required=True)
    csub.add_parser("show", help="all settings (secrets masked)")
    g = csub.add_parser("get", help="one setting")
    g.add_argument("key")
    s = csub.add_parser("set", help="change one setting ('-' reads the value from stdin)")
    s.add_argument("key")
    s.add_argument("value")
    i = csub.add_parser("import", help="apply a JSON file of settings")
    i.add_argument("file")
    c.set_defaults(func=cmd_config)

    sub.add_parser("call", help="hand a ringing call to the running app: call NUMBER [--call-id ID]")
    sub.add_parser("dial", help="place a call through Xelion: dial NUMBER (also tel:/callto: links)")
    d = sub.add_parser("doctor", help="check settings, AFAS connection, token and the three connectors")
    d.set_defaults(func=cmd_doctor)
    sy = sub.add_parser("sync", help="refresh the phone book from AFAS")
    sy.add_argument("--once", action="store_true", required=True, help="one refresh, headless")
    sy.add_argument("--full", action="store_true",
                    help="force a full refresh (default: incremental when it can)")
    sy.set_defaults(func=cmd_sync)
    lk = sub.add_parser("lookup", help="find the AFAS relation for a phone number")
    lk.add_argument("number")
    lk.set_defaults(func=cmd_lookup)

    from afas_tray.cli.dial import add_parsers as add_dial_parsers

    add_dial_parsers(sub)
    from afas_tray.cli.outbox import add_parser as add_outbox_parser

    add_outbox_parser(sub)
    from afas_tray.cli.status import add_parser as add_status_parser
    from afas_tray.cli.xelion import add_parser as add_xelion_parser

    add_status_parser(sub)
    add_xelion_parser(sub)
    return p


def cmd_call(args_list: list[str]) -> int:
    """Hand a ringing call to the running instance; start one when none runs (``cli.call``)."""
    from afas_tray.cli.call import cmd_call as hand_off

    return hand_off(args_list)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["call"]:
        return cmd_call(args_list[1:])
    from afas_tray.cli.dial import cmd_dial, wants_dial

    if wants_dial(args_list):  # `dial NUMBER`, or a tel:/callto: link opened by the OS
        return cmd_dial(args_list)
    if any(a.lower().startswith("afas-tray:") for a in args_list):
        # Opened through the URL scheme (Windows/Linux pass the URL as an argument).
        from afas_tray import app

        return app.main(args_list)
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        from afas_tray import app

        return app.main(args_list)
    return int(args.func(args))
