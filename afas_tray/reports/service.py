"""Call reports: which finished Xelion calls become AFAS dossier items, and with what in them.

``decide`` (``rules``) holds the rules of the manual's settings; ``ReportDrafts`` (``drafts``)
stores what the operator writes on the desktop; ``ReportService`` (here) ties the Xelion call log
(``calllog``), the caller-pop router's matches, the drafts and the outbox together for the app.

Per finished call (keyed by its Xelion oid, in this module's own table ``report_calls``):

* internal, own and withheld numbers are never logged, nor the numbers of
  ``reports.never_log_numbers``;
* without a written report, calls shorter than ``reports.min_duration_seconds`` and (with
  ``reports.log_outgoing`` off) outgoing calls are not logged; a report the operator writes
  still goes up;
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

Third step of the finished-call walk (README, "Architecture"): receives the hang-up from
``core.py`` (``hung_up``, a call-finished hook) and the ended oid from ``xelion/stream.py``
(``xelion_call_ended``, wired by the core); reads the call's log entry through
``reports/calllog.py``, the router's matches (``pop/router.py``) and the drafts
(``reports/drafts.py``), decides with ``reports/rules.py``, and hands the ``ReportItem`` to
``reports/outbox.py`` (``Outbox.enqueue``, which wakes the core's drain loop).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from afas_tray.afas.dates import afas_date
from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.config import Settings
from afas_tray.events import CallEvent, CallSource, CallState
from afas_tray.i18n import T, Text
from afas_tray.models import Match, RelationKind, ReportItem
from afas_tray.numbers import normalise
from afas_tray.phonebook.search import search_by_name
from afas_tray.pop.router import relations
from afas_tray.reports.calllog import (
    DEFAULT_DEBOUNCE_SECONDS,
    DEFAULT_POLL_SECONDS,
    CallFetcher,
    RecordingFetcher,
)
from afas_tray.reports.drafts import Draft, ReportDrafts, details_from_json, details_to_json
from afas_tray.reports.rules import (
    Decision,
    Outcome,
    build_item,
    call_time,
    decide,
    item_subject,
    item_text,
)
from afas_tray.store import ensure_schema, open_db
from afas_tray.xelion import CallDetails, XelionClient, XelionError

log = logging.getLogger(__name__)

KEEP_SECONDS = 14 * 24 * 3600  # drafts and call records: as long as the router keeps matches
DATABASE_NAME = "afas-tray.sqlite3"  # AppPaths.database_file, when only the data dir is given
# A desktop call and a log entry of the same number this close together are the same call,
# when their ids do not meet (an outgoing call, a trigger without ${callId}).
JOIN_WINDOW_SECONDS = 180.0
# A report typed into Xelion's log entry after the hang-up: the entry is read again this long
# after it was first handled (seconds), then the call is final.
REREAD_AFTER = (60.0, 180.0, 420.0, 900.0)

NEEDS_DOSSIER_TYPE = T(
    "Call reports are not sent to AFAS: set 'Dossier item type' in the settings. "
    "{n} call(s) are waiting and go up once it is set.",
    "Gespreksverslagen gaan niet naar AFAS: vul 'Type dossier item' in bij de instellingen. "
    "{n} gesprek(ken) wachten en gaan mee zodra het is ingevuld.",
)


def _id_variants(call_id: str) -> list[str]:
    """A log entry's call id as the desktop may know it: as is, and without ``caller_``."""
    if not call_id:
        return []
    bare = call_id.removeprefix("caller_")
    return [call_id] if bare == call_id else [call_id, bare]


class OutboxLike(Protocol):
    """What the report pipeline needs of the outbox (afas_tray/reports/outbox.py)."""

    def enqueue(self, item: ReportItem) -> bool:
        """Queue ``item``; False when an item with its key exists already (idempotent)."""
        ...

    def update_report(self, key: str, subject: str, text: str) -> bool:
        """Replace subject and text while the item is still pending; False when too late."""
        ...


class RouterLike(Protocol):
    def is_loggable(self, number: str) -> bool: ...

    def match_for_call(self, call_id: str) -> list[Match]: ...

    def picked_for_call(self, call_id: str) -> str: ...


class BookLike(Protocol):
    def lookup(self, number: str, region: str | None = None) -> list[Match]: ...


@dataclass(frozen=True)
class DesktopCall:
    """A call as the desktop saw it (``calls.RecentCall``), for a report Xelion cannot join."""

    number: str
    normalised: str
    started: float  # epoch seconds of the first event
    duration: int | None  # seconds to the hang-up, when it was seen
    incoming: bool
    call_id: str = ""

    @property
    def key(self) -> str:
        """The report's key: the source's call id when there is one, else number and time."""
        if self.call_id:
            return f"desk:{self.call_id}"
        return f"desk:{self.normalised or self.number}@{int(self.started * 1000)}"


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
    reread_after: tuple[float, ...] = REREAD_AFTER


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


# This module's table (``store.ensure_schema``); the drafts' table is ``ReportDrafts``'s. ``IF NOT
# EXISTS``: a database made before the table moved here got it from ``reports/drafts.py``.
MODULE = "report_calls"
_MIGRATIONS = (
    """
    CREATE TABLE IF NOT EXISTS report_calls (
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
    CREATE INDEX IF NOT EXISTS report_calls_call_id ON report_calls(call_id);
    CREATE INDEX IF NOT EXISTS report_calls_state ON report_calls(state);
    """,
)

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
        ensure_schema(self._conn, MODULE, _MIGRATIONS)
        self.fetcher: CallFetcher | None = None
        self._recordings: RecordingFetcher | None = None
        self._audio_tasks: dict[str, asyncio.Task[None]] = {}
        self._client_changed = asyncio.Event()
        self._last_notice: Text | None = None
        self.on_notice: list[Callable[[Text | None], None]] = []
        self.on_call_log: list[Callable[[CallDetails], None]] = []  # every finished call seen
        self._live = True
        self._rereads: dict[str, int] = {}  # oid -> re-reads done (in memory: after a
        # restart the window has mostly passed, and a missed re-read only loses Xelion's text)
        self._patched: dict[str, tuple[str, str]] = {}
        self._patch_tasks: set[asyncio.Task[None]] = set()  # oid -> report written back to Xelion

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

    def xelion_call_ended(self, call_id: str) -> None:
        """Any call of ours ended on Xelion (also one that never popped): read the log soon."""
        if self.fetcher is not None:
            self.fetcher.hung_up(call_id)

    def set_live(self, live: bool) -> None:
        """The Xelion websocket is up (True) or cannot be had: the safety poll adapts."""
        self._live = live
        if self.fetcher is not None:
            self.fetcher.set_live(live)

    def write_report(
        self, call_id: str, subject: str, text: str, bcid: str | None = None,
        contact_id: str = "",
    ) -> WriteResult:
        """Write or edit the report of a recent call; ``bcid`` picks the relation by hand."""
        self.drafts.write_report(call_id, subject, text, bcid, contact_id)
        row = self._row_by_call(call_id)
        if row is None:
            return WriteResult.SAVED
        self._write_back(row.oid)
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

    def held_count(self) -> int:
        """Finished calls held back by something the operator can give: a pick, a relation
        for a written report, or the dossier item type."""
        rows = self._conn.execute(
            "SELECT outcome, call_id FROM report_calls WHERE state=? AND outcome IN (?, ?, ?)",
            (_WAITING, Outcome.NEEDS_PICK.value, Outcome.NO_DOSSIER_TYPE.value,
             Outcome.NO_MATCH.value),
        ).fetchall()
        if not rows:
            return 0
        written = self.drafts.with_report()  # the drafts' table is theirs to read
        return sum(1 for outcome, call_id in rows
                   if outcome != Outcome.NO_MATCH.value or call_id in written)

    def pick_recorded(self, call_id: str) -> WriteResult | None:
        """The operator picked a relation for ``call_id`` (``CallRouter.record_pick``): a
        finished call that waited for that pick is decided again at once. None: not finished yet
        (the pick is used when Xelion's log brings the call)."""
        row = self._row_by_call(call_id) if call_id else None
        if row is None or row.state in (_QUEUED, _IGNORED):
            return None
        self._settle(row.oid)
        after = self._row(row.oid)
        return WriteResult.QUEUED if after is not None and after.state == _QUEUED \
            else WriteResult.WAITING

    def write_desktop_report(
        self, call: DesktopCall, subject: str, text: str, bcid: str | None = None,
        contact_id: str = "",
    ) -> WriteResult:
        """A report for a call Xelion never logs (a trigger, the command line, a call without a
        call id): it goes up from what the desktop saw, as soon as it is saved."""
        key = call.key
        self.drafts.write_report(key, subject, text, bcid, contact_id)
        row = self._row(key)
        if row is None:
            now = time.time()
            started = datetime.fromtimestamp(call.started, UTC)
            details = CallDetails(
                oid=key, call_id=key, date=started,
                end_time=started + timedelta(seconds=call.duration)
                if call.duration is not None else None,
                duration_sec=call.duration if call.duration is not None else -1,
                incoming=call.incoming, number=call.number, other_name="", operator="",
                subject="", participants=(),
            )
            # No recording to wait for: Xelion has none of a call it never logged.
            self._conn.execute(
                "INSERT OR IGNORE INTO report_calls(oid, call_id, details, state, has_recording,"
                " audio_deadline, created, updated) VALUES (?,?,?,?,0,?,?,?)",
                (key, key, details_to_json(details), _NEW, now, now, now),
            )
            row = self._row(key)
            assert row is not None
        if row.state == _QUEUED:
            return self._revise(row)
        self._settle(key)
        after = self._row(key)
        if after is not None and after.state == _QUEUED:
            return WriteResult.QUEUED
        if after is not None and after.state == _IGNORED:
            return WriteResult.NOT_LOGGED
        return WriteResult.WAITING

    def search_relations(self, text: str, limit: int = 20) -> list[Match]:
        """Relations for the report dialog's search: by number (as the caller pop finds them),
        else by name over the phone book; one per relation."""
        text = text.strip()
        if len(text) < 2:
            return []
        found: list[Match] = []
        if sum(ch.isdigit() for ch in text) >= 6:
            try:
                found = relations(self._book.lookup(text, self.settings.phone.default_region))
            except Exception:
                log.exception("Phone book lookup for the report dialog failed")
        if found:
            return found[:limit]
        path = getattr(self._book, "path", None)
        if path is None:
            return []
        return search_by_name(Path(path), text, limit)

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
            self.fetcher.set_live(self._live)
            self._resume()
            fetching = asyncio.ensure_future(self.fetcher.run())
            rereading = asyncio.ensure_future(self._reread_loop(client))
            changed = asyncio.ensure_future(self._client_changed.wait())
            try:
                await asyncio.wait({fetching, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                tasks = [fetching, rereading, changed, *self._audio_tasks.values(),
                         *self._patch_tasks]
                for task in tasks:
                    task.cancel()
                # gather, not a suppressing loop: a cancel of run() itself while the old
                # tasks wind down must still end run() (app quit during a client switch).
                await asyncio.gather(*tasks, return_exceptions=True)
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
        for hook in list(self.on_call_log):  # e.g. unanswered incoming calls → missed calls
            try:
                hook(call)
            except Exception:
                log.exception("call-log hook failed")
        now = time.time()
        wait = self.timing.recording_wait
        if wait is None:
            wait = max(0, self.settings.afas.recording_wait_minutes) * 60.0
        end = call.end_time or call.date
        deadline = (end.timestamp() if end else now) + wait
        # A recording that appears after a restart still has its window from the hang-up on,
        # but a call fetched long after it ended still gets a short look.
        deadline = max(deadline, now + min(wait, 60.0))
        # Stored under the id the desktop knows the call by, so drafts, picks and matches meet it.
        desk_id = self._desk_call_id(call)
        self._conn.execute(
            "INSERT OR IGNORE INTO report_calls(oid, call_id, details, state, audio_deadline,"
            " created, updated) VALUES (?,?,?,?,?,?,?)",
            (call.oid, desk_id, details_to_json(call), _NEW, deadline, now, now),
        )
        row = self._row(call.oid)
        if row is not None and row.state == _NEW:
            self._settle(call.oid)
            self._write_back(call.oid)
        self._prune(now)

    # -- joining a log entry to the desktop's call ---------------------------------------------

    def _desk_call_id(self, call: CallDetails) -> str:
        """The id the desktop knows this call by.

        First the way Xelion identifies calls: the log's ``callId`` is the SIP call id,
        ``caller_``-prefixed when we placed the call (``resources/communications_get.html``),
        which is what the trigger's ``${callId}`` carries. Then the same number within
        ``JOIN_WINDOW_SECONDS`` of the call's start, among the router's recent calls.
        """
        variants = _id_variants(call.call_id)
        for cid in variants:
            if self.drafts.draft_for(cid) is not None or self._router.match_for_call(cid):
                return cid
        recent = getattr(self._router, "recent_calls", None)
        target = normalise(call.number, self.settings.phone.default_region) \
            if call.number else None
        if callable(recent) and target:
            start = call_time(call).timestamp()
            best: tuple[float, str] | None = None
            try:
                calls = list(recent())
            except Exception:
                log.exception("Recent calls could not be read for a call report")
                calls = []
            for rc in calls:
                gap = abs(float(rc.time) - start)
                if rc.call_id and rc.normalised == target and gap <= JOIN_WINDOW_SECONDS \
                        and (best is None or gap < best[0]):
                    best = (gap, str(rc.call_id))
            if best is not None:
                return best[1]
        return variants[0] if variants else call.call_id

    def _desk_id_of(self, oid: str) -> str:
        row = self._conn.execute("SELECT call_id FROM report_calls WHERE oid=?",
                                 (oid,)).fetchone()
        return str(row[0]) if row else ""

    def _report_for(self, desk_id: str, call: CallDetails) -> Draft | None:
        """The report of a call: the desktop's when it has one (it wins), else what was typed
        into Xelion's log entry (``subject``/``contentSummary``), else the desktop draft
        (a relation picked by hand) or nothing. Never both."""
        draft = self.drafts.draft_for(desk_id) if desk_id else None
        if draft is not None and draft.has_report:
            return draft
        if call.subject.strip() or call.contents.strip():
            return Draft(desk_id, call.subject[:MAX_SUBJECT_CHARS], call.contents,
                         draft.bcid if draft else None, draft.contact_id if draft else "",
                         draft.updated if draft else 0.0)
        return draft

    # -- Xelion's side of the report -----------------------------------------------------------

    def _write_back(self, oid: str) -> None:
        """A desktop report goes into the Xelion log entry too (PATCH subject/contents), so
        Xelion and AFAS show the same text."""
        client = self._client
        desk_id = self._desk_id_of(oid)
        draft = self.drafts.draft_for(desk_id) if desk_id else None
        if client is None or draft is None or not draft.has_report:
            return
        wanted = (draft.subject, draft.text)
        if self._patched.get(oid) == wanted:
            return
        self._patched[oid] = wanted

        async def patch() -> None:
            try:
                await client.update_report(oid, draft.subject, draft.text)
                log.info("Report of call %s written back to Xelion", oid)
            except XelionError as exc:
                self._patched.pop(oid, None)  # tried again on the next save or re-read
                log.info("Report of call %s not written back to Xelion: %s", oid, exc)

        try:
            task = asyncio.get_running_loop().create_task(patch())
        except RuntimeError:
            return
        self._patch_tasks.add(task)
        task.add_done_callback(self._patch_tasks.discard)

    async def _reread_loop(self, client: XelionClient) -> None:
        """Read fresh log entries again a few times: a report typed into Xelion after the
        hang-up still reaches AFAS; after the last look the call is final."""
        steps = self.timing.reread_after
        if not steps:
            return
        tick = max(0.05, min(steps[0], min(b - a for a, b in zip((0.0, *steps), steps,
                                                                  strict=False))) / 2)
        while True:
            await asyncio.sleep(tick)
            now = time.time()
            rows = self._conn.execute(
                "SELECT oid, created FROM report_calls WHERE created > ? AND state IN (?,?,?)",
                (now - steps[-1] - 60.0, _WAITING, _AUDIO, _QUEUED)).fetchall()
            for oid, created in rows:
                done = self._rereads.get(oid, 0)
                if done >= len(steps) or now - created < steps[done]:
                    continue
                self._rereads[oid] = done + 1
                desk_id = self._desk_id_of(oid)
                draft = self.drafts.draft_for(desk_id) if desk_id else None
                if draft is not None and draft.has_report:
                    self._write_back(oid)  # the desktop's report wins; Xelion's is not read
                    continue
                try:
                    fresh = await client.communication(oid)
                except XelionError as exc:
                    log.info("Call %s not read again: %s", oid, exc)
                    continue
                self._xelion_report_changed(oid, fresh)
            for oid in [o for o in self._rereads if o not in {r[0] for r in rows}]:
                del self._rereads[oid]

    def _xelion_report_changed(self, oid: str, fresh: CallDetails) -> None:
        row = self._row(oid)
        if row is None:
            return
        old = row.call
        if (fresh.subject, fresh.contents) == (old.subject, old.contents):
            return
        call = replace(old, subject=fresh.subject, contents=fresh.contents)
        self._set(oid, details=details_to_json(call))
        log.info("Call %s: a report was typed into Xelion; it goes to AFAS", oid)
        if row.state == _QUEUED:
            self._revise(self._row(oid) or row)
        else:
            self._settle(oid)

    def _matches(self, call: CallDetails, draft: Draft | None, desk_id: str = "") -> list[Match]:
        desk_id = desk_id or call.call_id
        found = self._router.match_for_call(desk_id) if desk_id else []
        if not found:
            # A call that never reached the router (app closed, no websocket): the phone book.
            try:
                found = relations(self._book.lookup(call.number,
                                                    self.settings.phone.default_region))
            except Exception:
                log.exception("Phone book lookup for a call report failed")
                found = []
        if len(found) > 1 and not (draft and draft.bcid):
            picked = self._router_pick(desk_id)
            if picked:
                found = [m for m in found if m.bcid == picked] or found
        return found

    def _router_pick(self, call_id: str) -> str:
        """The relation the operator picked in the caller-pop picker for this call, if any."""
        return self._router.picked_for_call(call_id) if call_id else ""

    def _settle(self, oid: str) -> None:
        """Decide the call again with what is known now, and act on it."""
        row = self._row(oid)
        if row is None or row.state in (_QUEUED, _IGNORED):
            return
        call = row.call
        desk_id = self._desk_id_of(oid)
        draft = self._report_for(desk_id, call)
        has_recording = row.has_recording
        if has_recording is None and call.duration_sec <= 0:
            # Recorded "only if the call is answered": no request for an unanswered call.
            has_recording = False
            self._set(oid, has_recording=False)
        decision = decide(
            call, self._matches(call, draft, desk_id), draft, has_recording, self.settings,
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
        draft = self._report_for(self._desk_id_of(row.oid), call)
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
            subject=("Aanvulling: " + item_subject(draft.subject, self.settings))[:MAX_SUBJECT_CHARS],
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
