"""Missed calls: Xelion's missedCallEvent (and unanswered calls in the log) → the store, the
status data, and with the setting on exactly one dossier item "Gemiste oproep" in AFAS."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from afas_tray.config import Settings
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.reports.missed import MissedCall, MissedCalls, from_call_log, unseen_missed_calls
from afas_tray.store import open_db
from afas_tray.system.paths import app_paths
from afas_tray.xelion import CallDetails, parse_missed_call
from tests.helpers.core import running_core, settings_for
from tests.helpers.wait import until


def _settings(afas: AfasSimulator, xelion: XelionSimulator, *, to_dossier: bool) -> Settings:
    settings = settings_for(afas, xelion)
    settings.dial.missed_to_dossier = to_dossier
    return settings


async def test_missed_call_event_is_stored_shown_in_status_and_filed_once(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    async with running_core(afas, xelion, _settings(afas, xelion, to_dossier=True)) as (core, _):
        known = KNOWN["org_unique"]
        call_id = xelion.dial.missed_call(known.written[0], "Receptie klant")
        await until(lambda: core.missed.unseen_count() == 1, what="the missed call")
        [row] = core.missed.recent()
        assert row.call_id == call_id and row.bcid == known.bcids[0] and not row.seen
        # `afas-tray status` data, read from the database file by another reader.
        [shown] = unseen_missed_calls(core.profile.paths.database_file)
        assert shown["call_id"] == call_id and shown["number"] == known.written[0]
        # The same call again (Xelion repeats, or the call log shows it): still one.
        xelion.dial.missed_call(known.written[0], call_id=call_id)
        core.add_missed(MissedCall(known.written[0], call_id=call_id, source="log"))
        await until(lambda: afas.subjects, timeout=30, what="the dossier item")
        await asyncio.sleep(0.5)
        [item] = afas.subjects
        assert item.subject == "Gemiste oproep" and item.bcid == known.bcids[0]
        assert "niet beantwoord" in item.text and item.st_id == 7
        assert core.missed.unseen_count() == 1
        assert core.missed.mark_seen() == 1
        assert core.missed.unseen_count() == 0
        assert unseen_missed_calls(core.profile.paths.database_file) == []


async def test_without_the_setting_no_dossier_item(
        servers: tuple[AfasSimulator, XelionSimulator]) -> None:
    afas, xelion = servers
    async with running_core(afas, xelion, _settings(afas, xelion, to_dossier=False)) as (core, _):
        xelion.dial.missed_call(KNOWN["org_unique"].written[0])
        await until(lambda: core.missed.unseen_count() == 1)
        await asyncio.sleep(1.0)
        assert afas.subjects == [] and core.outbox.backlog() == 0


def _store(settings: Settings | None = None, **kw: object) -> MissedCalls:
    return MissedCalls(open_db(":memory:"), settings or Settings(), **kw)  # type: ignore[arg-type]


def test_store_counts_marks_seen_and_refuses_junk() -> None:
    store = _store(is_loggable=lambda n: n.strip() not in ("anonymous", "201"))
    counts: list[int] = []
    store.on_change.append(counts.append)
    assert store.add(MissedCall("020 622 12 34", "Jansen", 1_700_000_000.0, "c1"))
    assert not store.add(MissedCall("020 622 12 34", "Jansen", 1_700_000_000.0, "c1"))
    assert not store.add(MissedCall("anonymous", call_id="c2"))
    assert not store.add(MissedCall("201", call_id="c3"))  # internal
    assert not store.add(MissedCall("", call_id="c4"))
    assert store.add(MissedCall("+31 6 1234 5678", time=1_700_000_100.0))  # no call id
    assert store.unseen_count() == 2 and counts == [1, 2]
    assert [r.number for r in store.recent()] == ["+31 6 1234 5678", "020 622 12 34"]
    assert store.mark_seen() == 2 and counts == [1, 2, 0]
    assert store.mark_seen() == 0 and counts == [1, 2, 0]
    assert [r.seen for r in store.recent()] == [True, True]


def test_unknown_or_ambiguous_number_is_kept_but_not_filed() -> None:
    from afas_tray.models import Match, RelationKind

    class Box:
        def __init__(self) -> None:
            self.items: list[object] = []

        def enqueue(self, item: object) -> bool:
            self.items.append(item)
            return True

    settings = Settings()
    settings.dial.missed_to_dossier = True
    settings.afas.dossier_item_type = 7
    two = [Match("1", "A", RelationKind.ORGANISATION), Match("2", "B", RelationKind.PERSON)]
    box = Box()
    store = _store(settings, outbox=box,
                   lookup=lambda n: two if n.startswith("020") else [])
    assert store.add(MissedCall("020 622 12 34", call_id="a"))
    assert store.add(MissedCall("030 123 45 67", call_id="b"))
    assert box.items == [] and store.unseen_count() == 2


def test_status_data_without_database() -> None:
    assert unseen_missed_calls(app_paths().data_dir / "nothing-here.sqlite3") == []


@pytest.mark.parametrize("frame", [
    {"messageType": "notification", "notificationType": "missedCallEvent",
     "notificationObject": {"date": "2026-12-01 08:15:00", "callId": "x1",
                            "caller": {"name": "Jansen", "number": "+31206221234"}}},
    {"notificationType": "missedCallEvent",
     "notification": {"date": "2026-12-01 08:15:00", "callId": "x1",
                      "callerNumber": "+31206221234", "callerName": "Jansen"}},
    {"date": "2026-12-01T08:15:00Z", "callId": "x1",
     "remote": {"commonName": "Jansen", "address": "+31206221234"}},
])
def test_parse_missed_call_reads_the_usual_spellings(frame: dict[str, object]) -> None:
    fields = parse_missed_call(frame)
    assert fields == {"number": "+31206221234", "name": "Jansen", "call_id": "x1",
                      "time": datetime(2026, 12, 1, 8, 15, tzinfo=UTC).timestamp()}


def test_parse_missed_call_ignores_other_frames() -> None:
    assert parse_missed_call({"notificationType": "activeChannelEvent",
                              "notificationObject": {"number": "1"}}) is None
    assert parse_missed_call("not json") is None
    assert parse_missed_call({"notificationType": "missedCallEvent",
                              "notificationObject": {"date": "2026-12-01 08:15:00"}}) is None


def test_unanswered_incoming_call_in_the_log_is_missed() -> None:
    def details(incoming: bool, seconds: int) -> CallDetails:
        return CallDetails(oid="1", call_id="c9", date=datetime(2026, 12, 1, tzinfo=UTC),
                           end_time=None, duration_sec=seconds, incoming=incoming,
                           number="+31206221234", other_name="Jansen", operator="op",
                           subject="", participants=())

    missed = from_call_log(details(True, 0))
    assert missed is not None and missed.call_id == "c9" and missed.source == "log"
    assert from_call_log(details(True, 12)) is None
    assert from_call_log(details(False, 0)) is None


def test_missed_submenu_lists_calls_and_opening_it_clears_the_count(qtbot: object) -> None:
    from types import SimpleNamespace

    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QMenu

    from afas_tray.status import Status
    from afas_tray.ui.dial_menu import badge_icon
    from afas_tray.ui.icons import tray_icon
    from afas_tray.ui.tray import build_menu

    store = _store()
    store.add(MissedCall("020 622 12 34", "Jansen", 1_700_000_000.0, "c1"))
    store.add(MissedCall("030 123 45 67", "", 1_700_000_100.0, "c2"))
    dialled: list[str] = []
    cards: list[object] = []
    controller = SimpleNamespace(
        demo=False, recent_calls=lambda: [], is_paused=lambda: False,
        sync_now=lambda: None, toggle_pause=lambda: None, open_settings=lambda: None,
        open_log_folder=lambda: None, show_about=lambda: None, quit=lambda: None,
        missed_calls=store.recent, missed_unseen=store.unseen_count,
        missed_seen=store.mark_seen, call_back=dialled.append, open_missed_card=cards.append,
        dial_clipboard=lambda: None, retry_report=lambda _key: 0, failed_reports=lambda: [],
        can_write_report=lambda _call: True,
    )
    menu = QMenu()
    build_menu(menu, controller, Status())  # type: ignore[arg-type]
    texts = [a.text() for a in menu.actions()]
    assert "Dial clipboard number" in texts and "Missed calls (2)" in texts
    sub = next(a.menu() for a in menu.actions() if a.text() == "Missed calls (2)")
    rows = [a for a in sub.actions() if a.menu() is not None]
    assert "030 123 45 67" in rows[0].text()
    assert "020 622 12 34" in rows[1].text() and "Jansen" in rows[1].text()
    entries = {a.text(): a for a in rows[1].menu().actions()}
    assert set(entries) == {"Call back", "Open card"}
    assert not entries["Open card"].isEnabled()  # no relation known for this number
    entries["Call back"].trigger()
    assert dialled == ["020 622 12 34"]
    sub.aboutToShow.emit()  # the operator looks at the list
    assert store.unseen_count() == 0
    # The count on the icon: a red badge in the top right corner, none at 0.
    corner = badge_icon(tray_icon("idle"), 2).pixmap(32, 32).toImage().pixelColor(26, 5)
    assert corner.red() > 150 and corner.green() < 100
    assert badge_icon(tray_icon("idle"), 0) is tray_icon("idle")
    assert QColor(corner).isValid()


def test_missed_cli_lists_unseen_calls(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from afas_tray.cli import main as cli

    paths = app_paths().ensure()
    store = MissedCalls(paths.database_file, Settings())
    store.add(MissedCall("020 622 12 34", "Jansen", 1_700_000_000.0, "c1"))
    store.close()
    assert cli.main(["missed"]) == 0
    out = capsys.readouterr().out
    assert "020 622 12 34 — Jansen" in out and "(1)" in out
    assert cli.main(["missed", "--json"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["call_id"] == "c1"


def test_demo_menu_entry_sends_a_missed_call_event() -> None:
    from afas_tray.demo.environment import DemoEnvironment

    demo = DemoEnvironment(relations=300)
    demo.start()
    try:
        number = demo.simulate_missed_call()
        assert demo.xelion is not None
        [event] = demo.xelion.call(lambda: list(demo.xelion.sim.dial.missed))  # type: ignore[union-attr]
        assert parse_missed_call({"notificationType": "missedCallEvent",
                                  "notificationObject": event})["number"] == number  # type: ignore[index]
    finally:
        demo.stop()
