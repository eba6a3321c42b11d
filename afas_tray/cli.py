"""Command line: `afas-tray` starts the tray app; subcommands serve consultants and triggers.

Kept free of Qt imports at module level so `afas-tray call …` (a Xelion trigger or softphone
hook, run on every ringing call) starts fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from afas_tray import __version__
from afas_tray.i18n import T, Text
from afas_tray.profile import Profile
from afas_tray.settings import (
    KEYS,
    SettingsError,
    flatten,
    get_value,
    mapping_from_json,
    set_value,
    validate,
)


def _fail(message: Text | str, code: int = 2) -> int:
    print(f"afas-tray: {message}", file=sys.stderr)
    return code


def _mask(value: str) -> str:
    return str(T("(set)", "(ingesteld)")) if value else str(T("(not set)", "(niet ingesteld)"))


# --- config ----------------------------------------------------------------------------------------


def cmd_config(args: argparse.Namespace) -> int:
    profile = Profile.open()
    loaded = profile.load()
    if loaded.problem is not None:
        print(f"afas-tray: {loaded.problem}", file=sys.stderr)
    settings = loaded.settings
    if args.action == "show":
        for path, key in KEYS.items():
            value = get_value(settings, path)
            if key.secret:
                shown = _mask(value)
            elif isinstance(value, list):
                shown = ",".join(value)
            else:
                shown = "" if value is None else json.dumps(value) if isinstance(value, bool) else str(value)
            print(f"{path} = {shown}")
        mapping = settings.afas.connectors.mapping
        if mapping:
            print(f"afas.connectors.mapping = {json.dumps({r: vars(m) for r, m in mapping.items()})}")
        return 0
    if args.action == "get":
        try:
            value = get_value(settings, args.key)
        except SettingsError as exc:
            return _fail(exc.text)
        if KEYS[args.key].secret:
            print(_mask(value))
        elif isinstance(value, list):
            print(",".join(value))
        else:
            print("" if value is None else json.dumps(value) if isinstance(value, bool) else value)
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


# --- entry -----------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(args_list)
    if args.command is None:
        from afas_tray import app

        return app.main(args_list)
    return int(args.func(args))
