"""CallRouter: a call event becomes one decision — open a card, offer a choice, name an unknown
caller, or ignore — de-duplicated across sources and events; the last 50 calls are kept.

Every source (Xelion websocket, command line, URL scheme, loopback HTTP) feeds ``handle``. It is
on the hot path of a ringing phone: synchronous, one phone-book lookup per call, the opener is
called before anything is written to the store.

The only URLs ever opened are the InSite template with a phone-book BcId, or the unknown-caller
template with the normalised number, both URL-encoded: nothing else from an event reaches a URL.

Give the router a connection of its own (``store.open_db`` on the app's database file): it runs
its own short transactions, and queues its records while another connection holds the write lock.

Third step of the ringing walk (README, "Architecture"): receives each ``CallEvent`` from
``core.py`` (``AppCore.handle_event``); looks the number up in ``phonebook/book.py``; hands the
decision to its opener as ``open_url`` / ``choose`` / ``unknown_caller`` (in the app the opener
is ``pop/gate.py``'s ``PopGate``) and returns it to the core. The matches and picks it keeps are
read by ``reports/service.py`` when the call's report is decided.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from afas_tray.config import Settings
from afas_tray.events import CallEvent, CallSource, CallState, Direction
from afas_tray.i18n import T, Text
from afas_tray.models import Match, RelationKind
from afas_tray.numbers import is_anonymous, is_internal, normalise
from afas_tray.store import ensure_schema, transaction

if TYPE_CHECKING:
    from afas_tray.pop.opener import Opener

log = logging.getLogger(__name__)

MODULE = "calls"
RECENT_LIMIT = 50
_MATCH_KEEP_SECONDS = 14 * 24 * 3600  # long enough for any call report to be written
_MEMORY_CALLS = 2000  # call ids remembered for de-duplication (transfers can come much later)
_WRITE_WAIT_MS = 20  # longest the hot path waits for the database's write lock
_MAX_PENDING = 1000  # call records queued while the database is busy
_ENDED_STATES = (CallState.HUNG_UP.value, CallState.TRANSFERRED.value)

_MIGRATIONS = (
    """
    CREATE TABLE recent_calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL DEFAULT '',
        number TEXT NOT NULL,
        normalised TEXT NOT NULL,
        started REAL NOT NULL,
        updated REAL NOT NULL,
        direction TEXT NOT NULL,
        state TEXT NOT NULL,
        source TEXT NOT NULL,
        popped INTEGER NOT NULL DEFAULT 0,
        match_count INTEGER NOT NULL DEFAULT 0,
        bcid TEXT NOT NULL DEFAULT '',
        name TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL DEFAULT '',
        contact_id TEXT NOT NULL DEFAULT '',
        contact_name TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX recent_calls_call_id ON recent_calls(call_id);
    CREATE TABLE call_matches (
        call_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        normalised TEXT NOT NULL,
        bcid TEXT NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        phone TEXT NOT NULL,
        column_name TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        contact_name TEXT NOT NULL,
        connector TEXT NOT NULL,
        rank INTEGER NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (call_id, position)
    );
    CREATE INDEX call_matches_at ON call_matches(at);
    CREATE TABLE call_choices (
        normalised TEXT PRIMARY KEY,
        bcid TEXT NOT NULL,
        saved REAL NOT NULL
    );
    """,
    # The relation the operator picked for one call (the report goes there), remembered or not.
    """
    CREATE TABLE call_picks (
        call_id TEXT PRIMARY KEY,
        bcid TEXT NOT NULL,
        at REAL NOT NULL
    );
    """,
    # Issue 12: the relation's number (BcCo) next to its BcId, for <BCCO> and KnSubjectLink.
    """
    ALTER TABLE call_matches ADD COLUMN bcco TEXT NOT NULL DEFAULT '';
    ALTER TABLE recent_calls ADD COLUMN bcco TEXT NOT NULL DEFAULT '';
    """,
)


# --- decisions -----------------------------------------------------------------------------------


class IgnoreReason(StrEnum):
    ANONYMOUS = "anonymous"  # empty, withheld, or a bare country code
    INVALID = "invalid"  # not a phone number at all
    INTERNAL = "internal"  # an extension
    OWN_NUMBER = "own_number"  # one of the company's own numbers
    POP_OFF = "pop_off"
    OUTGOING = "outgoing"  # the operator dialled: the card is not popped
    NOT_POP_STATE = "not_pop_state"  # e.g. ringing while the pop waits for answer; hang-up
    DUPLICATE = "duplicate"  # this call (or number, just now) already popped
    NO_TEMPLATE = "no_template"  # the InSite URL template is missing or lacks <BCID>/<BCCO>

    @property
    def text(self) -> Text:
        return _REASON_TEXT[self]


_REASON_TEXT = {
    IgnoreReason.ANONYMOUS: T("Number withheld.", "Nummer afgeschermd."),
    IgnoreReason.INVALID: T("Not a phone number.", "Geen telefoonnummer."),
    IgnoreReason.INTERNAL: T("Internal extension.", "Intern toestel."),
    IgnoreReason.OWN_NUMBER: T("One of the company's own numbers.", "Een eigen nummer van het bedrijf."),
    IgnoreReason.POP_OFF: T("Opening cards is switched off.", "Kaarten openen staat uit."),
    IgnoreReason.OUTGOING: T("Outgoing call.", "Uitgaand gesprek."),
    IgnoreReason.NOT_POP_STATE: T(
        "Not the moment to open the card (see the pop setting).",
        "Niet het moment om de kaart te openen (zie de instelling).",
    ),
    IgnoreReason.DUPLICATE: T("The card for this call is already open.",
                              "De kaart voor dit gesprek is al geopend."),
    IgnoreReason.NO_TEMPLATE: T(
        "The InSite URL template is missing or lacks <BCID>/<BCCO> (or <BCCO> asks for a number"
        " the relation does not have).",
        "Het URL sjabloon ontbreekt of bevat geen <BCID>/<BCCO> (of <BCCO> vraagt een nummer"
        " dat de relatie niet heeft).",
    ),
}


@dataclass(frozen=True)
class OpenCard:
    url: str
    match: Match


@dataclass(frozen=True)
class Candidate:
    name: str
    kind: RelationKind
    bcid: str
    url: str
    match: Match


@dataclass(frozen=True)
class Choice:
    number: str  # normalised (E.164): hand it back to CallRouter.remember_choice
    candidates: tuple[Candidate, ...]
    default_index: int = 0
    call_id: str = ""

    @property
    def default(self) -> Candidate:
        return self.candidates[self.default_index]


@dataclass(frozen=True)
class UnknownCaller:
    number: str  # as the telephony system sent it
    normalised: str  # E.164
    search_url: str | None  # from pop.unknown_url_template; None when that is empty


@dataclass(frozen=True)
class Ignored:
    reason: IgnoreReason


Decision = OpenCard | Choice | UnknownCaller | Ignored


@dataclass(frozen=True)
class RecentCall:
    call_id: str
    number: str
    normalised: str
    time: float  # event time (epoch seconds) of the call's first event
    direction: Direction
    state: CallState  # the latest state seen
    source: CallSource
    popped: bool
    match_count: int  # distinct relations; >1 means the user got a choice
    match_bcid: str  # the opened (or default) relation; "" when unknown
    match_name: str
    match_kind: RelationKind | None
    match_contact_id: str  # the contact person, when the number was a contact's own
    match_contact_name: str
    ended: float | None = None  # event time of the hang-up (or transfer), when one was seen
    match_number: str = ""  # the relation's number (BcCo), for a template with <BCCO>

    @property
    def duration(self) -> int | None:
        """Seconds from the first event to the hang-up; None while unknown."""
        if self.ended is None or self.ended < self.time:
            return None
        return round(self.ended - self.time)


# --- URLs ----------------------------------------------------------------------------------------


def _fill_template(template: str, placeholder: str, value: str) -> str | None:
    tpl = template.strip()
    if placeholder not in tpl or urlsplit(tpl).scheme not in ("http", "https"):
        return None
    # Fully encoded (safe=""), so a value can never add a path, query or fragment of its own.
    return tpl.replace(placeholder, quote(value, safe=""))


CARD_PLACEHOLDERS = ("<BCID>", "<BCCO>")


def card_url(template: str, bcid: str, number: str = "") -> str | None:
    """The InSite card URL of a relation: ``<BCID>`` takes its internal BcId, ``<BCCO>`` its
    number (which one the consultant's InSite page takes is that page's definition). None when
    the template is unusable, or asks for the number of a relation whose number is unknown."""
    tpl = template.strip()
    if not any(p in tpl for p in CARD_PLACEHOLDERS) or urlsplit(tpl).scheme not in ("http", "https"):
        return None
    if "<BCCO>" in tpl and not number:
        return None
    # Fully encoded (safe=""), so a value can never add a path, query or fragment of its own.
    return tpl.replace("<BCID>", quote(bcid, safe="")).replace("<BCCO>", quote(number, safe=""))


def unknown_url(template: str, normalised: str) -> str | None:
    """The unknown-caller page for a number; None when no (usable) template is set."""
    return _fill_template(template, "<NUMBER>", normalised)


# --- numbers -------------------------------------------------------------------------------------


def _bare_country_code(raw: str) -> bool:
    """Exchanges send a bare country code ("+31", "0031") for a withheld number."""
    s = raw.strip()
    digits = sum(ch.isdigit() for ch in s)
    return (s.startswith("+") and digits <= 3) or (s.startswith("00") and digits <= 5)


# --- relations -----------------------------------------------------------------------------------


def relations(matches: Iterable[Match]) -> list[Match]:
    """One match per distinct relation (BcId), best-ranked relation first.

    An organisation found together with its own contact persons, or one relation found through
    several columns, is one relation. Its representative says where a report goes: the relation's
    own row when its number matched (a shared main number: report to the organisation only), else
    the contact when exactly one contact has this number, else the relation without a contact.
    """
    groups: dict[str, list[Match]] = {}
    for m in sorted(matches, key=lambda m: m.rank):  # stable: equal ranks keep lookup order
        if m.bcid.strip():  # a row without BcId cannot open a card
            groups.setdefault(m.bcid, []).append(m)
    out = []
    for group in groups.values():
        own = [m for m in group if m.kind is not RelationKind.CONTACT]
        if own:
            out.append(own[0])
        elif len({m.contact_id for m in group}) == 1:
            out.append(group[0])
        else:
            out.append(replace(group[0], contact_id="", contact_name=""))
    return out


# --- the router ----------------------------------------------------------------------------------


@dataclass
class _Call:
    call_id: str
    normalised: str
    seen: float  # router clock, last event
    row_id: int | None = None
    popped: bool = False
    relations: list[Match] | None = None
    matches_stored: bool = False
    shown: Match | None = None  # the relation shown in recent calls (opened or default)
    picked: str = ""  # BcId the operator picked in the choice for this call


class CallRouter:
    """Turns call events into decisions and hands them to the opener; keeps recent calls."""

    def __init__(
        self,
        lookup: Callable[[str], list[Match]],
        settings: Settings,
        opener: Opener,
        conn: sqlite3.Connection,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.settings = settings  # replaceable when the user saves new settings
        self.opener = opener
        self._conn = conn
        self._clock = clock
        self._lock = threading.RLock()
        self._calls: OrderedDict[str, _Call] = OrderedDict()  # by call id
        self._by_number: dict[str, _Call] = {}  # latest call per number (calls without an id)
        self._popped_numbers: dict[str, float] = {}  # number -> clock of its last pop/activity
        self._own_key: tuple[tuple[str, ...], str] | None = None
        self._own: frozenset[str] = frozenset()
        self._pending: deque[tuple[CallEvent, _Call, str]] = deque(maxlen=_MAX_PENDING)
        ensure_schema(conn, MODULE, _MIGRATIONS)
        self._choices: dict[str, str] = {
            row[0]: row[1] for row in conn.execute("SELECT normalised, bcid FROM call_choices")
        }

    # -- classification ----------------------------------------------------------------------

    def _own_numbers(self) -> frozenset[str]:
        pop, region = self.settings.pop, self.settings.phone.default_region
        key = (tuple(pop.own_numbers), region)
        if key != self._own_key:
            self._own = frozenset(
                n for n in (normalise(raw, region) for raw in pop.own_numbers) if n
            )
            self._own_key = key
        return self._own

    def classify(self, number: str) -> tuple[IgnoreReason | None, str]:
        """(reason the number never pops, or None; its E.164 form when it has one)."""
        if is_anonymous(number) or _bare_country_code(number):
            return IgnoreReason.ANONYMOUS, ""
        if is_internal(number, self.settings.pop.internal_max_digits):
            return IgnoreReason.INTERNAL, ""
        normalised = normalise(number, self.settings.phone.default_region)
        if normalised is None:
            return IgnoreReason.INVALID, ""
        if normalised in self._own_numbers():
            return IgnoreReason.OWN_NUMBER, normalised
        return None, normalised

    def is_loggable(self, number: str) -> bool:
        """False for withheld, junk, internal and own numbers: such calls are never logged."""
        return self.classify(number)[0] is None

    # -- the hot path ------------------------------------------------------------------------

    def handle(self, event: CallEvent) -> Decision:
        reason, normalised = self.classify(event.number)
        if reason is not None:
            log.debug("Call not handled: %s", reason)
            return Ignored(reason)
        with self._lock:
            now = self._clock()
            call = self._call_for(event.call_id, normalised, now)
            if call.relations is None:
                call.relations = self._resolve(normalised)
            decision = self._decide(event, call, normalised, now)
            if isinstance(decision, Ignored):
                if event.state is not CallState.HUNG_UP and self._number_recently_popped(
                    normalised, now
                ):
                    self._popped_numbers[normalised] = now  # ring → answer keeps the window open
            else:
                call.popped = True
                self._popped_numbers[normalised] = now
        self._dispatch(decision)
        with self._lock:
            self._pending.append((event, call, normalised))
            self._flush()
        return decision

    def _window(self) -> float:
        return float(self.settings.pop.dedupe_seconds)

    def _number_recently_popped(self, normalised: str, now: float) -> bool:
        at = self._popped_numbers.get(normalised)
        return at is not None and now - at < self._window()

    def _call_for(self, call_id: str, normalised: str, now: float) -> _Call:
        recent = self._by_number.get(normalised)
        if recent is not None and now - recent.seen >= self._window():
            recent = None
        if call_id:
            call = self._calls.get(call_id)
            if call is None:
                if recent is not None and not recent.call_id:
                    # The same call reached us first without an id (e.g. a trigger), now with one.
                    call = recent
                    call.call_id = call_id
                else:
                    call = self._restore(call_id, normalised, now)
                self._calls[call_id] = call
                while len(self._calls) > _MEMORY_CALLS:
                    self._calls.popitem(last=False)
            else:
                self._calls.move_to_end(call_id)
        else:
            call = recent or _Call("", normalised, now)
        call.seen = now
        self._by_number[normalised] = call
        if len(self._by_number) > _MEMORY_CALLS:
            self._forget_stale(now)
        return call

    def _forget_stale(self, now: float) -> None:
        window = self._window()
        self._by_number = {k: c for k, c in self._by_number.items() if now - c.seen < window}
        self._popped_numbers = {
            k: t for k, t in self._popped_numbers.items() if now - t < window
        }

    def _restore(self, call_id: str, normalised: str, now: float) -> _Call:
        """A call id not in memory: after a restart the store still knows whether it popped."""
        call = _Call(call_id, normalised, now)
        try:
            row = self._conn.execute(
                "SELECT id, popped FROM recent_calls WHERE call_id=? ORDER BY id DESC LIMIT 1",
                (call_id,),
            ).fetchone()
        except sqlite3.Error as exc:  # a damaged store must not stop the pop
            log.warning("Could not read recent calls: %s", exc)
            return call
        if row is not None:
            call.row_id, call.popped = int(row[0]), bool(row[1])
        return call

    def _resolve(self, normalised: str) -> list[Match]:
        try:
            found = self._lookup(normalised)
        except Exception:  # a phone book mid-refresh must not take the call sources down
            log.exception("Phone book lookup failed")
            found = []
        return relations(found)

    def _decide(self, event: CallEvent, call: _Call, normalised: str, now: float) -> Decision:
        rels = call.relations or []
        pop_on = self.settings.pop.on
        if rels:
            picked = next((m for m in rels if call.picked and m.bcid == call.picked), None)
            call.shown = picked or rels[self._default_index(normalised, rels)]
        if pop_on == "off":
            return Ignored(IgnoreReason.POP_OFF)
        if event.direction is Direction.OUTGOING:
            return Ignored(IgnoreReason.OUTGOING)
        pop_states = (
            (CallState.RINGING, CallState.ANSWERED) if pop_on == "ring" else (CallState.ANSWERED,)
        )
        if event.state not in pop_states:
            return Ignored(IgnoreReason.NOT_POP_STATE)
        if call.popped or self._number_recently_popped(normalised, now):
            return Ignored(IgnoreReason.DUPLICATE)
        if not rels:
            search = unknown_url(self.settings.pop.unknown_url_template, normalised)
            return UnknownCaller(event.number.strip(), normalised, search)
        template = self.settings.afas.insite_url_template
        if len(rels) == 1:
            url = card_url(template, rels[0].bcid, rels[0].number)
            if url is None:
                return Ignored(IgnoreReason.NO_TEMPLATE)
            return OpenCard(url, rels[0])
        candidates = []
        for m in rels:
            url = card_url(template, m.bcid, m.number)
            if url is None:
                return Ignored(IgnoreReason.NO_TEMPLATE)
            candidates.append(Candidate(m.name, m.kind, m.bcid, url, m))
        return Choice(
            normalised, tuple(candidates), self._default_index(normalised, rels), call.call_id
        )

    def _default_index(self, normalised: str, rels: Sequence[Match]) -> int:
        remembered = self._choices.get(normalised)
        for i, m in enumerate(rels):
            if m.bcid == remembered:
                return i
        return 0

    def _dispatch(self, decision: Decision) -> None:
        try:
            if isinstance(decision, OpenCard):
                self.opener.open_url(decision.url)
            elif isinstance(decision, Choice):
                self.opener.choose(decision)
            elif isinstance(decision, UnknownCaller):
                self.opener.unknown_caller(decision)
        except Exception:  # a broken opener must not lose the call record
            log.exception("Opening the caller's card failed")

    def _flush(self) -> None:
        """Write pending call records, waiting at most a moment for the database.

        Another connection may hold the write lock for seconds (the phone book being replaced);
        the next ringing call must not wait for it, so records stay queued until it is free.
        """
        if not self._pending:
            return
        conn = self._conn
        previous = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
        conn.execute(f"PRAGMA busy_timeout={_WRITE_WAIT_MS}")
        try:
            while self._pending:
                try:
                    self._record(*self._pending[0])
                except sqlite3.OperationalError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):
                        log.debug("Database busy; call record queued")
                        return
                    log.warning("Could not store a recent call: %s", exc)
                except sqlite3.Error as exc:  # the card is open; a broken store must not stop calls
                    log.warning("Could not store a recent call: %s", exc)
                self._pending.popleft()
        finally:
            conn.execute(f"PRAGMA busy_timeout={previous}")

    def _record(self, event: CallEvent, call: _Call, normalised: str) -> None:
        m = call.shown
        match_cols = (
            (m.bcid, m.name, m.kind.value, m.contact_id, m.contact_name, m.number) if m
            else ("",) * 6
        )
        count = len(call.relations or [])
        conn = self._conn
        row_id = call.row_id
        with transaction(conn):  # busy: raises at BEGIN, with nothing to undo
            if call.row_id is not None:
                conn.execute(
                    "UPDATE recent_calls SET call_id=?, updated=?, state=?, popped=?, match_count=?,"
                    " bcid=?, name=?, kind=?, contact_id=?, contact_name=?, bcco=? WHERE id=?",
                    (call.call_id, event.time, event.state.value, int(call.popped), count,
                     *match_cols, call.row_id),
                )
            else:
                cur = conn.execute(
                    "INSERT INTO recent_calls(call_id, number, normalised, started, updated,"
                    " direction, state, source, popped, match_count, bcid, name, kind, contact_id,"
                    " contact_name, bcco) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (call.call_id, event.number.strip(), normalised, event.time, event.time,
                     event.direction.value, event.state.value, event.source.value,
                     int(call.popped), count, *match_cols),
                )
                row_id = cur.lastrowid
                conn.execute(
                    "DELETE FROM recent_calls WHERE id <= ("
                    " SELECT id FROM recent_calls ORDER BY id DESC LIMIT 1 OFFSET ?)",
                    (RECENT_LIMIT,),
                )
            store_matches = bool(call.call_id) and not call.matches_stored
            if store_matches:
                self._store_matches(call, normalised)
        call.row_id = row_id
        call.matches_stored = call.matches_stored or store_matches

    def _store_matches(self, call: _Call, normalised: str) -> None:
        at = time.time()
        self._conn.execute("DELETE FROM call_matches WHERE at < ?", (at - _MATCH_KEEP_SECONDS,))
        self._conn.execute("DELETE FROM call_matches WHERE call_id=?", (call.call_id,))
        self._conn.executemany(
            "INSERT INTO call_matches(call_id, position, normalised, bcid, name, kind, phone,"
            " column_name, contact_id, contact_name, connector, rank, at, bcco)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (call.call_id, i, normalised, m.bcid, m.name, m.kind.value, m.phone, m.column,
                 m.contact_id, m.contact_name, m.connector, m.rank, at, m.number)
                for i, m in enumerate(call.relations or [])
            ],
        )

    # -- for the tray and the call-report pipeline -------------------------------------------

    def recent_calls(self, limit: int = RECENT_LIMIT) -> list[RecentCall]:
        """The latest calls, newest first."""
        with self._lock:
            self._flush()
            rows = self._conn.execute(
                "SELECT call_id, number, normalised, started, direction, state, source, popped,"
                " match_count, bcid, name, kind, contact_id, contact_name, updated, bcco"
                " FROM recent_calls ORDER BY id DESC LIMIT ?",
                (max(0, min(limit, RECENT_LIMIT)),),
            ).fetchall()
        return [
            RecentCall(
                call_id=r[0], number=r[1], normalised=r[2], time=r[3], direction=Direction(r[4]),
                state=CallState(r[5]), source=CallSource(r[6]), popped=bool(r[7]),
                match_count=r[8], match_bcid=r[9], match_name=r[10],
                match_kind=RelationKind(r[11]) if r[11] else None, match_contact_id=r[12],
                match_contact_name=r[13], match_number=r[15],
                ended=r[14] if r[5] in _ENDED_STATES else None,
            )
            for r in rows
        ]

    def match_for_call(self, call_id: str) -> list[Match]:
        """The relation(s) a call matched, one per relation; the user's remembered choice first.

        Empty for an unknown caller, or a call id this router never saw (or saw > 14 days ago).
        """
        if not call_id:
            return []
        with self._lock:
            call = self._calls.get(call_id)
            if call is not None and call.relations is not None:  # also while a write is queued
                return self._preferred_first(call.normalised, call.picked, call.relations)
            rows = self._conn.execute(
                "SELECT normalised, bcid, name, kind, phone, column_name, contact_id, contact_name,"
                " connector, rank, bcco FROM call_matches WHERE call_id=? ORDER BY position",
                (call_id,),
            ).fetchall()
            if not rows:
                return []
            pick = self._conn.execute(
                "SELECT bcid FROM call_picks WHERE call_id=?", (call_id,)
            ).fetchone()
            return self._preferred_first(
                rows[0][0],
                pick[0] if pick else "",
                [
                    Match(bcid=r[1], name=r[2], kind=RelationKind(r[3]), phone=r[4],
                          column=r[5], contact_id=r[6], contact_name=r[7], connector=r[8],
                          rank=r[9], number=r[10])
                    for r in rows
                ],
            )

    def _preferred_first(self, normalised: str, picked: str, matches: Sequence[Match]) -> list[Match]:
        """This call's pick first, else the number's remembered choice; rank order otherwise."""
        preferred = picked or self._choices.get(normalised)
        return sorted(matches, key=lambda m: m.bcid != preferred)

    def record_pick(self, call_id: str, bcid: str, *, number: str = "") -> None:
        """The operator picked ``bcid`` in this call's choice: its report goes to that relation.

        (``remember_choice`` additionally makes it the default for the number's later calls.)
        A call without an id (a trigger, the command line) is found by its ``number`` while it
        is the number's latest call: recent calls then show the pick, the report dialog offers it.
        """
        if not call_id:
            normalised = normalise(number, self.settings.phone.default_region) if number else None
            with self._lock:
                latest = self._by_number.get(normalised or "")
                if latest is not None and not latest.call_id:
                    latest.picked = bcid
                    self._show_pick(latest, bcid)
            return
        with self._lock:
            call = self._calls.get(call_id)
            if call is not None:
                call.picked = bcid
                self._show_pick(call, bcid)
            now = time.time()
            self._conn.execute("DELETE FROM call_picks WHERE at < ?", (now - _MATCH_KEEP_SECONDS,))
            self._conn.execute(
                "INSERT INTO call_picks(call_id, bcid, at) VALUES (?,?,?)"
                " ON CONFLICT(call_id) DO UPDATE SET bcid=excluded.bcid, at=excluded.at",
                (call_id, bcid, now),
            )

    def _show_pick(self, call: _Call, bcid: str) -> None:
        """Recent calls name (and "Open card" opens) the picked relation from now on."""
        pick = next((m for m in call.relations or [] if m.bcid == bcid), None)
        if pick is None or pick is call.shown:
            return
        call.shown = pick
        if call.row_id is None:
            return  # still queued: the record is written with the pick
        try:
            self._conn.execute(
                "UPDATE recent_calls SET bcid=?, name=?, kind=?, contact_id=?, contact_name=?"
                " WHERE id=?",
                (pick.bcid, pick.name, pick.kind.value, pick.contact_id, pick.contact_name,
                 call.row_id),
            )
        except sqlite3.Error as exc:
            log.warning("Could not store the pick in recent calls: %s", exc)

    def picked_for_call(self, call_id: str) -> str:
        """The BcId the operator picked for this call (``record_pick``); "" when none."""
        if not call_id:
            return ""
        with self._lock:
            call = self._calls.get(call_id)
            if call is not None and call.picked:
                return call.picked
            try:
                row = self._conn.execute(
                    "SELECT bcid FROM call_picks WHERE call_id=?", (call_id,)
                ).fetchone()
            except sqlite3.Error as exc:
                log.warning("Could not read the picks: %s", exc)
                return ""
        return str(row[0]) if row else ""

    def remember_choice(self, number: str, bcid: str) -> None:
        """The user picked ``bcid`` for ``number``: it becomes the default of later choices."""
        normalised = normalise(number, self.settings.phone.default_region)
        if normalised is None:
            raise ValueError("not a phone number")
        with self._lock:
            self._choices[normalised] = bcid
            self._conn.execute(
                "INSERT INTO call_choices(normalised, bcid, saved) VALUES (?,?,?)"
                " ON CONFLICT(normalised) DO UPDATE SET bcid=excluded.bcid, saved=excluded.saved",
                (normalised, bcid, time.time()),
            )
