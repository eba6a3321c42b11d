"""Push the phone book's AFAS relations into Xelion's own address book (as the hosted koppeling
does), so every Xelion client and desk phone shows the caller's name.

Organisations become Organisation entries, persons Person entries, and a contact person a Person
employed by its organisation (``employments``); numbers go as ``telecomAddresses`` in Xelion's
format (E.164: international, delimiters dropped — the phone book's match keys), ``Mobile`` for
mobile columns, ``Telephone`` otherwise (``resources/addressables_set.html`` shows both).

The guide's Addressable pages show no field for a web address (no ``url``/``website`` field and no
such ``addressType`` in the stored pages), so the InSite card URL is not sent.

Idempotent and incremental: table ``ab_map`` (module ``addressbook``) maps each AFAS relation
(role, key) to its Xelion oid with a fingerprint of what was pushed. A plan compares the phone
book with that table, so a run sends only what changed since the last push: creates, updates,
removals. Before creating, an existing entry with the same name and one of the numbers is adopted
instead. An entry is only removed when this app created it (``ours``). An update reads the entry
and writes back only the changes: numbers this app pushed and AFAS no longer has are removed,
new ones added; numbers and fields a Xelion user added by hand stay.

Resumable: a create is marked ``pending`` before it is sent and ``done`` with its oid after; a
run that died in between finds the entry by name and number on the next run (and knows it is
its own). Paced requests and 429 back-off live in ``afas_tray.xelion.addressables``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from afas_tray.i18n import T, Text
from afas_tray.numbers import normalise
from afas_tray.phonebook.book import BookEntry, PhoneBook
from afas_tray.store import ensure_schema, open_db
from afas_tray.xelion import AddressablesApi, Summary

log = logging.getLogger(__name__)

MODULE = "addressbook"
MIGRATIONS = [
    "CREATE TABLE ab_map (role TEXT NOT NULL, key TEXT NOT NULL, oid TEXT NOT NULL DEFAULT '',"
    " ours INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, fingerprint TEXT NOT NULL DEFAULT '',"
    " pushed TEXT NOT NULL DEFAULT '{}', at REAL NOT NULL DEFAULT 0, PRIMARY KEY(role, key))"
    " WITHOUT ROWID",
]
# With more creates than this, one listing of the whole address book (by pages) is cheaper than
# a name search per create.
LIST_THRESHOLD = 40
# The app's pace towards Xelion: the guide gives no number; a few requests a second keeps a
# first push of 10,000 relations under an hour and out of the way of the desk's own requests.
APP_RATE = 8.0
_MOBILE_WORDS = ("mob", "gsm", "cell")


@dataclass(frozen=True)
class Desired:
    """What Xelion should hold for one AFAS relation."""

    role: str
    key: str
    kind: str  # "Person" or "Organisation"
    name: str
    numbers: tuple[tuple[str, str], ...]  # (E.164, addressType)
    org_key: str = ""  # a contact's organisation (its key in the phone book)

    @property
    def fingerprint(self) -> str:
        text = json.dumps([self.kind, self.name, self.numbers, self.org_key])
        return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Mapped:
    role: str
    key: str
    oid: str
    ours: bool
    state: str  # "pending" or "done"
    fingerprint: str
    pushed: dict[str, Any]  # {"name": …, "numbers": […], "org_oid": …}


@dataclass
class Plan:
    creates: list[Desired] = field(default_factory=list)
    updates: list[tuple[Desired, Mapped]] = field(default_factory=list)
    removals: list[Mapped] = field(default_factory=list)  # created by this app, gone from AFAS
    forgets: list[Mapped] = field(default_factory=list)  # adopted entries gone from AFAS
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.creates or self.updates or self.removals or self.forgets)

    def describe(self) -> Text:
        c, u, r = len(self.creates), len(self.updates), len(self.removals)
        return T(f"{c:,} to create (or adopt), {u:,} to update, {r:,} to remove, "
                 f"{self.unchanged:,} unchanged",
                 f"{c:,} aan te maken (of over te nemen), {u:,} bij te werken, {r:,} te "
                 f"verwijderen, {self.unchanged:,} ongewijzigd")


@dataclass
class PushResult:
    created: int = 0
    adopted: int = 0
    updated: int = 0
    removed: int = 0
    failed: int = 0
    requests: int = 0
    peak_in_flight: int = 0
    seconds: float = 0.0
    interrupted: Text | None = None

    def summary(self) -> Text:
        en = (f"Xelion address book: {self.created:,} created, {self.adopted:,} adopted, "
              f"{self.updated:,} updated, {self.removed:,} removed, {self.failed:,} failed; "
              f"{self.requests:,} requests in {self.seconds:.1f} s")
        nl = (f"Xelion-adresboek: {self.created:,} aangemaakt, {self.adopted:,} overgenomen, "
              f"{self.updated:,} bijgewerkt, {self.removed:,} verwijderd, {self.failed:,} mislukt; "
              f"{self.requests:,} verzoeken in {self.seconds:.1f} s")
        if self.interrupted is not None:
            en += f" (stopped: {self.interrupted.en})"
            nl += f" (gestopt: {self.interrupted.nl})"
        return T(en + ".", nl + ".")


Progress = Callable[[int, int], None]


def _address_type(column: str) -> str:
    low = column.lower()
    if any(w in low for w in _MOBILE_WORDS) or low.endswith("mb"):
        return "Mobile"
    return "Telephone"


def _norm_name(name: str) -> str:
    return " ".join(name.split()).casefold()


def desired_entries(entries: Iterable[BookEntry]) -> list[Desired]:
    """The phone book's relations as Xelion entries: organisations first (a contact's
    employment needs its organisation's oid), then persons and contact persons."""
    entries = list(entries)
    org_by_ref: dict[str, str] = {}
    for e in entries:
        if e.role == "organisations":
            org_by_ref.setdefault(e.key, e.key)
            if e.bcid:
                org_by_ref.setdefault(e.bcid, e.key)
    out: list[Desired] = []
    for e in sorted(entries, key=lambda x: 0 if x.role == "organisations" else 1):
        if not e.name.strip():
            continue  # Xelion needs a name; AFAS rows without one are not pushed
        numbers: dict[str, str] = {}
        for column, number in e.numbers:
            numbers.setdefault(number, _address_type(column))
        kind = "Organisation" if e.role == "organisations" else "Person"
        org_key = org_by_ref.get(e.org, "") if e.role == "contacts" and e.org else ""
        out.append(Desired(e.role, e.key, kind, e.name.strip(), tuple(numbers.items()), org_key))
    return out


class AddressBookSync:
    """Plan and apply the push. ``db_path``: the app's state database (table ``ab_map``)."""

    def __init__(self, book: PhoneBook, db_path: Path | str, region: str = "NL") -> None:
        self.book = book
        self.region = region
        self._conn = open_db(db_path)
        ensure_schema(self._conn, MODULE, MIGRATIONS)

    def close(self) -> None:
        self._conn.close()

    # -- mapping -------------------------------------------------------------------------------

    def mapped(self) -> dict[tuple[str, str], Mapped]:
        rows = self._conn.execute(
            "SELECT role, key, oid, ours, state, fingerprint, pushed FROM ab_map").fetchall()
        return {(r[0], r[1]): Mapped(r[0], r[1], r[2], bool(r[3]), r[4], r[5], json.loads(r[6]))
                for r in rows}

    def _put(self, d: Desired | Mapped, *, oid: str, ours: bool, state: str, fingerprint: str,
             pushed: Mapping[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO ab_map(role, key, oid, ours, state, fingerprint, pushed, at)"
            " VALUES(?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(role, key) DO UPDATE SET"
            " oid = excluded.oid, ours = excluded.ours, state = excluded.state,"
            " fingerprint = excluded.fingerprint, pushed = excluded.pushed, at = excluded.at",
            (d.role, d.key, oid, int(ours), state, fingerprint, json.dumps(dict(pushed)),
             time.time()))

    def _drop(self, m: Mapped) -> None:
        self._conn.execute("DELETE FROM ab_map WHERE role = ? AND key = ?", (m.role, m.key))

    # -- plan ------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        """What a push would do now; reads only local data (no request)."""
        desired = desired_entries(self.book.entries())
        mapped = self.mapped()
        plan = Plan()
        seen: set[tuple[str, str]] = set()
        for d in desired:
            ident = (d.role, d.key)
            seen.add(ident)
            m = mapped.get(ident)
            if m is None or m.state != "done" or not m.oid:
                plan.creates.append(d)
            elif m.fingerprint != d.fingerprint:
                plan.updates.append((d, m))
            else:
                plan.unchanged += 1
        for ident, m in mapped.items():
            if ident in seen:
                continue
            if m.ours and m.oid:
                plan.removals.append(m)
            else:
                plan.forgets.append(m)
        return plan

    # -- apply -----------------------------------------------------------------------------------

    async def push(self, api: AddressablesApi, plan: Plan | None = None, *,
                   progress: Progress | None = None, workers: int = 2) -> PushResult:
        """Carry out ``plan`` (default: a fresh one). Stops at the first error that is not about
        one entry (server unreachable, session refused), leaving a state the next run resumes."""
        from afas_tray.xelion import XelionError, XelionRequestError

        plan = plan or self.plan()
        result = PushResult()
        started = time.monotonic()
        requests_before = api.stats.requests
        total = len(plan.creates) + len(plan.updates) + len(plan.removals)
        done = [0]

        def tick() -> None:
            done[0] += 1
            if progress is not None:
                progress(done[0], total)

        for m in plan.forgets:
            self._drop(m)
        oids = {(m.role, m.key): m.oid for m in self.mapped().values() if m.oid}
        index: dict[tuple[str, str], list[Summary]] | None = None
        if len(plan.creates) > LIST_THRESHOLD:
            index = await self._index(api)

        async def one(job: tuple[str, Any]) -> None:
            kind, item = job
            try:
                if kind == "create":
                    await self._create(api, item, oids, index, result)
                elif kind == "update":
                    await self._update(api, item[0], item[1], oids, result)
                else:
                    if await api.remove(item.oid):
                        result.removed += 1
                    self._drop(item)
            except XelionRequestError as exc:  # this entry was refused; the rest can go on
                result.failed += 1
                log.warning("Xelion refused %s of %s %s: %s", kind, item_role(item),
                            item_key(item), exc)
            tick()

        try:
            # Organisations first: contacts' employments point at them.
            orgs = [("create", d) for d in plan.creates if d.role == "organisations"] + \
                   [("update", u) for u in plan.updates if u[0].role == "organisations"]
            rest = [("create", d) for d in plan.creates if d.role != "organisations"] + \
                   [("update", u) for u in plan.updates if u[0].role != "organisations"] + \
                   [("remove", m) for m in plan.removals if m.role != "organisations"]
            last = [("remove", m) for m in plan.removals if m.role == "organisations"]
            for batch in (orgs, rest, last):
                await _run_jobs(batch, one, workers)
        except XelionError as exc:
            result.interrupted = exc.text
        result.requests = api.stats.requests - requests_before
        result.peak_in_flight = api.stats.peak_in_flight
        result.seconds = time.monotonic() - started
        return result

    async def _index(self, api: AddressablesApi) -> dict[tuple[str, str], list[Summary]]:
        index: dict[tuple[str, str], list[Summary]] = {}
        for kind in ("Organisation", "Person"):
            async for page in api.list_all(kind):
                for s in page:
                    index.setdefault((kind, _norm_name(s.common_name)), []).append(s)
        return index

    def _numbers_of(self, obj: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """E.164 -> the entry's own telecom address object."""
        out: dict[str, dict[str, Any]] = {}
        for t in obj.get("telecomAddresses") or []:
            if isinstance(t, dict) and t.get("addressType") != "Email":
                key = normalise(str(t.get("address") or ""), self.region)
                if key:
                    out.setdefault(key, t)
        return out

    async def _find_existing(self, api: AddressablesApi, d: Desired,
                             index: dict[tuple[str, str], list[Summary]] | None,
                             taken: set[str]) -> dict[str, Any] | None:
        """An entry with the same name and (one of) the same numbers, to adopt."""
        if index is not None:
            candidates = index.get((d.kind, _norm_name(d.name)), [])
        else:
            found = await api.search_name(d.name, d.kind)
            candidates = [s for s in found if _norm_name(s.common_name) == _norm_name(d.name)]
        wanted = {n for n, _t in d.numbers}
        for cand in candidates:
            if cand.oid in taken:
                continue
            obj = await api.get(cand.oid)
            if obj is None:
                continue
            have = set(self._numbers_of(obj))
            if (wanted & have) or (not wanted and not have):
                return obj
        return None

    async def _create(self, api: AddressablesApi, d: Desired, oids: dict[tuple[str, str], str],
                      index: dict[tuple[str, str], list[Summary]] | None,
                      result: PushResult) -> None:
        prior = self.mapped_one(d.role, d.key)
        # A pending row means an earlier run may have sent this create: whatever is found is ours.
        ours_if_found = prior is not None and prior.state == "pending" and prior.ours
        # Never adopt an entry another relation already maps to (AFAS can hold two relations
        # with the same name and number): both would then share, and remove, one entry.
        taken = set(oids.values())
        existing = await self._find_existing(api, d, index, taken)
        if existing is not None:
            oid = str(existing["oid"])
            adopted = Mapped(d.role, d.key, oid, ours_if_found, "done", "",
                             {"name": d.name, "numbers": [], "org_oid": ""})
            self._put(d, oid=oid, ours=ours_if_found, state="done", fingerprint="",
                      pushed=adopted.pushed)
            oids[(d.role, d.key)] = oid
            if ours_if_found:
                result.created += 1
            else:
                result.adopted += 1
            await self._update(api, d, adopted, oids, result, current=existing, count=False)
            return
        self._put(d, oid="", ours=True, state="pending", fingerprint="", pushed={})
        payload = self._new_payload(d, oids)
        obj = await api.create(payload)
        oid = str(obj["oid"])
        org_oid = payload["employments"][0]["organisation"]["oid"] if payload.get("employments") \
            else ""
        # A contact whose organisation is not in Xelion (yet) is looked at again next run.
        fingerprint = "" if d.org_key and not org_oid else d.fingerprint
        self._put(d, oid=oid, ours=True, state="done", fingerprint=fingerprint,
                  pushed={"name": d.name, "numbers": [n for n, _t in d.numbers],
                          "org_oid": org_oid})
        oids[(d.role, d.key)] = oid
        result.created += 1

    def mapped_one(self, role: str, key: str) -> Mapped | None:
        r = self._conn.execute(
            "SELECT role, key, oid, ours, state, fingerprint, pushed FROM ab_map"
            " WHERE role = ? AND key = ?", (role, key)).fetchone()
        if r is None:
            return None
        return Mapped(r[0], r[1], r[2], bool(r[3]), r[4], r[5], json.loads(r[6]))

    @staticmethod
    def _telecom(number: str, address_type: str) -> dict[str, Any]:
        return {"objectType": "TelecomAddress", "changeType": "Created", "oid": "",
                "addressType": address_type, "address": number, "label": ""}

    def _new_payload(self, d: Desired, oids: Mapping[tuple[str, str], str]) -> dict[str, Any]:
        # addressables_add.html: a person's whole name in familyName; Xelion splits it.
        payload: dict[str, Any] = {"objectType": d.kind}
        if d.kind == "Organisation":
            payload["name"] = d.name
        else:
            payload["familyName"] = d.name
        payload["telecomAddresses"] = [self._telecom(n, t) for n, t in d.numbers]
        org_oid = oids.get(("organisations", d.org_key), "") if d.org_key else ""
        if org_oid:
            payload["employments"] = [{
                "objectType": "Employee", "changeType": "Created", "oid": "",
                "organisation": {"oid": org_oid, "objectType": "Organisation"},
            }]
        return payload

    async def _update(self, api: AddressablesApi, d: Desired, m: Mapped,
                      oids: dict[tuple[str, str], str], result: PushResult, *,
                      current: dict[str, Any] | None = None, count: bool = True) -> None:
        """Read (unless given), change only what this app owns, write back (addressables_set)."""
        obj = current if current is not None else await api.get(m.oid)
        if obj is None:
            # Removed in Xelion by hand: make it again (it is still in AFAS).
            self._drop(m)
            await self._create(api, d, oids, None, result)
            return
        pushed_numbers = set(m.pushed.get("numbers") or [])
        wanted = dict(d.numbers)
        have = self._numbers_of(obj)
        changed = False
        telecoms: list[dict[str, Any]] = []
        for t in obj.get("telecomAddresses") or []:
            t = dict(t)
            key = normalise(str(t.get("address") or ""), self.region) if \
                t.get("addressType") != "Email" else None
            if key and key in pushed_numbers and key not in wanted:
                t["changeType"] = "Removed"
                changed = True
            else:
                t["changeType"] = "Unmodified"
            telecoms.append(t)
        added: set[str] = set()
        for number, address_type in d.numbers:
            if number not in have:
                telecoms.append(self._telecom(number, address_type))
                added.add(number)
                changed = True
        body = {k: v for k, v in obj.items() if k not in ("telecomAddresses", "employments",
                                                          "addresses", "links")}
        body["telecomAddresses"] = telecoms
        if m.pushed.get("name") != d.name and _norm_name(str(obj.get("commonName") or "")) \
                != _norm_name(d.name):
            changed = True
            if d.kind == "Organisation":
                body["name"] = d.name
            else:
                # The whole name in familyName as on create; the split parts are cleared so
                # they do not double up (the guide is silent on renaming).
                body.update({"familyName": d.name, "givenName": "", "namePrefix": "",
                             "initials": "", "nameSuffix": ""})
        org_oid = oids.get(("organisations", d.org_key), "") if d.org_key else ""
        old_org = str(m.pushed.get("org_oid") or "")
        if d.kind == "Person":
            employments: list[dict[str, Any]] = []
            present = False
            for e in obj.get("employments") or []:
                e = dict(e)
                org = e.get("organisation") if isinstance(e.get("organisation"), dict) else {}
                e_org = str((org or {}).get("oid") or "")
                if old_org and e_org == old_org and e_org != org_oid:
                    e["changeType"] = "Removed"
                    changed = True
                else:
                    e["changeType"] = "Unmodified"
                    present = present or (e_org == org_oid)
                employments.append(e)
            if org_oid and not present:
                employments.append({"objectType": "Employee", "changeType": "Created", "oid": "",
                                    "organisation": {"oid": org_oid,
                                                     "objectType": "Organisation"}})
                changed = True
            body["employments"] = employments
        if changed:
            body["changeType"] = "Modified"
            written = await api.write(m.oid, body)
            if written is None:
                self._drop(m)
                await self._create(api, d, oids, None, result)
                return
            if count:
                result.updated += 1
        # Ours from now on: what this app pushed and AFAS still has, and what it added now;
        # a number that was there by hand stays the user's.
        mine = sorted((pushed_numbers & set(wanted)) | added)
        fingerprint = "" if d.org_key and not org_oid else d.fingerprint
        self._put(d, oid=m.oid, ours=m.ours, state="done", fingerprint=fingerprint,
                  pushed={"name": d.name, "numbers": mine, "org_oid": org_oid})


def item_role(item: Any) -> str:
    return str(getattr(item, "role", None) or getattr(item[0], "role", ""))


def item_key(item: Any) -> str:
    return str(getattr(item, "key", None) or getattr(item[0], "key", ""))


async def _run_jobs(jobs: list[tuple[str, Any]], one: Callable[[tuple[str, Any]], Any],
                    workers: int) -> None:
    """Run ``jobs`` with ``workers`` at a time; the first error stops the rest and is raised."""
    if not jobs:
        return
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker() -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(job)

    tasks = [asyncio.ensure_future(worker()) for _ in range(max(1, min(workers, len(jobs))))]
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for task in done:
            exc = task.exception()
            if exc is not None:
                raise exc
    finally:
        for task in tasks:
            task.cancel()


__all__ = ["AddressBookSync", "Desired", "Plan", "PushResult", "desired_entries"]


class AppPusher:
    """The running app's side: after phone-book sync cycles, one push at a time; a cycle that
    ends while a push runs asks for one more run afterwards (never two at once)."""

    def __init__(self, book: PhoneBook, db_path: Path | str) -> None:
        self._book = book
        self._db_path = db_path
        self._sync: AddressBookSync | None = None
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self.last: PushResult | None = None

    def kick(self, client: Any, region: str) -> None:
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.ensure_future(self._run(client, region))

    async def _run(self, client: Any, region: str) -> None:
        while True:
            self._again = False
            try:
                if self._sync is None:
                    self._sync = AddressBookSync(self._book, self._db_path, region)
                self._sync.region = region
                plan = self._sync.plan()
                if not plan.empty:
                    self.last = await self._sync.push(AddressablesApi(client, rate=APP_RATE))
                    log.info("%s", self.last.summary().en)
            except Exception:
                log.exception("Xelion address-book push failed")
                return
            if not self._again:
                return

    async def wait(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._sync is not None:
            self._sync.close()
            self._sync = None
