"""Call reports: which finished Xelion calls become AFAS dossier items, and with what in them.

``decide`` holds the rules of the manual's settings; ``ReportDrafts`` stores what the operator
writes on the desktop; ``ReportService`` ties the Xelion call log (``callfetch``), the caller-pop
router's matches, the drafts and the outbox together for the app.

Per finished call (keyed by its Xelion oid, table ``report_calls`` of module ``reports``):

* internal, own and withheld numbers are never logged;
* nothing goes up without a dossier item type: such calls wait, one notice says so, and they
  go up once the type is set (``update_settings``);
* a call with one matched relation goes up when it has a report (subject or text), when
  ``afas.sync_mp3`` is on and Xelion has a recording, or always with ``afas.always_sync``;
* several distinct relations and no pick: the call waits until the operator picks one
  (``write_report(..., bcid=...)`` or the caller-pop picker's ``CallRouter.record_pick``);
  no relation at all: it waits for a relation picked by hand;
* with ``afas.sync_mp3`` the recording is fetched first (late recordings are waited for).

A report written after its dossier item already reached AFAS becomes a second dossier item,
"Aanvulling: <subject>", linked to the same relation. AFAS could overwrite the first item
(KnSubject PUT), but a colleague may have edited or reacted to it in Profit meanwhile; an
addition loses nothing, shows when it was added, and goes through the same exactly-once outbox
under its own key (``<oid>-2``, ``<oid>-3`` …). While the first item is still waiting in the
outbox, the edit simply replaces its subject and text there.

Recordings are streamed into ``<data dir>/spool``; the outbox deletes a file once its item is
done. Drafts and call records are kept 14 days (as long as the router keeps a call's matches).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import phonenumbers

from afas_tray.callfetch import (
    DEFAULT_DEBOUNCE_SECONDS,
    DEFAULT_POLL_SECONDS,
    CallFetcher,
    RecordingFetcher,
)
from afas_tray.calls import relations
from afas_tray.events import CallEvent, CallSource, CallState
from afas_tray.i18n import T, Text
from afas_tray.knsubject import link_value
from afas_tray.models import Match, RelationKind, ReportItem
from afas_tray.phone import normalise
from afas_tray.settings import Settings
from afas_tray.store import ensure_schema, open_db
from afas_tray.xelion.client import CallDetails, Participant, XelionClient

log = logging.getLogger(__name__)

MODULE = "reports"
SUBJECT_MAX = 255  # KnSubject Ds
AFAS_ZONE = ZoneInfo("Europe/Amsterdam")  # AFAS dates are Dutch local time; Xelion's are UTC
KEEP_SECONDS = 14 * 24 * 3600  # drafts and call records: as long as the router keeps matches
DATABASE_NAME = "afas-tray.sqlite3"  # AppPaths.database_file, when only the data dir is given

NEEDS_DOSSIER_TYPE = T(
    "Call reports are not sent to AFAS: set 'Dossier item type' in the settings. "
    "{n} call(s) are waiting and go up once it is set.",
    "Gespreksverslagen gaan niet naar AFAS: vul 'Type dossier item' in bij de instellingen. "
    "{n} gesprek(ken) wachten en gaan mee zodra het is ingevuld.",
)

_MIGRATIONS = (
    """
    CREATE TABLE report_drafts (
        call_id TEXT PRIMARY KEY,
        subject TEXT NOT NULL,
        text TEXT NOT NULL,
        bcid TEXT,
        contact_id TEXT NOT NULL DEFAULT '',
        updated REAL NOT NULL
    );
    CREATE TABLE report_calls (
        oid TEXT PRIMARY KEY,
        call_id TEXT NOT NULL,
        details TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT NOT NULL DEFAULT '',
        has_recording INTEGER,
        audio_file TEXT NOT NULL DEFAULT '',
        audio_deadline REAL NOT NULL,
        item_key TEXT NOT NULL DEFAULT '',
        item_bcid TEXT NOT NULL DEFAULT '',
        item_contact TEXT NOT NULL DEFAULT '',
        sent_subject TEXT NOT NULL DEFAULT '',
        sent_text TEXT NOT NULL DEFAULT '',
        supplements INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX report_calls_call_id ON report_calls(call_id);
    CREATE INDEX report_calls_state ON report_calls(state);
    """,
)


# --- the rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    """What the operator wrote for one call; ``bcid`` is a relation picked by hand (or None)."""

    call_id: str
    subject: str = ""
    text: str = ""
    bcid: str | None = None
    contact_id: str = ""
    updated: float = 0.0

    @property
    def has_report(self) -> bool:
        return bool(self.subject.strip() or self.text.strip())


class Outcome(StrEnum):
    UPLOAD = "upload"
    WAIT_AUDIO = "wait_audio"  # sync_mp3: find out whether Xelion has a recording first
    NEEDS_PICK = "needs_pick"  # several relations, none picked
    NO_MATCH = "no_match"  # no relation: only a relation picked by hand sends it
    NOTHING_TO_SEND = "nothing_to_send"  # no report, no recording, not "always"
    NO_DOSSIER_TYPE = "no_dossier_type"  # would go up, but no dossier item type is set
    NOT_LOGGABLE = "not_loggable"  # internal, own or withheld number: never

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
}


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


# --- the contents -------------------------------------------------------------------------------


def call_time(call: CallDetails) -> datetime:
    """The call's start (UTC); its end, or now, when Xelion gave no start."""
    return call.date or call.end_time or datetime.now(UTC)


def afas_local(value: datetime) -> datetime:
    """A UTC moment as AFAS keeps it: Europe/Amsterdam wall-clock time (summer time included)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(AFAS_ZONE)


def afas_date(value: datetime) -> str:
    """KnSubject ``Da``: local time, ``YYYY-MM-DDTHH:MM:SS`` without offset."""
    return afas_local(value).strftime("%Y-%m-%dT%H:%M:%S")


def item_subject(subject: str, settings: Settings) -> str:
    """``Ds``: one line, at most 255 characters; the manual's text for an empty subject."""
    text = " ".join(subject.split())
    if not text:
        text = " ".join(settings.afas.empty_subject_text.split()) or "Telefoongesprek"
    return text[:SUBJECT_MAX]


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
    local = afas_local(call_time(call))
    when = local.strftime("%d-%m-%Y %H:%M:%S")
    if call.end_time is not None:
        when += " tot " + afas_local(call.end_time).strftime("%H:%M:%S")
    lines = [
        "Gespreksgegevens",
        f"Richting: {'inkomend' if call.incoming else 'uitgaand'} gesprek",
        f"Nummer: {number}",
        f"Datum/tijd: {when}",
        f"Duur: {format_duration(call.duration_sec)}",
    ]
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
        name = "gesprek-" + afas_local(call_time(call)).strftime("%Y-%m-%d-%H%M") + ".mp3"
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


# --- storage of call details ----------------------------------------------------------------------


def _dt(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _parse_dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def details_to_json(call: CallDetails) -> str:
    return json.dumps({
        "oid": call.oid, "call_id": call.call_id, "date": _dt(call.date),
        "end_time": _dt(call.end_time), "duration_sec": call.duration_sec,
        "incoming": call.incoming, "number": call.number, "other_name": call.other_name,
        "operator": call.operator, "subject": call.subject,
        "participants": [[p.role, p.address, p.name] for p in call.participants],
    })


def details_from_json(text: str) -> CallDetails:
    d = json.loads(text)
    return CallDetails(
        oid=d["oid"], call_id=d["call_id"], date=_parse_dt(d["date"]),
        end_time=_parse_dt(d["end_time"]), duration_sec=int(d["duration_sec"]),
        incoming=bool(d["incoming"]), number=d["number"], other_name=d["other_name"],
        operator=d["operator"], subject=d["subject"],
        participants=tuple(Participant(r, a, n) for r, a, n in d["participants"]),
    )


# --- drafts ---------------------------------------------------------------------------------------


class ReportDrafts:
    """Reports written on the desktop, per call id; also before Xelion published the call."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        ensure_schema(conn, MODULE, _MIGRATIONS)

    def write_report(
        self, call_id: str, subject: str, text: str, bcid: str | None = None,
        contact_id: str = "",
    ) -> Draft:
        if not call_id:
            raise ValueError("a report belongs to a call id")
        draft = Draft(call_id, subject[:SUBJECT_MAX], text, bcid or None, contact_id, time.time())
        self._conn.execute(
            "INSERT INTO report_drafts(call_id, subject, text, bcid, contact_id, updated)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(call_id) DO UPDATE SET subject=excluded.subject,"
            " text=excluded.text, bcid=excluded.bcid, contact_id=excluded.contact_id,"
            " updated=excluded.updated",
            (draft.call_id, draft.subject, draft.text, draft.bcid, draft.contact_id,
             draft.updated),
        )
        return draft

    def draft_for(self, call_id: str) -> Draft | None:
        row = self._conn.execute(
            "SELECT call_id, subject, text, bcid, contact_id, updated FROM report_drafts"
            " WHERE call_id=?", (call_id,),
        ).fetchone()
        if row is None:
            return None
        return Draft(row[0], row[1], row[2], row[3], row[4], row[5])

    def prune(self, older_than: float) -> None:
        self._conn.execute("DELETE FROM report_drafts WHERE updated < ?", (older_than,))


# --- the service ----------------------------------------------------------------------------------


class OutboxLike(Protocol):
    """What the report pipeline needs of the outbox (afas_tray/outbox.py)."""

    def enqueue(self, item: ReportItem) -> bool:
        """Queue ``item``; False when an item with its key exists already (idempotent)."""
        ...

    def update_report(self, key: str, subject: str, text: str) -> bool:
        """Replace subject and text while the item is still pending; False when too late."""
        ...


class RouterLike(Protocol):
    def is_loggable(self, number: str) -> bool: ...

    def match_for_call(self, call_id: str) -> list[Match]: ...


class BookLike(Protocol):
    def lookup(self, number: str, region: str | None = None) -> list[Match]: ...


class WriteResult(StrEnum):
    SAVED = "saved"  # stored; the call is not in Xelion's log yet, it is used when it arrives
    QUEUED = "queued"  # the dossier item is queued
    UPDATED = "updated"  # the queued, not yet sent item now carries the new text
    SUPPLEMENT = "supplement"  # already in AFAS: queued as an "Aanvulling" item
    UNCHANGED = "unchanged"  # already sent with exactly this subject and text
    WAITING = "waiting"  # stored, but the call still waits (pick, recording, dossier type)
    NOT_LOGGED = "not_logged"  # internal, own or withheld number


@dataclass(frozen=True)
class ReportTiming:
    """Timings of the pipeline; tests shorten them."""

    debounce: float = DEFAULT_DEBOUNCE_SECONDS
    safety_poll: float = DEFAULT_POLL_SECONDS
    audio_first_retry: float = 5.0
    audio_max_retry: float = 60.0
    recording_wait: float | None = None  # seconds; None: afas.recording_wait_minutes


@dataclass
class _Row:
    oid: str
    call: CallDetails
    state: str
    has_recording: bool | None
    audio_file: str
    audio_deadline: float
    item_key: str
    item_bcid: str
    item_contact: str
    sent_subject: str
    sent_text: str
    supplements: int


# report_calls.state
_NEW = "new"  # stored, not decided yet (also after a crash right after storing)
_AUDIO = "audio"  # waiting for the recording
_WAITING = "waiting"  # parked: pick, relation, report or dossier type missing
_QUEUED = "queued"  # in the outbox under item_key
_IGNORED = "ignored"  # never (internal, own, withheld)


class ReportService:
    """The call-report pipeline for the app: Xelion call log in, outbox items out."""

    def __init__(
        self,
        settings: Settings,
        router: RouterLike,
        book: BookLike,
        outbox: OutboxLike,
        xelion_client: XelionClient | None,
        data_dir: Path,
        *,
        db_path: Path | None = None,
        timing: ReportTiming | None = None,
    ) -> None:
        self.settings = settings
        self._router = router
        self._book = book
        self._outbox = outbox
        self._client = xelion_client
        self.data_dir = Path(data_dir)
        self.spool_dir = self.data_dir / "spool"
        self.timing = timing or ReportTiming()
        self._conn = open_db(db_path or self.data_dir / DATABASE_NAME)
        self.drafts = ReportDrafts(self._conn)
        self.fetcher: CallFetcher | None = None
        self._recordings: RecordingFetcher | None = None
        self._audio_tasks: dict[str, asyncio.Task[None]] = {}
        self._client_changed = asyncio.Event()
        self._last_notice: Text | None = None
        self.on_notice: list[Callable[[Text | None], None]] = []

    # -- the app's side ------------------------------------------------------------------------

    @property
    def needs_dossier_type(self) -> bool:
        """True while calls wait only because no dossier item type is set."""
        return self.settings.afas.dossier_item_type is None and self._held_for_type() > 0

    @property
    def notice(self) -> Text | None:
        """The one notice to show (dossier item type missing), or None."""
        if self.settings.afas.dossier_item_type is not None:
            return None
        held = self._held_for_type()
        return NEEDS_DOSSIER_TYPE.format(n=held) if held else None

    def update_settings(self, settings: Settings) -> None:
        """New settings: calls held only for a missing dossier item type go up once it is set."""
        had_type = self.settings.afas.dossier_item_type is not None
        self.settings = settings
        if not had_type and settings.afas.dossier_item_type is not None:
            for oid in self._oids_where("state=? AND outcome=?", _WAITING,
                                        Outcome.NO_DOSSIER_TYPE.value):
                self._settle(oid)
        self._notice_changed()

    def set_client(self, client: XelionClient | None) -> None:
        """A new Xelion session (settings changed): fetching restarts with it."""
        self._client = client
        self._client_changed.set()

    def hung_up(self, event: CallEvent) -> None:
        """A HUNG_UP (or TRANSFERRED) call event: fetch the call log shortly."""
        if event.state not in (CallState.HUNG_UP, CallState.TRANSFERRED):
            return
        if self.fetcher is not None:
            # Only Xelion's own call ids show up in its call log: others get no follow-up looks.
            self.fetcher.hung_up(event.call_id if event.source is CallSource.XELION else "")

    def write_report(
        self, call_id: str, subject: str, text: str, bcid: str | None = None,
        contact_id: str = "",
    ) -> WriteResult:
        """Write or edit the report of a recent call; ``bcid`` picks the relation by hand."""
        self.drafts.write_report(call_id, subject, text, bcid, contact_id)
        row = self._row_by_call(call_id)
        if row is None:
            return WriteResult.SAVED
        if row.state == _QUEUED:
            return self._revise(row)
        self._settle(row.oid)
        after = self._row(row.oid)
        if after is not None and after.state == _QUEUED:
            return WriteResult.QUEUED
        if after is not None and after.state == _IGNORED:
            return WriteResult.NOT_LOGGED
        return WriteResult.WAITING

    def draft_for(self, call_id: str) -> Draft | None:
        return self.drafts.draft_for(call_id)

    def state_of(self, call_id: str) -> tuple[str, Outcome | None] | None:
        """(state, last outcome) of a finished call, for the report dialog; None if unknown."""
        row = self._conn.execute(
            "SELECT state, outcome FROM report_calls WHERE call_id=? ORDER BY created DESC",
            (call_id,),
        ).fetchone()
        if row is None:
            return None
        return row[0], Outcome(row[1]) if row[1] else None

    async def run(self) -> None:
        """Fetch finished calls and their recordings until cancelled."""
        while True:
            self._client_changed.clear()
            client = self._client
            if client is None:
                await self._client_changed.wait()
                continue
            self.fetcher = CallFetcher(
                client, self._conn, self.handle_call,
                debounce=self.timing.debounce, poll_interval=self.timing.safety_poll,
            )
            self._recordings = RecordingFetcher(
                client, self.spool_dir, first_retry=self.timing.audio_first_retry,
                max_retry=self.timing.audio_max_retry,
            )
            self._resume()
            fetching = asyncio.ensure_future(self.fetcher.run())
            changed = asyncio.ensure_future(self._client_changed.wait())
            try:
                await asyncio.wait({fetching, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                tasks = [fetching, changed, *self._audio_tasks.values()]
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(BaseException):
                        await task
                self._audio_tasks.clear()
                self.fetcher = None
                self._recordings = None
            if not changed.done() or changed.cancelled():
                # The fetch loop died of something unexpected: log it, start over calmly.
                log.error("Call log fetching stopped; restarting in a minute")
                await asyncio.sleep(60)

    def close(self) -> None:
        """Close the database connection (after ``run`` has ended)."""
        self._conn.close()

    # -- the pipeline --------------------------------------------------------------------------

    async def handle_call(self, call: CallDetails) -> None:
        """A finished call from Xelion's log (CallFetcher's ``on_call``).

        Idempotent per oid: a crash between this and the fetcher's commit repeats the call.
        """
        now = time.time()
        wait = self.timing.recording_wait
        if wait is None:
            wait = max(0, self.settings.afas.recording_wait_minutes) * 60.0
        end = call.end_time or call.date
        deadline = (end.timestamp() if end else now) + wait
        # A recording that appears after a restart still has its window from the hang-up on,
        # but a call fetched long after it ended still gets a short look.
        deadline = max(deadline, now + min(wait, 60.0))
        self._conn.execute(
            "INSERT OR IGNORE INTO report_calls(oid, call_id, details, state, audio_deadline,"
            " created, updated) VALUES (?,?,?,?,?,?,?)",
            (call.oid, call.call_id, details_to_json(call), _NEW, deadline, now, now),
        )
        row = self._row(call.oid)
        if row is not None and row.state == _NEW:
            self._settle(call.oid)
        self._prune(now)

    def _matches(self, call: CallDetails, draft: Draft | None) -> list[Match]:
        found = self._router.match_for_call(call.call_id) if call.call_id else []
        if not found:
            # A call that never reached the router (app closed, no websocket): the phone book.
            try:
                found = relations(self._book.lookup(call.number,
                                                    self.settings.phone.default_region))
            except Exception:
                log.exception("Phone book lookup for a call report failed")
                found = []
        if len(found) > 1 and not (draft and draft.bcid):
            picked = self._router_pick(call.call_id)
            if picked:
                found = [m for m in found if m.bcid == picked] or found
        return found

    def _router_pick(self, call_id: str) -> str:
        """The relation the operator picked in the caller-pop picker for this call, if any."""
        method = getattr(self._router, "picked_for_call", None)
        if callable(method):
            return str(method(call_id) or "")
        # CallRouter.record_pick keeps picks in its own table; read it until it offers a getter.
        try:
            row = self._conn.execute(
                "SELECT bcid FROM call_picks WHERE call_id=?", (call_id,)
            ).fetchone()
        except sqlite3.Error:
            return ""
        return str(row[0]) if row else ""

    def _settle(self, oid: str) -> None:
        """Decide the call again with what is known now, and act on it."""
        row = self._row(oid)
        if row is None or row.state in (_QUEUED, _IGNORED):
            return
        call = row.call
        draft = self.drafts.draft_for(call.call_id) if call.call_id else None
        decision = decide(
            call, self._matches(call, draft), draft, row.has_recording, self.settings,
            loggable=self._router.is_loggable(call.number),
        )
        outcome = decision.outcome
        if outcome is Outcome.NOT_LOGGABLE:
            self._set(oid, state=_IGNORED, outcome=outcome.value)
        elif outcome is Outcome.WAIT_AUDIO:
            self._set(oid, state=_AUDIO, outcome=outcome.value)
            self._start_audio(row)
        elif outcome is Outcome.UPLOAD:
            dossier_type = self.settings.afas.dossier_item_type
            assert dossier_type is not None
            audio = Path(row.audio_file) if row.audio_file else None
            item = build_item(oid, call, decision, dossier_type, audio,
                              self.settings.afas.connectors.link_by)
            self._outbox.enqueue(item)
            self._set(oid, state=_QUEUED, outcome=outcome.value, item_key=item.key,
                      item_bcid=item.bcid, item_contact=item.contact_id,
                      sent_subject=draft.subject if draft else "",
                      sent_text=draft.text if draft else "")
            log.info("Call %s queued for AFAS (relation %s)", oid, item.bcid)
        else:
            self._set(oid, state=_WAITING, outcome=outcome.value)
        if outcome is Outcome.NO_DOSSIER_TYPE or self._last_notice is not None:
            self._notice_changed()

    def _revise(self, row: _Row) -> WriteResult:
        """A report for a call whose item is queued or sent already."""
        call = row.call
        draft = self.drafts.draft_for(call.call_id)
        if draft is None or (draft.subject, draft.text) == (row.sent_subject, row.sent_text):
            return WriteResult.UNCHANGED
        subject = item_subject(draft.subject, self.settings)
        text = item_text(draft.text, call, self.settings)
        if self._outbox.update_report(row.item_key, subject, text):
            self._set(row.oid, sent_subject=draft.subject, sent_text=draft.text)
            return WriteResult.UPDATED
        dossier_type = self.settings.afas.dossier_item_type
        if dossier_type is None or not draft.has_report:
            return WriteResult.UNCHANGED if not draft.has_report else WriteResult.WAITING
        # The addition goes where the first item went, unless the operator picked anew.
        # (``item_bcid`` is what the first item's link carried already: sent as it was.)
        known = next((m for m in self._matches(call, draft) if m.bcid == draft.bcid), None)
        match = Match(bcid=draft.bcid, name="", kind=RelationKind.ORGANISATION,
                      contact_id=draft.contact_id, number=known.number if known else "",
                      ) if draft.bcid else Match(
            bcid=row.item_bcid, name="", kind=RelationKind.ORGANISATION,
            contact_id=row.item_contact)
        number = row.supplements + 2
        supplement = Decision(
            Outcome.UPLOAD, match,
            subject=("Aanvulling: " + item_subject(draft.subject, self.settings))[:SUBJECT_MAX],
            text=item_text(draft.text, call, self.settings),
            date=afas_date(datetime.now(UTC)),
        )
        item = build_item(f"{row.oid}-{number}", call, supplement, dossier_type, None,
                          self.settings.afas.connectors.link_by)
        if not draft.bcid:  # the first item's link value, whatever it held: not vouched for
            item = dataclasses.replace(item, link_by="")
        self._outbox.enqueue(item)
        self._set(row.oid, supplements=row.supplements + 1, sent_subject=draft.subject,
                  sent_text=draft.text)
        return WriteResult.SUPPLEMENT

    def _start_audio(self, row: _Row) -> None:
        if self._recordings is None or row.oid in self._audio_tasks:
            return  # no Xelion session now: resumed when one comes
        task = asyncio.ensure_future(self._fetch_audio(self._recordings, row.oid,
                                                       row.audio_deadline))
        self._audio_tasks[row.oid] = task
        oid = row.oid

        def forget(_task: asyncio.Task[None]) -> None:
            if self._audio_tasks.get(oid) is _task:
                del self._audio_tasks[oid]

        task.add_done_callback(forget)

    async def _fetch_audio(self, recordings: RecordingFetcher, oid: str, deadline: float) -> None:
        path = await recordings.fetch(oid, deadline)
        self._set(oid, has_recording=path is not None, audio_file=str(path) if path else "")
        self._settle(oid)

    def _resume(self) -> None:
        """After a (re)start: decide stored-but-undecided calls, wait on pending recordings."""
        for oid in self._oids_where("state=?", _NEW):
            self._settle(oid)
        for oid in self._oids_where("state=?", _AUDIO):
            row = self._row(oid)
            if row is not None:
                self._start_audio(row)

    # -- notice --------------------------------------------------------------------------------

    def _held_for_type(self) -> int:
        return int(self._conn.execute(
            "SELECT COUNT(*) FROM report_calls WHERE state=? AND outcome=?",
            (_WAITING, Outcome.NO_DOSSIER_TYPE.value),
        ).fetchone()[0])

    def _notice_changed(self) -> None:
        """Tell the listeners when the notice appears or goes away (not on every call)."""
        current = self.notice
        if (current is None) == (self._last_notice is None):
            self._last_notice = current
            return
        self._last_notice = current
        if current is not None:
            log.warning("%s", current.en)
        for listener in list(self.on_notice):
            try:
                listener(current)
            except Exception:
                log.exception("Notice listener failed")

    # -- rows ----------------------------------------------------------------------------------

    def _row(self, oid: str) -> _Row | None:
        r = self._conn.execute(
            "SELECT oid, details, state, has_recording, audio_file, audio_deadline, item_key,"
            " item_bcid, item_contact, sent_subject, sent_text, supplements"
            " FROM report_calls WHERE oid=?", (oid,),
        ).fetchone()
        if r is None:
            return None
        return _Row(r[0], details_from_json(r[1]), r[2], None if r[3] is None else bool(r[3]),
                    r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11])

    def _row_by_call(self, call_id: str) -> _Row | None:
        r = self._conn.execute(
            "SELECT oid FROM report_calls WHERE call_id=? ORDER BY created DESC", (call_id,)
        ).fetchone()
        return self._row(r[0]) if r else None

    def _oids_where(self, where: str, *args: object) -> list[str]:
        return [r[0] for r in self._conn.execute(
            f"SELECT oid FROM report_calls WHERE {where} ORDER BY created", args)]

    def _set(self, oid: str, **values: object) -> None:
        cols = ", ".join(f"{k}=?" for k in values)
        self._conn.execute(f"UPDATE report_calls SET {cols}, updated=? WHERE oid=?",
                           (*values.values(), time.time(), oid))

    def _prune(self, now: float) -> None:
        old = now - KEEP_SECONDS
        for (audio,) in self._conn.execute(
            "SELECT audio_file FROM report_calls WHERE created < ? AND state != ?"
            " AND audio_file != ''", (old, _QUEUED),
        ).fetchall():
            with contextlib.suppress(OSError):
                Path(audio).unlink()
        self._conn.execute("DELETE FROM report_calls WHERE created < ?", (old,))
        self.drafts.prune(old)

