"""The rules of a call report: which finished Xelion calls become AFAS dossier items, and what
goes in them.

``decide`` holds the rules of the manual's settings (``reports.*`` filters, ``afas.sync_mp3``,
``afas.always_sync``, the dossier item type); ``build_item`` turns an UPLOAD decision into the
outbox's ``ReportItem``: subject (``Ds``), text (``SbTx``) with the call's facts, date (``Da``,
AFAS local time). ``ReportService`` (``service``) acts on the decisions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import phonenumbers

from afas_tray.afas.dates import afas_date, to_afas_local
from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS, link_value
from afas_tray.config import Settings
from afas_tray.i18n import T, Text
from afas_tray.models import Match, RelationKind, ReportItem
from afas_tray.numbers import normalise
from afas_tray.reports.drafts import Draft
from afas_tray.xelion.client import CallDetails


class Outcome(StrEnum):
    UPLOAD = "upload"
    WAIT_AUDIO = "wait_audio"  # sync_mp3: find out whether Xelion has a recording first
    NEEDS_PICK = "needs_pick"  # several relations, none picked
    NO_MATCH = "no_match"  # no relation: only a relation picked by hand sends it
    NOTHING_TO_SEND = "nothing_to_send"  # no report, no recording, not "always"
    NO_DOSSIER_TYPE = "no_dossier_type"  # would go up, but no dossier item type is set
    NOT_LOGGABLE = "not_loggable"  # internal, own or withheld number: never
    FILTERED = "filtered"  # too short, or outgoing: only a written report sends it
    MISSED_CALL = "missed_call"  # dial.missed_to_dossier files it (reports/missed.py), once

    @property
    def text(self) -> Text:
        return _OUTCOME_TEXT[self]


_OUTCOME_TEXT = {
    Outcome.UPLOAD: T("Goes to AFAS.", "Gaat naar AFAS."),
    Outcome.WAIT_AUDIO: T("Waiting for the recording.", "Wacht op de opname."),
    Outcome.NEEDS_PICK: T("Several relations match: pick one to send the report.",
                          "Meerdere relaties passen: kies er een om het verslag te sturen."),
    Outcome.NO_MATCH: T("No relation matches: pick one to send a report.",
                        "Geen relatie gevonden: kies er een om een verslag te sturen."),
    Outcome.NOTHING_TO_SEND: T("No report written.", "Geen verslag geschreven."),
    Outcome.NO_DOSSIER_TYPE: T("No dossier item type set.", "Geen type dossier item ingesteld."),
    Outcome.NOT_LOGGABLE: T("Internal, own or withheld number: not logged.",
                            "Intern, eigen of afgeschermd nummer: niet gelogd."),
    Outcome.FILTERED: T("Too short or outgoing: not logged unless you write a report.",
                        "Te kort of uitgaand: niet gelogd, tenzij u een verslag schrijft."),
    Outcome.MISSED_CALL: T("A missed call: filed as 'Gemiste oproep'.",
                           "Een gemiste oproep: vastgelegd als 'Gemiste oproep'."),
}


def is_unanswered_incoming(call: CallDetails) -> bool:
    """The guide gives a CallLog ``incoming`` and ``durationSec`` but no "answered" flag, so an
    incoming call of 0 seconds is read as missed (an assumption, reports/missed.py too)."""
    return bool(call.incoming) and int(call.duration_sec or 0) <= 0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    match: Match | None = None  # the relation the dossier item links to (CdId: contact_id)
    attach_audio: bool = False
    subject: str = ""  # Ds
    text: str = ""  # SbTx
    date: str = ""  # Da, AFAS local time

    @property
    def upload(self) -> bool:
        return self.outcome is Outcome.UPLOAD


def decide(
    call: CallDetails,
    matches: Sequence[Match],
    report: Draft | None,
    has_recording: bool | None,
    settings: Settings,
    *,
    loggable: bool,
) -> Decision:
    """Whether and how ``call`` becomes a dossier item.

    ``matches``: one per distinct relation (``calls.relations``), narrowed to the operator's pick
    when there was one. ``has_recording``: None while unknown. ``loggable``:
    ``CallRouter.is_loggable(call.number)``.
    """
    if not loggable:
        return Decision(Outcome.NOT_LOGGABLE)
    filtered = log_filter(call, report, settings)
    if filtered is not None:
        return Decision(filtered)
    if report is not None and report.bcid:
        # Picked by hand: that relation, and the contact only if the operator named one.
        known = next((m for m in matches if m.bcid == report.bcid), None)
        match = Match(
            bcid=report.bcid,
            name=known.name if known else "",
            kind=known.kind if known else RelationKind.ORGANISATION,
            contact_id=report.contact_id,
            number=known.number if known else "",
        )
    elif len(matches) == 1:
        match = matches[0]
    elif matches:
        return Decision(Outcome.NEEDS_PICK)
    else:
        return Decision(Outcome.NO_MATCH)
    a = settings.afas
    has_report = report is not None and report.has_report
    if settings.dial.missed_to_dossier and not has_report and is_unanswered_incoming(call):
        # The missed-call list files this one ("Gemiste oproep"); always_sync must not add a
        # second, empty "Telefoongesprek" for the same call.
        return Decision(Outcome.MISSED_CALL, match)
    wanted = has_report or a.always_sync or (a.sync_mp3 and has_recording is not False)
    if not wanted:
        return Decision(Outcome.NOTHING_TO_SEND, match)
    if a.dossier_item_type is None:
        return Decision(Outcome.NO_DOSSIER_TYPE, match)
    if a.sync_mp3 and has_recording is None:
        return Decision(Outcome.WAIT_AUDIO, match)
    attach = a.sync_mp3 and has_recording is True
    return Decision(
        Outcome.UPLOAD,
        match,
        attach_audio=attach,
        subject=item_subject(report.subject if report else "", settings),
        text=item_text(report.text if report else "", call, settings),
        date=afas_date(call_time(call)),
    )


def log_filter(call: CallDetails, report: Draft | None, settings: Settings) -> Outcome | None:
    """The operator's logging filters (``reports.*`` settings); None when the call may go up."""
    f = settings.reports
    if f.never_log_numbers:
        region = settings.phone.default_region
        key = normalise(call.number, region)
        if key is not None and key in {normalise(n, region) for n in f.never_log_numbers}:
            return Outcome.NOT_LOGGABLE
    if report is not None and report.has_report:
        return None  # written by hand: the operator wants it in AFAS
    if not call.incoming and not f.log_outgoing:
        return Outcome.FILTERED
    if call.duration_sec < f.min_duration_seconds:
        return Outcome.FILTERED
    return None


# --- the contents -------------------------------------------------------------------------------


def call_time(call: CallDetails) -> datetime:
    """The call's start (UTC); its end, or now, when Xelion gave no start."""
    return call.date or call.end_time or datetime.now(UTC)


def item_subject(subject: str, settings: Settings) -> str:
    """``Ds``: one line, at most 255 characters; the manual's text for an empty subject."""
    text = " ".join(subject.split())
    if not text:
        text = " ".join(settings.afas.empty_subject_text.split()) or "Telefoongesprek"
    return text[:MAX_SUBJECT_CHARS]


def format_duration(seconds: int) -> str:
    """Dutch short form: ``45 s``, ``4 min 12 s``, ``1 u 02 min 05 s``."""
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} u {minutes:02d} min {secs:02d} s"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def display_number(raw: str, region: str) -> str:
    e164 = normalise(raw, region)
    if e164 is None:
        return raw.strip()
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def call_facts(call: CallDetails, settings: Settings) -> str:
    """The call's facts in Dutch (AFAS users read Dutch), one per line."""
    number = display_number(call.number, settings.phone.default_region) or "onbekend"
    if call.other_name and call.other_name not in (call.number, number):
        number = f"{number} ({call.other_name})"
    local = to_afas_local(call_time(call))
    when = local.strftime("%d-%m-%Y %H:%M:%S")
    if call.end_time is not None:
        when += " tot " + to_afas_local(call.end_time).strftime("%H:%M:%S")
    lines = [
        "Gespreksgegevens",
        f"Richting: {'inkomend' if call.incoming else 'uitgaand'} gesprek",
        f"Nummer: {number}",
        f"Datum/tijd: {when}",
    ]
    if call.duration_sec >= 0:  # a desktop-only call whose end was never seen: no duration
        lines.append(f"Duur: {format_duration(call.duration_sec)}")
    if call.operator:
        lines.append(f"Medewerker: {call.operator}")
    return "\n".join(lines)


def item_text(report_text: str, call: CallDetails, settings: Settings) -> str:
    """``SbTx``: the operator's text, then the call's facts."""
    body = report_text.strip()
    facts = call_facts(call, settings)
    return f"{body}\n\n{facts}" if body else facts


def build_item(
    key: str,
    call: CallDetails,
    decision: Decision,
    dossier_type: int,
    audio_file: Path | None,
    link_by: str = "number",
) -> ReportItem:
    """The outbox item for an UPLOAD decision; ``link_by`` (``afas.connectors.link_by``) says
    whether KnSubjectLink's BcId gets the relation's number or its internal id.

    A recording that would break AFAS's 75 MB request limit is left out when the body is written
    (``knsubject.write_body`` knows the exact size), with a line in the text saying so.
    """
    assert decision.match is not None
    audio = ""
    name = ""
    if decision.attach_audio and audio_file is not None and audio_file.exists():
        audio = str(audio_file)
        name = "gesprek-" + to_afas_local(call_time(call)).strftime("%Y-%m-%d-%H%M") + ".mp3"
    link, held = link_value(decision.match, link_by)
    return ReportItem(
        key=key,
        call_id=call.call_id,
        bcid=link,
        link_by=held,
        subject=decision.subject,
        text=decision.text,
        date=decision.date,
        dossier_type=dossier_type,
        contact_id=decision.match.contact_id,
        audio_file=audio,
        audio_name=name,
    )
