"""The composition root: TrayShell built in pytest-qt around a real AppCore (injected), against
the simulated AFAS and Xelion on loopback.

Like Vorta's tests build their app once: here the shell, its tray menu, the picker and the report
dialog are the real widgets, the core the real core; only the browser is Qt's own URL handler
hook (``QDesktopServices.setUrlHandler``), so no real browser starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from afas_tray.config import Settings
from afas_tray.core import AppCore
from afas_tray.demo.afas import AfasSimulator
from afas_tray.demo.afas import SimulatorThread as AfasThread
from afas_tray.demo.sample_data import KNOWN
from afas_tray.demo.xelion import SimulatorThread as XelionThread
from afas_tray.demo.xelion import XelionSimulator
from afas_tray.events import CallEvent, CallSource, CallState
from afas_tray.handoff import event_to_line
from afas_tray.pop.opener import RecordingOpener
from afas_tray.system.paths import app_paths
from afas_tray.system.profile import Profile
from afas_tray.ui.picker import MatchPicker
from afas_tray.ui.report_dialog import CallReportDialog
from afas_tray.ui.shell import TrayShell
from tests.helpers.core import XELION_PASSWORD, XELION_TENANT, XELION_USER, settings_at
from tests.helpers.ui import Browser
from tests.helpers.wait import until

REFUSED = "Er is een onverwachte fout opgetreden."  # the simulated Profit's 500 text


@pytest.fixture
def sims() -> Iterator[tuple[AfasThread, XelionThread]]:
    """The ``servers`` of the core tests, each in a thread of its own (the test's loop is Qt's)."""
    afas = AfasThread(AfasSimulator(relations=300, seed=4))
    xelion = XelionThread(XelionSimulator({XELION_USER: XELION_PASSWORD}, tenant=XELION_TENANT))
    afas.start()
    xelion.start()
    try:
        yield afas, xelion
    finally:
        xelion.stop()
        afas.stop()


def settings_for(afas: AfasThread, xelion: XelionThread) -> Settings:
    s = settings_at(afas.url, afas.simulator.token, xelion.url)
    s.sync.interval_minutes = 60  # the tests' own requests only, after the first sync
    return s


def build_shell(qapp: QApplication, settings: Settings) -> TrayShell:
    profile = Profile(app_paths().ensure())
    profile.save(settings)
    core = AppCore(profile, settings, RecordingOpener())  # the shell puts its own opener in
    loaded = SimpleNamespace(settings=settings, first_run=False, problem=None)
    return TrayShell(qapp, profile, loaded, core=core)


def menu_texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def action(menu: QMenu, text: str) -> QAction:
    found = [a for a in menu.actions() if a.text() == text or a.text().startswith(text)]
    assert found, f"{text!r} not in {menu_texts(menu)}"
    return found[0]


def submenu(menu: QMenu, text: str) -> QMenu:
    sub = action(menu, text).menu()
    assert isinstance(sub, QMenu)
    return sub


def shown_menu(shell: TrayShell) -> QMenu:
    """The tray menu as the operator sees it when it opens (rebuilt on aboutToShow)."""
    shell.tray.menu.aboutToShow.emit()
    return shell.tray.menu


@contextlib.asynccontextmanager
async def started(shell: TrayShell, xelion: XelionThread) -> AsyncIterator[None]:
    """The shell's core started (first sync done, websocket up); stopped on the way out."""
    await shell.core.start()
    try:
        await until(lambda: shell.core.board.current.book_size > 0
                    and xelion.sim.websocket_count > 0, timeout=60)
        yield
    finally:
        await shell.core.stop()


def test_the_menu_offers_every_action_and_they_act(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    sims: tuple[AfasThread, XelionThread],
) -> None:
    afas, xelion = sims
    shell = build_shell(QApplication.instance(), settings_for(afas, xelion))  # type: ignore[arg-type]

    async def scenario() -> None:
        async with started(shell, xelion):
            menu = shown_menu(shell)
            assert menu_texts(menu)[0] == "AFAS Tray: Up to date"
            for text in ("Sync now", "Recent calls", "Dial clipboard number", "Missed calls",
                         "Reports", "Pause sync", "Pause caller pop", "Settings…",
                         "Open log folder", "About AFAS Tray", "Quit"):
                action(menu, text)
            assert menu_texts(submenu(menu, "Recent calls")) == ["No calls yet"]
            reports = submenu(menu, "Reports")
            assert menu_texts(reports) == ["On their way to AFAS: 0", "Failed: 0",
                                           "Retry all failed", "Open log folder"]
            assert not action(reports, "Retry all failed").isEnabled()
            action(menu, "Pause sync").trigger()
            assert shell.core.engine.paused
            action(shown_menu(shell), "Resume sync").trigger()
            assert not shell.core.engine.paused
            # A call shows under Recent calls, with its card, "Write report…" and "Call back".
            known = KNOWN["org_unique"]
            xelion.call(xelion.sim.ring, known.written[0])
            await until(lambda: browser.urls, timeout=10)
            recent = submenu(shown_menu(shell), "Recent calls")
            [call_menu] = [a.menu() for a in recent.actions()]
            assert isinstance(call_menu, QMenu)
            assert known.names[0] in recent.actions()[0].text()
            assert menu_texts(call_menu) == ["Open card", "Write report…", "Call back"]
            assert all(a.isEnabled() for a in call_menu.actions())
            action(call_menu, "Open card").trigger()
            assert browser.urls[-1] == browser.urls[0] and len(browser.urls) == 2
            action(call_menu, "Write report…").trigger()
            [dialog] = [w for w in QApplication.topLevelWidgets()
                        if isinstance(w, CallReportDialog) and w.isVisible()]
            assert dialog.selected_candidate() is not None  # one relation: already chosen
            dialog.close()
            action(shown_menu(shell), "Quit").trigger()
            assert shell._stop.is_set()

    qloop.run_until_complete(scenario())


def test_a_pick_in_the_picker_becomes_one_dossier_item_for_that_relation(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    sims: tuple[AfasThread, XelionThread],
) -> None:
    afas, xelion = sims
    settings = settings_for(afas, xelion)
    settings.afas.always_sync = True  # no report written: the pick alone decides where it goes
    shell = build_shell(QApplication.instance(), settings)  # type: ignore[arg-type]

    async def scenario() -> None:
        async with started(shell, xelion):
            shared = KNOWN["shared_two_orgs"]
            call_id = xelion.call(xelion.sim.ring, shared.written[0])
            await until(lambda: any(isinstance(w, MatchPicker) for w in shell.opener.windows),
                        timeout=10)
            [picker] = [w for w in shell.opener.windows if isinstance(w, MatchPicker)]
            second = picker.list.topLevelItem(1)
            assert second is not None
            wanted = second.text(3)
            assert set(shared.bcids) == {picker.list.topLevelItem(i).text(3) for i in range(2)}
            qtbot.mouseClick(picker.list.viewport(), Qt.MouseButton.LeftButton,
                             pos=picker.list.visualItemRect(second).center())
            qtbot.mouseClick(picker.open_button, Qt.MouseButton.LeftButton)
            assert browser.urls == [f"{afas.url}/insite/verkooprelatie-prs?BcId={wanted}"]
            assert shell.core.router.picked_for_call(call_id) == wanted
            # The recent call now names the picked relation.
            [recent] = shell.core.recent_calls()
            assert recent.match_bcid == wanted
            xelion.call(xelion.sim.answer, call_id)
            xelion.call(xelion.sim.hangup, call_id, False)
            await until(lambda: afas.simulator.subjects, timeout=40)
            await asyncio.sleep(0.5)
            [item] = afas.simulator.subjects
            assert item.bcid == wanted and item.st_id == 7
            await until(lambda: shell.core.board.current.outbox_backlog == 0, timeout=10)

    qloop.run_until_complete(scenario())


def test_a_refused_report_shows_in_the_menu_with_afas_text_and_retry_sends_it(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    sims: tuple[AfasThread, XelionThread],
) -> None:
    afas, xelion = sims
    shell = build_shell(QApplication.instance(), settings_for(afas, xelion))  # type: ignore[arg-type]
    shown: list[str] = []
    shell.tray.notify = lambda title, text, **_kw: shown.append(text)  # type: ignore[method-assign]

    async def scenario() -> None:
        async with started(shell, xelion):
            known = KNOWN["org_unique"]
            call_id = xelion.call(xelion.sim.ring, known.written[0])
            await until(lambda: browser.urls, timeout=10)
            xelion.call(xelion.sim.answer, call_id)
            afas.call(afas.simulator.fail_next, 1, 500)  # Profit refuses the dossier item
            action(submenu(shown_menu(shell), "Recent calls").actions()[0].menu(),
                   "Write report…").trigger()
            [dialog] = [w for w in QApplication.topLevelWidgets()
                        if isinstance(w, CallReportDialog) and w.isVisible()]
            qtbot.keyClicks(dialog.subject, "Klacht levering")
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            xelion.call(xelion.sim.hangup, call_id, False)
            await until(lambda: shell.core.board.current.reports_failed == 1, timeout=40)
            status = shell.core.board.current
            refusal = str(status.reports_failed_message)  # AFAS's words, with its log reference
            assert status.needs_attention and REFUSED in refusal
            menu = shown_menu(shell)
            texts = menu_texts(menu)
            assert texts[0] == "AFAS Tray: Needs attention"
            head = " ".join(texts[1:texts.index("Sync now")])  # AFAS's words, wrapped
            assert head.startswith("AFAS refused a report: AFAS reported an error") and \
                REFUSED in head
            assert f"AFAS refused a report: {refusal}" in shell.tray.icon.toolTip()
            reports = submenu(menu, "Reports (1 failed)")
            assert menu_texts(reports)[:2] == ["On their way to AFAS: 0", "Failed: 1"]
            row = submenu(reports, next(t for t in menu_texts(reports) if "Klacht levering" in t))
            *why, retry = menu_texts(row)
            assert REFUSED in " ".join(why) and retry == "Retry"
            assert shown == [f"AFAS refused a report: {refusal}"]  # one notification
            assert afas.simulator.subjects == []
            action(row, "Retry").trigger()
            await until(lambda: afas.simulator.subjects, timeout=20)
            await until(lambda: shell.core.board.current.reports_failed == 0, timeout=10)
            assert afas.simulator.subjects[0].subject == "Klacht levering"
            assert menu_texts(shown_menu(shell))[0] == "AFAS Tray: Up to date"
            assert len(shown) == 1

    qloop.run_until_complete(scenario())


def test_a_report_for_an_unknown_caller_is_linked_by_search_and_goes_up(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    sims: tuple[AfasThread, XelionThread],
) -> None:
    """A call from the command line (no call id, a source Xelion never logs) of a number the
    phone book does not know: the report dialog finds the relation by name; the report goes up
    from the desktop's data alone."""
    afas, xelion = sims
    shell = build_shell(QApplication.instance(), settings_for(afas, xelion))  # type: ignore[arg-type]

    async def scenario() -> None:
        async with started(shell, xelion):
            number = KNOWN["no_match"].written[0]
            shell.on_instance_message(event_to_line(CallEvent(
                number, "", state=CallState.RINGING, source=CallSource.CLI)))
            shell.on_instance_message(event_to_line(CallEvent(
                number, "", state=CallState.HUNG_UP, source=CallSource.CLI)))
            recent = submenu(shown_menu(shell), "Recent calls")
            assert "unknown" in recent.actions()[0].text()
            call_menu = recent.actions()[0].menu()
            assert isinstance(call_menu, QMenu)
            assert not action(call_menu, "Open card").isEnabled()
            write = action(call_menu, "Write report…")
            assert write.isEnabled()
            write.trigger()
            [dialog] = [w for w in QApplication.topLevelWidgets()
                        if isinstance(w, CallReportDialog) and w.isVisible()]
            assert dialog.search is not None and not dialog.save_button.isEnabled()
            target = KNOWN["shared_two_orgs"]
            qtbot.keyClicks(dialog.search, "Apotheek De Linde")
            await until(lambda: dialog.relation.count() > 1, timeout=5)
            assert dialog.selected_candidate() is not None  # one found: chosen
            bcid = dialog.selected_candidate().bcid  # type: ignore[union-attr]
            assert bcid in target.bcids
            qtbot.keyClicks(dialog.subject, "Nieuwe klant belde")
            qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
            assert not dialog.isVisible()
            await until(lambda: afas.simulator.subjects, timeout=20)
            [item] = afas.simulator.subjects
            assert item.bcid == bcid and item.subject == "Nieuwe klant belde"
            assert "Nummer: " in item.text and "Duur: " in item.text

    qloop.run_until_complete(scenario())


def test_status_command_asks_the_running_app(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    sims: tuple[AfasThread, XelionThread],
) -> None:
    """`afas-tray status` over the single-instance socket: one line per part; 0 when all is
    well, 1 once a report was refused (with AFAS's text), 2 when no app runs."""
    from afas_tray.system.instance_client import instance_name
    from afas_tray.ui.single_instance import SingleInstanceServer

    afas, xelion = sims
    shell = build_shell(QApplication.instance(), settings_for(afas, xelion))  # type: ignore[arg-type]
    env = dict(os.environ, LANGUAGE="en", LC_ALL="en_US.UTF-8")

    def status(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "afas_tray", "status", *extra], env=env,
                              capture_output=True, text=True, timeout=60)

    assert status().returncode == 2  # nothing listens yet
    server = SingleInstanceServer(instance_name(app_paths()))
    assert server.listen()
    server.status_provider = shell.status_json

    async def scenario() -> None:
        async with started(shell, xelion):
            await until(lambda: shell.core.board.current.xelion_connected, timeout=20)
            ok = await asyncio.to_thread(status)
            assert ok.returncode == 0, ok.stdout + ok.stderr
            lines = ok.stdout.splitlines()
            size = shell.core.board.current.book_size
            assert lines[0].startswith(f"Phone book: {size} relations, last sync 20")
            assert lines[1].startswith("Xelion: connected, last call event never")
            assert lines[2] == "Reports: 0 on their way, 0 waiting, 0 failed"
            as_json = await asyncio.to_thread(status, "--json")
            state: dict[str, Any] = json.loads(as_json.stdout)
            assert state["phonebook"]["size"] == size and state["xelion"]["connected"] is True

            known = KNOWN["org_unique"]
            call_id = xelion.call(xelion.sim.ring, known.written[0])
            await until(lambda: browser.urls, timeout=10)
            afas.call(afas.simulator.fail_next, 1, 500)
            shell.core.save_report(call_id, "Storing", "", None)
            xelion.call(xelion.sim.hangup, call_id, False)
            await until(lambda: shell.core.board.current.reports_failed == 1, timeout=40)
            bad = await asyncio.to_thread(status)
            assert bad.returncode == 1, bad.stdout + bad.stderr
            assert bad.stdout.splitlines()[2].startswith(
                "Reports: 0 on their way, 0 waiting, 1 failed — AFAS reported an error")
            assert REFUSED in bad.stdout.splitlines()[2]
            assert "last call event 20" in bad.stdout.splitlines()[1]

            # A missed call shows in `status` until the operator has looked at it (issue 16).
            before = len(shell.core.missed.recent(unseen_only=True))  # the refused call rang out
            xelion.call(xelion.sim.dial.missed_call, known.written[0])
            await until(lambda: len(shell.core.missed.recent(unseen_only=True)) > before,
                        timeout=20)
            unseen = len(shell.core.missed.recent(unseen_only=True))
            missed = await asyncio.to_thread(status)
            assert f"Missed calls not yet seen: {unseen}" in missed.stdout.splitlines()
            listed = json.loads((await asyncio.to_thread(status, "--json")).stdout)["missed"]
            assert len(listed) == unseen and listed[0]["bcid"] == known.bcids[0]

    try:
        qloop.run_until_complete(scenario())
    finally:
        server.close()


def test_a_failure_in_a_task_nobody_awaits_is_logged_and_shown(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None, browser: Browser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Settings are applied in a task the dialog does not wait for: when it fails (a keychain
    that refuses, say) the operator gets a message and the log the traceback."""
    shell = build_shell(QApplication.instance(), Settings())  # type: ignore[arg-type]
    shown: list[str] = []
    shell.tray.notify = lambda title, text, **_kw: shown.append(text)  # type: ignore[method-assign]

    async def apply() -> None:
        await asyncio.sleep(0)
        raise RuntimeError("the keychain refused to store the token")

    async def scenario() -> None:
        task = shell.spawn(apply(), "applying the settings")
        with contextlib.suppress(RuntimeError):
            await task
        await asyncio.sleep(0)
        await shell.core.stop()

    qloop.run_until_complete(scenario())
    assert shown == ["Something went wrong (applying the settings): "
                     "the keychain refused to store the token"]
    assert shell.errors == shown
    assert any(r.exc_info and "keychain refused" in str(r.exc_info[1]) for r in caplog.records)
    # A slot that raises (here: the core lost its pick method) is shown too, not swallowed by Qt.
    shell.core.record_pick = None  # type: ignore[assignment, method-assign]
    shell.on_pick(SimpleNamespace(call_id="x", number="+31205550101"),
                  SimpleNamespace(bcid="1"), False)
    assert len(shown) == 2 and shown[1].startswith("Something went wrong (on_pick): ")
