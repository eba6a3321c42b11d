"""Helpers for the outbox tests: report items, a body-checking transport, and the child process
that the crash test kills (``python -m tests.helpers.outbox DB URL SETTLE`` from the repository
root)."""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx

from afas_tray.afas import AfasClient
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN, ORG_BCID_BASE, ORG_NUMBER_BASE
from afas_tray.models import ReportItem
from afas_tray.reports.outbox import Outbox
from tests.helpers import SPECS

TOKEN_DATA = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
SUBJECTS = "Profit_Subjects"
# AFAS's own published OpenAPI file for dossier items, kept with the tests (CI has no ../shared).
SPEC = SPECS / "afas" / "dossiers-en-bijlagen.openapi.json"
ORG_BCID = KNOWN["org_unique"].bcids[0]
CONTACT_BCID = KNOWN["contact_direct"].bcids[0]


def org_number(bcid: str) -> str:
    """The number (BcCo) of the simulated organisation with this internal BcId."""
    return str(ORG_NUMBER_BASE + (int(bcid) - ORG_BCID_BASE) // 2)


# What the app links with by default (afas.connectors.link_by = number): the relation's number,
# which is also what Profit_Subjects' OrgPersId holds, so the lookup filters on it.
ORG_NUMBER = org_number(ORG_BCID)
CONTACT_ORG_NUMBER = org_number(CONTACT_BCID)
CONTACT_ID = KNOWN["contact_direct"].contact_ids[0]
MARKER_RE = re.compile(r"\{afas-tray:([a-z0-9-]+)\}")


def spec_path() -> Path:
    """The AFAS OpenAPI file: kept under tests/specs, or a newer one under $AFAS_SPECS."""
    env = os.environ.get("AFAS_SPECS")
    return Path(env) / "dossiers-en-bijlagen.openapi.json" if env else SPEC


def knsubject_schema() -> dict[str, Any]:
    """``KnSubject_POST`` from AFAS's spec, with ``SbId`` no longer required.

    The schema marks ``SbId`` required (in the item and in each KnSubjectLink), but that is the
    key of the item being created: AFAS's own insert examples leave it out and Profit assigns it.
    Everything else is checked as AFAS publishes it.
    """
    spec = json.loads(spec_path().read_text(encoding="utf-8"))
    schema = copy.deepcopy(spec["components"]["schemas"]["KnSubject_POST"])
    element = schema["properties"]["KnSubject"]["properties"]["Element"]
    fields = element["properties"]["Fields"]
    fields["required"] = [f for f in fields.get("required", []) if f != "SbId"]
    for holder in element["properties"]["Objects"]["items"]["properties"].values():
        inner = holder["properties"]["Element"]["items"]["properties"]["Fields"]
        if "required" in inner:
            inner["required"] = [f for f in inner["required"] if f != "SbId"]
    return schema


def make_item(
    key: str,
    spool: Path | None = None,
    *,
    audio: bytes = b"",
    bcid: str = ORG_NUMBER,
    contact_id: str = "",
    subject: str = "",
    text: str = "Klant belde over de offerte.",
    dossier_type: int = 7,
    link_by: str = "number",
) -> ReportItem:
    """A report; with ``audio`` the recording is written to ``spool``."""
    audio_file = ""
    if audio:
        assert spool is not None
        spool.mkdir(parents=True, exist_ok=True)
        path = spool / f"{key}.mp3"
        path.write_bytes(audio)
        audio_file = str(path)
    return ReportItem(
        key=key, call_id=f"call-{key}", bcid=bcid, subject=subject or f"Gesprek {key}", text=text,
        date="2026-11-25T14:03:00", dossier_type=dossier_type, contact_id=contact_id,
        audio_file=audio_file, audio_name=f"gesprek-{key}.mp3" if audio else "", link_by=link_by,
    )


def marker_counts(sim: AfasSimulator) -> collections.Counter[str]:
    """How often each call's marker occurs in the dossier items the simulated AFAS holds."""
    counts: collections.Counter[str] = collections.Counter()
    for subject in list(sim.subjects):
        counts.update(MARKER_RE.findall(subject.text))
    return counts


class CheckingTransport(httpx.AsyncBaseTransport):
    """Real HTTP to the simulator, keeping every KnSubject body sent. With ``max_body`` it plays
    a proxy in front of AFAS whose request limit is lower than Profit's: it answers 413 itself."""

    def __init__(self, max_body: int | None = None, *, db: Path | None = None) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.max_body = max_body
        self.bodies: list[dict[str, Any]] = []
        self.refused = 0
        # With ``db``: the outbox row of each POST as another process would read it from the file
        # the moment the request leaves (key -> (state, attempts)).
        self._db = db
        self.rows_at_post: dict[str, tuple[str, int]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.lower().endswith("/connectors/knsubject"):
            content = request.content
            if self._db is not None:
                key = MARKER_RE.findall(content.decode())[-1]
                conn = sqlite3.connect(self._db)
                try:
                    state, attempts = conn.execute(
                        "SELECT state, attempts FROM outbox_items WHERE key=?", (key,)).fetchone()
                finally:
                    conn.close()
                self.rows_at_post[key] = (str(state), int(attempts))
            if self.max_body is not None and len(content) > self.max_body:
                self.refused += 1
                return httpx.Response(413, request=request)
            self.bodies.append(json.loads(content))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def fast_client(url: str, *, timeout: float = 2.0, retries: int = 4, transport: httpx.AsyncBaseTransport | None = None) -> AfasClient:
    """A client with short waits, so fault tests stay fast."""
    return AfasClient(url, TOKEN_DATA, timeout=timeout, retries=retries, backoff_base=0.01,
                      backoff_cap=0.05, transport=transport)


# --- the crash test's child ---------------------------------------------------------------------


async def _child(db: str, url: str, settle: float) -> None:
    outbox = Outbox(db, settle_seconds=settle, processing_window=max(1.0, settle * 5),
                    backoff_base=0.05, backoff_cap=0.2)
    async with fast_client(url, timeout=5.0) as client:
        print("ready", flush=True)
        while True:
            result = await outbox.drain(client, subjects_connector=SUBJECTS)
            print(json.dumps({"sent": result.sent, "recovered": result.recovered, "failed": result.failed,
                              "backlog": result.backlog}), flush=True)
            if result.backlog == 0 or result.paused:
                break
            await asyncio.sleep(result.next_due or 0.01)


if __name__ == "__main__":
    asyncio.run(_child(sys.argv[1], sys.argv[2], float(sys.argv[3])))
