"""Benchmark: push the phone book into the simulated Xelion's address book.

For each size: a first push of N relations into an empty address book (time, requests, peak in
flight), a run with nothing changed, and a steady-state run after 1 % of the relations changed a
number (requests should be proportional to the changes: two per update, read and write).
The simulated Xelion runs on its own thread, as a real server would elsewhere, and answers each
request after ``--latency`` seconds. ``--rate 0`` (the default) does not pace, to measure the
push's own cost; the time at the app's pace (8 requests/s) is printed beside it.

    python bench/xelion_addressbook.py [--sizes 10000,100000] [--latency 0.002] [--rate 0]

Verdict: PASS when every first push sends about one request per relation (< 1.05 per relation),
the unchanged run sends none, and the 1 % run sends at most 2.1 requests per changed relation.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the checkout on sys.path)

from afas_tray.config import ColumnMapping
from afas_tray.demo.xelion import SimulatorThread, XelionSimulator
from afas_tray.phonebook import PhoneBook
from afas_tray.phonebook.xelion_push import APP_RATE, AddressBookSync
from afas_tray.xelion import AddressablesApi, XelionClient

USER, PASSWORD, TENANT = "bench", "bench-wachtwoord", "bench"
ORG_MAP = ColumnMapping(id="BcCo", bcid="BcId", name="Name", phones=["TelWork"])
PERSON_MAP = ColumnMapping(id="BcCo", bcid="BcId", name="Name", phones=["TelWork", "MobWork"])
CONTACT_MAP = ColumnMapping(id="CdId", name="Name", phones=["TelWork", "MobWork"],
                            organisation="OrgBcId")


def rows(n: int, changed: set[int] | None = None) -> dict[str, list[dict[str, Any]]]:
    """N relations: 40 % organisations, 30 % persons, 30 % contact persons of an organisation."""
    changed = changed or set()
    orgs, persons, contacts = [], [], []
    n_orgs = max(1, n * 4 // 10)
    for i in range(n):
        tel = f"+3120{1000000 + i:07d}"
        mob = f"+316{10000000 + (i * 7919) % 89999999:08d}"
        if i in changed:
            mob = f"+316{99999999 - i:08d}"
        if i < n_orgs:
            orgs.append({"BcCo": str(i), "BcId": str(500000 + i), "Name": f"Organisatie {i}",
                         "TelWork": tel})
        elif i < n_orgs + n * 3 // 10:
            persons.append({"BcCo": str(i), "BcId": str(500000 + i), "Name": f"Persoon {i}",
                            "TelWork": tel, "MobWork": mob})
        else:
            contacts.append({"CdId": str(i), "Name": f"Contact {i}", "TelWork": "",
                             "MobWork": mob, "OrgBcId": str(500000 + i % n_orgs)})
    return {"organisations": orgs, "persons": persons, "contacts": contacts}


def fill(book: PhoneBook, data: dict[str, list[dict[str, Any]]]) -> None:
    maps = {"organisations": ORG_MAP, "persons": PERSON_MAP, "contacts": CONTACT_MAP}
    with book.begin_refresh() as builder:
        for role, items in data.items():
            for start in range(0, len(items), 1000):
                builder.add_rows(role, role, maps[role], items[start:start + 1000])
        builder.commit()


async def push_once(sync: AddressBookSync, url: str, rate: float, concurrency: int) -> Any:
    async with XelionClient(url, TENANT, USER, PASSWORD, "afas-tray-bench") as client:
        api = AddressablesApi(client, rate=rate, concurrency=concurrency)
        result = await sync.push(api, workers=concurrency)
    return result


def run_size(n: int, args: argparse.Namespace) -> tuple[bool, str]:
    work = Path(tempfile.mkdtemp(prefix="afas-tray-bench-ab-"))
    sim = XelionSimulator({USER: PASSWORD}, tenant=TENANT)
    sim.addressbook.latency = args.latency
    thread = SimulatorThread(sim)
    url = thread.start()
    try:
        book = PhoneBook(work / "phonebook.sqlite3")
        fill(book, rows(n))
        sync = AddressBookSync(book, work / "state.sqlite3")
        started = time.monotonic()
        first = asyncio.run(push_once(sync, url, args.rate, args.concurrency))
        wall = time.monotonic() - started
        held = len(sim.addressbook.objects)
        print(f"{n:>7,} relations, first push: {wall:7.1f} s, {first.requests:,} requests "
              f"({first.requests / n:.3f}/relation), peak in flight {first.peak_in_flight} "
              f"(server saw {sim.addressbook.peak_in_flight}), {held:,} entries; at the app's "
              f"pace ({APP_RATE:g}/s) ≈ {first.requests / APP_RATE / 60:.0f} min", flush=True)
        same = asyncio.run(push_once(sync, url, args.rate, args.concurrency))
        print(f"{'':>7}  nothing changed: {same.requests} requests", flush=True)
        # 1 % of the relations, spread over the persons and contact persons: a new mobile.
        want = max(1, n // 100)
        step = max(1, (n - n * 4 // 10) // want)
        changed = set(list(range(n * 4 // 10, n, step))[:want])
        fill(book, rows(n, changed))
        started = time.monotonic()
        steady = asyncio.run(push_once(sync, url, args.rate, args.concurrency))
        wall2 = time.monotonic() - started
        per = steady.requests / len(changed)
        print(f"{'':>7}  1 % changed ({len(changed):,} relations): {wall2:.1f} s, "
              f"{steady.requests:,} requests ({per:.2f} per change), {steady.updated:,} updated",
              flush=True)
        ok = (first.requests / n < 1.05 and first.failed == 0 and held == n
              and same.requests == 0 and per <= 2.1 and steady.updated == len(changed))
        sync.close()
        book.close()
        return ok, f"{n:,}: {wall:.0f} s"
    finally:
        thread.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--latency", type=float, default=0.002)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    results = [run_size(int(s), args) for s in args.sizes.split(",") if s.strip()]
    verdict = "PASS" if all(ok for ok, _ in results) else "FAIL"
    print(f"{verdict}: first push about one request per relation, nothing sent when nothing "
          f"changed, ~2 requests per changed relation ({'; '.join(t for _, t in results)})")


if __name__ == "__main__":
    main()
