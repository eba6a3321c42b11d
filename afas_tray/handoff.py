"""Calls that arrive from outside the running app: ``afas-tray call``, ``afas-tray://`` and the
instance channel between them.

Everything here is a gate: only a phone number and a call id ever pass, checked character by
character, so no argument, URL or request can choose what gets opened — the card is found
through the phone book and nothing else. Pure Python, cheap to import: ``afas-tray call`` runs on every ringing call, so the module
loads nothing up front (not even ``re`` or ``typing``: where nothing loaded them yet, as in the
frozen bundle, they alone cost more than the rest of the hand-off); the call event
(dataclasses), the texts, json and urllib load when a function needs them (``cli_call_line``
needs none of them).
"""

from __future__ import annotations

from afas_tray.errors import AppError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from afas_tray.events import CallEvent, CallSource
    from afas_tray.i18n import Text

URL_SCHEME = "afas-tray"
MAX_NUMBER_CHARS = 32
MAX_NUMBER_DIGITS = 20
MAX_CALL_ID_CHARS = 128
MAX_NAME_CHARS = 100
MAX_URL_CHARS = 2048
MAX_LINE_CHARS = 4096
LINE_VERSION = 1

# The gate's characters as sets (tests/test_call_startup.py holds each equal to the regular
# expression it stands for, given in its comment).
# Digits, one leading "+", and the separators people and phone systems put in numbers:
# r"\+?[0-9 ()./\-]+" (the "+" is taken off before the set applies).
_NUMBER_CHARS = frozenset("0123456789 ()./-")
# Xelion oids, UUIDs, SIP Call-IDs (``abc@host``); nothing that needs quoting anywhere:
# r"[A-Za-z0-9._:@+=/{}~\-]+".
_CALL_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                           "._:@+=/{}~-")
# r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"
_CONTROL = frozenset(map(chr, [*range(0x00, 0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]))
_CALL_ID_KEYS = ("callid", "call_id", "call-id")
# Printable ASCII without the two characters JSON escapes (" and \\): r'[ !#-\[\]-~]*'.
_JSON_PLAIN = frozenset(map(chr, range(0x20, 0x7F))) - {'"', "\\"}


def _has_control(text: str) -> bool:
    return not _CONTROL.isdisjoint(text)


def T(en: str, nl: str) -> Text:  # the project's i18n.T, imported when needed
    """``afas_tray.i18n.T``, loaded only when a message is made: i18n pulls in dataclasses,
    which alone costs more than the whole hand-off may take."""
    from afas_tray.i18n import T as make

    return make(en, nl)


class HandoffError(AppError, ValueError):
    """Input that is not a call we accept; ``text`` is for the user."""

    @property
    def needs_user(self) -> bool:
        return True


def validate_number(raw: object) -> str:
    """The number as given, trimmed; ``HandoffError`` unless it looks like a phone number.

    Normalising (country code, national prefix) is the phone book's job; this only refuses
    what cannot be a number, so junk never reaches a lookup or a notice.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise HandoffError(T("No phone number given.", "Geen telefoonnummer opgegeven."))
    if _has_control(raw):
        raise HandoffError(
            T(
                "The phone number contains control characters.",
                "Het telefoonnummer bevat stuurtekens.",
            )
        )
    # A number has a plus only at its start; any later "+" is a space in form encoding
    # (``number=%2B31+20+123``), which HTTP clients produce and a literal-plus parse keeps.
    stripped = raw.strip()
    number = " ".join((stripped[:1] + stripped[1:].replace("+", " ")).split())
    if len(number) > MAX_NUMBER_CHARS:
        raise HandoffError(
            T(
                "The phone number is too long (at most {n} characters).",
                "Het telefoonnummer is te lang (hooguit {n} tekens).",
            ).format(n=MAX_NUMBER_CHARS)
        )
    digits = sum(c.isdigit() for c in number)
    body = number[1:] if number[:1] == "+" else number
    if not body or not _NUMBER_CHARS.issuperset(body) or digits == 0:
        raise HandoffError(
            T(
                "Not a phone number: only digits, a leading + and separators are allowed.",
                "Geen telefoonnummer: alleen cijfers, een + vooraan en scheidingstekens zijn toegestaan.",
            )
        )
    if digits > MAX_NUMBER_DIGITS:
        raise HandoffError(
            T(
                "The phone number has too many digits (at most {n}).",
                "Het telefoonnummer heeft te veel cijfers (hooguit {n}).",
            ).format(n=MAX_NUMBER_DIGITS)
        )
    return number


def validate_call_id(raw: object) -> str:
    """A call id is optional (empty allowed); when given it must be short and plain."""
    if raw is None or raw == "":
        return ""
    if not isinstance(raw, str):
        raise HandoffError(T("The call id is not text.", "Het gesprek-id is geen tekst."))
    if len(raw) > MAX_CALL_ID_CHARS:
        raise HandoffError(
            T(
                "The call id is too long (at most {n} characters).",
                "Het gesprek-id is te lang (hooguit {n} tekens).",
            ).format(n=MAX_CALL_ID_CHARS)
        )
    if not _CALL_ID_CHARS.issuperset(raw):
        raise HandoffError(
            T(
                "The call id may contain only letters, digits and . _ : @ + = / { } ~ -",
                "Het gesprek-id mag alleen letters, cijfers en . _ : @ + = / { } ~ - bevatten.",
            )
        )
    return raw


def make_event(number: object, call_id: object = "", *, source: CallSource) -> CallEvent:
    """A ringing incoming call from a hand-off source, after both fields passed the gate."""
    from afas_tray.events import CallEvent, CallState, Direction

    return CallEvent(
        number=validate_number(number),
        call_id=validate_call_id(call_id),
        direction=Direction.INCOMING,
        state=CallState.RINGING,
        source=source,
    )


# --- command line -------------------------------------------------------------------------------


def parse_call_args(args: Sequence[str]) -> CallEvent:
    """``[call] NUMBER [--call-id ID | --call-id=ID]`` → a CLI call event.

    The leading ``call`` word is optional so the caller may pass what follows it. The number may
    be split over several arguments (``call +31 20 123 4567`` from a hook that does not quote).
    """
    from afas_tray.events import CallSource

    number, call_id = parse_call_parts(args)
    return make_event(number, call_id, source=CallSource.CLI)


def parse_call_parts(args: Sequence[str]) -> tuple[str, str]:
    """``parse_call_args`` without the event: the checked (number, call id)."""
    items = list(args)
    if items and items[0] == "call":
        items = items[1:]
    call_id = ""
    seen_call_id = False
    parts: list[str] = []
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--call-id" or arg.startswith("--call-id="):
            if seen_call_id:
                raise HandoffError(T("--call-id given twice.", "--call-id staat er twee keer."))
            seen_call_id = True
            if arg == "--call-id":
                if i + 1 >= len(items):
                    raise HandoffError(
                        T("--call-id needs a value.", "--call-id heeft een waarde nodig.")
                    )
                call_id = items[i + 1]
                i += 2
                continue
            call_id = arg.split("=", 1)[1]
        elif arg == "--":
            parts.extend(items[i + 1 :])
            break
        elif arg.startswith("--"):
            raise HandoffError(
                T("Unknown option for call: {opt}", "Onbekende optie bij call: {opt}").format(
                    opt=_shown(arg)
                )
            )
        else:
            parts.append(arg)
        i += 1
    return validate_number(" ".join(parts)), validate_call_id(call_id)


def _shown(text: str) -> str:
    """Untrusted text made safe to echo in a message: no control characters, short."""
    return "".join("?" if c in _CONTROL else c for c in text[:40])


# --- URL scheme ---------------------------------------------------------------------------------


def is_call_url(text: str) -> bool:
    """True for anything in our scheme (so argv can tell a URL hand-off from other arguments)."""
    return text[: len(URL_SCHEME) + 1].lower() == URL_SCHEME + ":"


def parse_query(query: str) -> dict[str, str]:
    """``a=1&b=2`` → dict, percent-decoded, keys lower-cased.

    Unlike ``parse_qs`` a literal ``+`` stays a plus: ``number=+31…`` is how people and phone
    systems write numbers, and form encoding would turn it into a space. A key given twice is
    refused: which one would win is exactly the kind of ambiguity an attacker uses.
    """
    from urllib.parse import unquote

    params: dict[str, str] = {}
    for piece in query.split("&"):
        if not piece:
            continue
        key, _, value = piece.partition("=")
        try:
            key = unquote(key, errors="strict").strip().lower()
            value = unquote(value, errors="strict")
        except UnicodeDecodeError:
            raise HandoffError(
                T("The request is not valid UTF-8.", "Het verzoek is geen geldige UTF-8.")
            ) from None
        if key in params:
            raise HandoffError(
                T("Parameter '{key}' given twice.", "Parameter '{key}' staat er twee keer.").format(
                    key=_shown(key)
                )
            )
        params[key] = value
    return params


def event_from_params(params: Mapping[str, str], *, source: CallSource) -> CallEvent:
    """A call from ``number`` and ``callId`` (any spelling); every other parameter is ignored."""
    ids = [params[k] for k in _CALL_ID_KEYS if k in params]
    if len(ids) > 1:
        raise HandoffError(T("Call id given twice.", "Gesprek-id staat er twee keer."))
    return make_event(params.get("number", ""), ids[0] if ids else "", source=source)


def parse_call_url(url: str) -> CallEvent:
    """``afas-tray://call?number=…&callId=…`` → a URL call event.

    Also accepted: ``afas-tray:call?…``, ``afas-tray:///call?…``, a trailing slash, any case in
    the scheme and action (browsers and OSes rewrite these differently).
    """
    from urllib.parse import urlsplit

    from afas_tray.events import CallSource

    if not isinstance(url, str) or not is_call_url(url):
        raise HandoffError(T("Not an afas-tray:// link.", "Geen afas-tray://-link."))
    if len(url) > MAX_URL_CHARS:
        raise HandoffError(T("The link is too long.", "De link is te lang."))
    if _has_control(url):
        raise HandoffError(T("The link contains control characters.", "De link bevat stuurtekens."))
    parts = urlsplit(url.strip())
    action = (parts.netloc + parts.path).strip("/").lower()
    if action != "call":
        raise HandoffError(
            T(
                "Unknown afas-tray:// action (only 'call' exists).",
                "Onbekende afas-tray://-actie (alleen 'call' bestaat).",
            )
        )
    return event_from_params(parse_query(parts.query), source=CallSource.URL)


# --- instance channel ---------------------------------------------------------------------------


def event_to_line(event: CallEvent) -> str:
    """One JSON line (without the newline) for the single-instance channel."""
    return _line(event.number, event.call_id, event.direction.value, event.state.value,
                 event.source.value, event.time, event.name)


def cli_call_line(args: Sequence[str]) -> str:
    """``event_to_line(parse_call_args(args))`` without building the event: the hot path of
    ``afas-tray call`` (same gate, same line; the receiver checks it again in ``event_from_line``).
    The values are those of ``Direction.INCOMING``, ``CallState.RINGING`` and ``CallSource.CLI``
    (tests/test_handoff.py holds them equal)."""
    import time

    number, call_id = parse_call_parts(args)
    if _JSON_PLAIN.issuperset(number + call_id):
        # Both passed the gate, whose characters JSON never escapes, and a float's repr is its
        # JSON form: the line json.dumps would write, without importing json (~2 ms per call).
        return (f'{{"v":{LINE_VERSION},"number":"{number}","call_id":"{call_id}","direction":"in",'
                f'"state":"ringing","source":"cli","time":{time.time()!r},"name":""}}')
    return _line(number, call_id, "in", "ringing", "cli", time.time(), "")


def _line(number: str, call_id: str, direction: str, state: str, source: str, when: float,
          name: str) -> str:
    import json

    return json.dumps(
        {
            "v": LINE_VERSION,
            "number": number,
            "call_id": call_id,
            "direction": direction,
            "state": state,
            "source": source,
            "time": when,
            "name": name,
        },
        ensure_ascii=True,
        separators=(",", ":"),
    )


def event_from_line(line: str) -> CallEvent:
    """Inverse of ``event_to_line``, with the same gate as every other source."""
    import json
    import math

    from afas_tray.events import CallEvent, CallSource, CallState, Direction

    bad = HandoffError(
        T(
            "Unreadable message from another instance.",
            "Onleesbaar bericht van een andere instantie.",
        )
    )
    if not isinstance(line, str) or len(line) > MAX_LINE_CHARS:
        raise bad
    try:
        data = json.loads(line)
    except ValueError:
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != LINE_VERSION:
        raise bad
    try:
        direction = Direction(data.get("direction", Direction.INCOMING.value))
        state = CallState(data.get("state", CallState.RINGING.value))
        source = CallSource(data.get("source", CallSource.CLI.value))
    except ValueError:
        raise bad from None
    when = data.get("time")
    if isinstance(when, bool) or not isinstance(when, int | float) or not math.isfinite(when):
        raise bad
    name = data.get("name", "")
    if not isinstance(name, str) or len(name) > MAX_NAME_CHARS or _has_control(name):
        raise bad
    return CallEvent(
        number=validate_number(data.get("number")),
        call_id=validate_call_id(data.get("call_id", "")),
        direction=direction,
        state=state,
        source=source,
        time=float(when),
        name=name,
    )


# --- Xelion trigger values ----------------------------------------------------------------------


def parse_trigger_value(value: object) -> CallEvent:
    """The call in a Xelion trigger event's ``value`` (``websockets/model/TriggerEvent.html``),
    with Xelion's placeholders filled in: an ``afas-tray://call?…`` link, or a command line
    ``[program] call NUMBER [--call-id ID]`` (a ``system_command`` trigger). The same gate as
    every other hand-off; ``HandoffError`` for anything else, e.g. a placeholder left unfilled.
    """
    from dataclasses import replace

    from afas_tray.events import CallSource

    if not isinstance(value, str) or not value.strip():
        raise HandoffError(T("The trigger value is empty.", "De trigger-waarde is leeg."))
    text = value.strip()
    if len(text) > MAX_URL_CHARS or _has_control(text):
        raise HandoffError(T("The trigger value is not a call.", "De trigger-waarde is geen gesprek."))
    # A URL anywhere in the value (``start afas-tray://…``, a quoted program path before it).
    at = text.lower().find(URL_SCHEME + ":")
    if at >= 0:
        url = text[at:].split('"')[0].split("'")[0].strip()
        return replace(parse_call_url(url), source=CallSource.XELION)
    # A command line: everything after the word ``call``; the program path before it is not
    # needed (Windows paths with backslashes make shell quoting rules useless here).
    words = text.replace('"', " ").split()
    lowered = [w.lower() for w in words]
    if "call" in lowered:
        rest = words[lowered.index("call") + 1 :]
        return replace(parse_call_args(rest), source=CallSource.XELION)
    raise HandoffError(
        T(
            "The trigger value holds no afas-tray call (expected afas-tray://call?number=…).",
            "De trigger-waarde bevat geen afas-tray-gesprek (verwacht afas-tray://call?number=…).",
        )
    )
