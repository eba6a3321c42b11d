"""Dialling: any written number (or a ``tel:``/``callto:`` link) becomes one call through Xelion.

Xelion's way (``resources/me_device_pbx_call.html``): ``POST me/device/pbx_call`` with the number;
the PBX rings the operator's own phone first and, once answered, dials the number and bridges the
two. It needs a device registered with the session that has a phone number
(``resources/me_device_register.html``) and the PBX-Call-Initiation capability; the errors it
gives (10050, 10052, 10200, 10202; 403 10101 from ``common_errors.html``) become a sentence the
operator can act on, with Xelion's own reason beside it.

Operators who prefer their softphone get the number handed to the OS's ``tel:`` handler instead
(setting ``dial.prefer_softphone``). Numbers are normalised with the phone book's rules
(``afas_tray.numbers``): Xelion gets E.164 (``+31206221234``; "Xelion stores numbers international
with delimiters dropped"), an internal extension goes as its digits, and an extension after a
number (``toestel 12``) is kept: it is shown to the operator (Xelion's payload is one phone
number, so the PBX cannot key it in) and passed to the softphone as RFC 3966 ``;ext=``.

No Qt here: the tray, the CLI and the tests share this module.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

import phonenumbers

from afas_tray.config import Settings
from afas_tray.errors import AppError
from afas_tray.i18n import T, Text
from afas_tray.numbers import extension_of, is_anonymous, is_internal, normalise

log = logging.getLogger(__name__)

DIAL_SCHEMES = ("tel", "callto")
MAX_DIAL_CHARS = 64
# Set in the environment of the OS handler we start: if that handler turns out to be us again
# (afas-tray registered for tel: and "prefer softphone" on), the second run refuses instead of
# handing the number back and forth for ever.
LOOP_GUARD_ENV = "AFAS_TRAY_TEL_HANDOFF"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ALLOWED = re.compile(r"[0-9+ ()./\-#*;=,xX\w]+")


class DialError(AppError, ValueError):
    """A number or link we cannot dial; ``text`` is for the user (NL/EN)."""

    @property
    def needs_user(self) -> bool:
        return True


@dataclass(frozen=True)
class DialTarget:
    raw: str  # as the operator wrote it (control characters removed)
    number: str  # what goes to Xelion: E.164, or an internal extension's digits
    extension: str  # an extension written after the number, kept for the operator
    internal: bool
    tel_uri: str  # RFC 3966, for the OS's tel: handler

    @property
    def shown(self) -> str:
        """The number as the operator reads it: international format plus the extension."""
        if self.internal:
            return self.number
        try:
            parsed = phonenumbers.parse(self.number, None)
            text = phonenumbers.format_number(parsed,
                                              phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        except phonenumbers.NumberParseException:
            text = self.number
        return f"{text} ext. {self.extension}" if self.extension else text


@dataclass(frozen=True)
class DialResult:
    ok: bool
    text: Text  # what to tell the operator
    via: str  # "xelion" | "softphone" | ""
    target: DialTarget | None = None
    reason: str = ""  # Xelion's own message when it refused


# --- links --------------------------------------------------------------------------------------


def is_dial_url(text: str) -> bool:
    """True for ``tel:…`` and ``callto:…`` (any case), as Windows/Linux pass them in argv."""
    scheme, sep, _ = text.strip().partition(":")
    return bool(sep) and scheme.lower() in DIAL_SCHEMES


def number_from_url(url: str) -> str:
    """``tel:+31-20-622-1234;ext=12`` → ``+31-20-622-1234;ext=12``; ``callto://+31…`` too.

    RFC 3966 parameters other than ``ext`` (``phone-context``, ``isub`` …) are dropped; browsers
    and Outlook percent-encode (``tel:%2B31…``) and some add ``//`` or a trailing ``/``.
    """
    if not is_dial_url(url):
        raise DialError(T("Not a tel: or callto: link.", "Geen tel:- of callto:-link."))
    if len(url) > MAX_DIAL_CHARS * 3 or _CONTROL.search(url):
        raise DialError(T("The link is not a phone number.", "De link is geen telefoonnummer."))
    _, _, rest = url.strip().partition(":")
    try:
        rest = unquote(rest, errors="strict")
    except UnicodeDecodeError:
        raise DialError(T("The link is not valid UTF-8.", "De link is geen geldige UTF-8.")) from None
    rest = rest.strip().lstrip("/").rstrip("/")
    rest = rest.split("?", 1)[0]  # callto:…?… (Skype style options) — never part of the number
    main, *params = rest.split(";")
    ext = ""
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "ext":
            ext = value.strip()
    return f"{main};ext={ext}" if ext else main


# --- numbers ------------------------------------------------------------------------------------


def dial_target(raw: str, region: str = "NL", internal_max_digits: int = 5) -> DialTarget:
    """Any written form of a number (or a tel:/callto: link) → what to dial; ``DialError``."""
    if not isinstance(raw, str) or not raw.strip():
        raise DialError(T("No phone number given.", "Geen telefoonnummer opgegeven."))
    text = raw.strip()
    if is_dial_url(text):
        text = number_from_url(text)
    if _CONTROL.search(text) or len(text) > MAX_DIAL_CHARS or not _ALLOWED.fullmatch(text):
        raise DialError(T(f"Not a phone number: {_shown(text)}",
                          f"Geen telefoonnummer: {_shown(text)}"))
    if is_anonymous(text):
        raise DialError(T("A withheld number cannot be called back.",
                          "Een afgeschermd nummer kan niet worden teruggebeld."))
    if is_internal(text, internal_max_digits):
        digits = "".join(c for c in text if c.isdigit())
        return DialTarget(raw=text, number=digits, extension="", internal=True,
                          tel_uri=f"tel:{digits}")
    # ";ext=12" (RFC 3966) is understood by phonenumbers after a rewrite to "ext. 12".
    readable = re.sub(r"(?i);\s*ext=", " ext. ", text)
    e164 = normalise(readable, region)
    if e164 is None:
        raise DialError(T(f"'{_shown(text)}' is not a phone number that can be dialled.",
                          f"'{_shown(text)}' is geen telefoonnummer dat gebeld kan worden."))
    ext = extension_of(readable, region)
    tel = e164 if not ext else f"{e164};ext={ext}"
    return DialTarget(raw=text, number=e164, extension=ext, internal=False, tel_uri=f"tel:{tel}")


def _shown(text: str) -> str:
    return _CONTROL.sub("?", text)[:40]


# --- Xelion's refusals --------------------------------------------------------------------------


def refusal_text(code: int | None, status: int | None, reason: str = "") -> Text:
    """A sentence for each documented refusal of pbx_call, with Xelion's reason appended."""
    from afas_tray.xelion import (
        CODE_BAD_PAYLOAD,
        CODE_NO_DEVICE,
        CODE_NO_DEVICE_NUMBER,
        CODE_NO_PAYLOAD,
        CODE_NO_PERMISSION,
    )

    if code == CODE_NO_DEVICE:
        text = T("Xelion cannot place the call: no device is registered with this session. "
                 "Enter your own phone number under Settings → Dialling, so Xelion knows which "
                 "phone to ring first.",
                 "Xelion kan niet bellen: er is geen toestel (device) geregistreerd bij deze "
                 "sessie. Vul bij Instellingen → Bellen je eigen telefoonnummer in, zodat Xelion "
                 "weet welke telefoon het eerst moet laten overgaan.")
    elif code == CODE_NO_DEVICE_NUMBER:
        text = T("Xelion cannot place the call: the registered device has no phone number. "
                 "Enter your own phone number under Settings → Dialling.",
                 "Xelion kan niet bellen: het geregistreerde toestel heeft geen telefoonnummer. "
                 "Vul bij Instellingen → Bellen je eigen telefoonnummer in.")
    elif code in (CODE_NO_PAYLOAD, CODE_BAD_PAYLOAD):
        text = T("Xelion did not accept the phone number.",
                 "Xelion accepteerde het telefoonnummer niet.")
    elif status == 403 or code == CODE_NO_PERMISSION:
        text = T("Xelion does not let this account place calls through the PBX: the "
                 "PBX-Call-Initiation capability (or its licence) is missing. Ask your Xelion "
                 "administrator, or turn on 'Dial with my softphone' in the settings.",
                 "Xelion laat dit account niet via de centrale bellen: de mogelijkheid "
                 "PBX-Call-Initiation (of de licentie ervoor) ontbreekt. Vraag het je "
                 "Xelion-beheerder, of zet 'Bellen met mijn softphone' aan in de instellingen.")
    else:
        text = T(f"Xelion refused the call (HTTP {status}"
                 f"{', code ' + str(code) if code else ''}).",
                 f"Xelion weigerde het gesprek (HTTP {status}"
                 f"{', code ' + str(code) if code else ''}).")
    if reason:
        text = T(f"{text.en} Xelion says: {reason}", f"{text.nl} Xelion meldt: {reason}")
    return text


# --- the OS's tel: handler ----------------------------------------------------------------------


def open_with_os(uri: str) -> bool:
    """Hand ``uri`` to the OS's default handler (the operator's softphone for tel:)."""
    env = dict(os.environ, **{LOOP_GUARD_ENV: "1"})
    try:
        if sys.platform == "win32":
            # ShellExecute passes our environment on: set the guard only for this one call.
            previous = os.environ.get(LOOP_GUARD_ENV)
            os.environ[LOOP_GUARD_ENV] = "1"
            try:
                os.startfile(uri)  # type: ignore[attr-defined]
            finally:
                if previous is None:
                    os.environ.pop(LOOP_GUARD_ENV, None)
                else:
                    os.environ[LOOP_GUARD_ENV] = previous
            return True
        cmd = ["open", uri] if sys.platform == "darwin" else ["xdg-open", uri]
        subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
        return True
    except OSError as exc:
        log.warning("no tel: handler could be started: %s", type(exc).__name__)
        return False


# --- the dialler ----------------------------------------------------------------------------------

CallThrough = Callable[[str], Awaitable[None]]


class Dialler:
    """Places calls for the operator: Xelion's PBX call, or the softphone when preferred.

    ``call_through(number)`` is ``XelionClient.pbx_call`` bound to the device settings (None
    when Xelion is not set up); ``open_uri`` opens a ``tel:`` link with the OS.
    """

    def __init__(self, settings: Settings, call_through: CallThrough | None,
                 open_uri: Callable[[str], bool] = open_with_os) -> None:
        self.settings = settings
        self.call_through = call_through
        self.open_uri = open_uri

    def target(self, raw: str) -> DialTarget:
        return dial_target(raw, self.settings.phone.default_region,
                           self.settings.pop.internal_max_digits)

    async def dial(self, raw: str) -> DialResult:
        from afas_tray.xelion import XelionDialRefused, XelionError

        try:
            target = self.target(raw)
        except DialError as exc:
            return DialResult(False, exc.text, "")
        if self.settings.dial.prefer_softphone:
            return self._softphone(target)
        if self.call_through is None:
            # Never fall back to tel: unasked: when AFAS Tray is the tel: handler itself, the
            # link would come straight back here.
            return DialResult(False, T(
                "Dialling needs the Xelion connection: fill in the Xelion settings, or turn on "
                "'Dial with my softphone'.",
                "Bellen vraagt de Xelion-koppeling: vul de Xelion-instellingen in, of zet "
                "'Bellen met mijn softphone' aan."), "", target)
        try:
            await self.call_through(target.number)
        except XelionDialRefused as exc:
            log.info("Xelion refused the PBX call: HTTP %s code %s", exc.status, exc.code)
            return DialResult(False, refusal_text(exc.code, exc.status, exc.reason), "xelion",
                              target, exc.reason)
        except XelionError as exc:
            return DialResult(False, exc.text, "xelion", target)
        text = T(f"Xelion is calling {target.shown}: your phone rings first; answer it to be "
                 "connected.",
                 f"Xelion belt {target.shown}: eerst gaat je eigen telefoon over; neem op om "
                 "verbonden te worden.")
        if target.extension:
            text = T(f"{text.en} Then key in extension {target.extension}.",
                     f"{text.nl} Toets daarna toestel {target.extension} in.")
        return DialResult(True, text, "xelion", target)

    def _softphone(self, target: DialTarget) -> DialResult:
        if os.environ.get(LOOP_GUARD_ENV):
            return DialResult(False, T(
                "AFAS Tray is itself the default app for tel: links, so the softphone cannot "
                "be reached. Make your softphone the default app for tel:, or turn off 'Dial "
                "with my softphone'.",
                "AFAS Tray is zelf de standaard-app voor tel:-links, dus de softphone is niet "
                "bereikbaar. Maak je softphone de standaard-app voor tel:, of zet 'Bellen met "
                "mijn softphone' uit."), "softphone", target)
        if self.open_uri(target.tel_uri):
            return DialResult(True, T(f"Handed {target.shown} to your softphone.",
                                      f"{target.shown} doorgegeven aan je softphone."),
                              "softphone", target)
        return DialResult(False, T("No app for tel: links could be started.",
                                   "Er kon geen app voor tel:-links worden gestart."),
                          "softphone", target)


def xelion_call_through(client: object, settings: Settings) -> CallThrough:
    """``XelionClient.pbx_call`` with this operator's device (registered once per session)."""
    from afas_tray.xelion import XelionClient

    assert isinstance(client, XelionClient)
    device_number = settings.dial.device_number.strip()
    if device_number:
        device_number = normalise(device_number, settings.phone.default_region) or device_number

    async def call(number: str) -> None:
        await client.pbx_call(number, device_uuid=device_uuid(client.user_space),
                              device_number=device_number)

    return call


def device_uuid(user_space: str) -> str:
    """A stable device id for this install: the guide's example is a short opaque string."""
    import hashlib

    return "afas-tray-" + hashlib.sha256(user_space.encode("utf-8")).hexdigest()[:16]


# --- the instance channel -------------------------------------------------------------------------
# A tel: link opened by the OS starts a short process; when the app runs, that process hands the
# number over (the app dials with its own session and shows the result as a notification). The
# line is told apart from call hand-offs (``handoff.event_to_line``) by its "kind".


def dial_to_line(raw: str) -> str:
    import json

    return json.dumps({"v": 1, "kind": "dial", "number": raw[:MAX_DIAL_CHARS]},
                      ensure_ascii=True, separators=(",", ":"))


def dial_from_line(line: str) -> str | None:
    """The number of a dial line; None for any other line (a call hand-off, junk)."""
    import json

    if '"kind":"dial"' not in line or len(line) > 1024:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != 1 or data.get("kind") != "dial":
        return None
    number = data.get("number")
    if not isinstance(number, str):
        return None
    try:
        dial_target(number)  # the same gate as every other way in
    except DialError:
        return None
    return number
