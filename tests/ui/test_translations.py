"""Every visible text of every dialog is translated: no English left in Dutch, and vice versa."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTabWidget,
    QTreeWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from afas_tray.config import Settings
from afas_tray.i18n import T, current_language, set_language
from afas_tray.ui.i18n_qt import catalogue_path, install_translator, resolve_language
from afas_tray.ui.picker import MatchPicker
from afas_tray.ui.qt_opener import UnknownCallerNotice
from afas_tray.ui.report_dialog import CallReportDialog
from afas_tray.ui.settings import SettingsDialog
from tests.helpers import REPO
from tests.helpers.ui import CANDIDATES, NUMBER, SAMPLE_DATA, PickChoice, valid_settings

# The Qt Linguist source is not shipped: it lives in the repository's top-level resources/.
TS_FILE = REPO / "resources" / "i18n" / "afas_tray_nl.ts"


def catalogue() -> list[tuple[str, str, str, str | None]]:
    """(context, English source, Dutch translation, translation type) for every message."""
    root = ET.parse(TS_FILE).getroot()
    out = []
    for ctx in root.iter("context"):
        name = ctx.findtext("name") or ""
        for msg in ctx.iter("message"):
            tr = msg.find("translation")
            assert tr is not None
            out.append((name, msg.findtext("source") or "", tr.text or "", tr.get("type")))
    return out


MESSAGES = catalogue()
SAME_ON_PURPOSE = {src.strip() for _, src, nl, _ in MESSAGES if src == nl}  # "API token", "AFAS"…
ENGLISH_ONLY = {src.strip() for _, src, nl, _ in MESSAGES if src != nl}
DUTCH_ONLY = {nl.strip() for _, src, nl, _ in MESSAGES if src != nl}


def language_neutral(text: str) -> bool:
    """Addresses, numbers, placeholders and sample data carry no language."""
    for data in [*SAMPLE_DATA, Settings().xelion.effective_user_space()]:
        text = text.replace(data, "")
    text = re.sub(r"\S+://\S*", "", text)  # example URLs
    text = re.sub(r"<[^>]*>", "", text)  # <BCID>, <NUMBER>, token XML
    text = re.sub(r"\b(NL|BE|DE|AfasTray_\w+|Profit_\w+)\b", "", text)  # connector ids
    return not re.search(r"[^\W\d_]", text)


def visible_texts(window: QWidget) -> list[tuple[str, str]]:
    """(where, text) for every text a user can see or hover, in widget order."""
    found: list[tuple[str, str]] = [("window title", window.windowTitle())]
    for i, w in enumerate([window, *window.findChildren(QWidget)]):
        where = f"{i}:{type(w).__name__}"
        found.append((f"{where} tooltip", w.toolTip()))
        if isinstance(w, QLabel):
            found.append((where, w.text()))
        if isinstance(w, QAbstractButton):
            found.append((where, w.text()))
        if isinstance(w, QGroupBox):
            found.append((where, w.title()))
        if isinstance(w, QTabWidget):
            found += [(f"{where} tab", w.tabText(t)) for t in range(w.count())]
        if isinstance(w, QLineEdit | QPlainTextEdit):
            found.append((f"{where} placeholder", w.placeholderText()))
        if isinstance(w, QComboBox):
            found += [(f"{where} item", w.itemText(t)) for t in range(w.count())]
        if isinstance(w, QSpinBox):
            found += [(f"{where} suffix", w.suffix()), (f"{where} prefix", w.prefix())]
        if isinstance(w, QAbstractSpinBox):
            found.append((f"{where} special", w.specialValueText()))
        if isinstance(w, QTreeWidget):
            header = w.headerItem()
            found += [(f"{where} header", header.text(c)) for c in range(header.columnCount())]
            for r in range(w.topLevelItemCount()):
                item = w.topLevelItem(r)
                assert item is not None
                found += [(f"{where} row", item.text(c)) for c in range(item.columnCount())]
    # Mnemonics ("&Subject") are not part of what the user reads.
    return [(where, re.sub(r"&(?=\w)", "", text).strip()) for where, text in found]


def broken_settings() -> Settings:
    s = valid_settings()
    s.afas.host = "http://example.com"  # validation messages are on screen too
    s.afas.insite_url_template = "https://x.afasinsite.nl/card"
    return s


WINDOWS: dict[str, Callable[[], QWidget]] = {
    "settings": lambda: SettingsDialog(
        broken_settings(),
        run_checks=lambda s: None,  # type: ignore[arg-type,return-value]
        trigger_port=51234,
    ),
    "settings-first-run": lambda: SettingsDialog(Settings(), run_checks=None, first_run=True),
    "picker": lambda: MatchPicker(PickChoice(NUMBER, CANDIDATES, 0)),
    "report": lambda: CallReportDialog(
        number=NUMBER,
        time="25-11-2025 10:42",
        direction="out",
        duration="0:45",
        candidates=CANDIDATES,
        selected=None,
        empty_subject="Telefoongesprek",
    ),
    "report-preselected": lambda: CallReportDialog(
        number=NUMBER,
        time="25-11-2025 10:42",
        direction="in",
        duration="0:45",
        candidates=CANDIDATES,
        selected=0,
    ),
    "unknown-caller": lambda: UnknownCallerNotice(NUMBER, "https://12345.afasinsite.nl/s", print),
    # Issue 17: the caller card, and the notice with its "Create in AFAS" form.
    "caller-card": lambda: _caller_card(),
    "unknown-caller-create": lambda: UnknownCallerNotice(
        NUMBER, None, print, create=lambda _new: None),  # type: ignore[arg-type,return-value]
}


def _caller_card() -> QWidget:
    from afas_tray.models import Match, RelationKind
    from afas_tray.ui.caller_card import CallerCard

    org = CANDIDATES[0]
    card = CallerCard(Match(org.bcid, org.name, RelationKind.CONTACT, contact_id="C-77",
                            contact_name=CANDIDATES[1].name), NUMBER, "NL")
    card.set_items([])
    return card


def build(qtbot: QtBot, name: str, language: str) -> list[tuple[str, str]]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    install_translator(app, language)
    try:
        window = WINDOWS[name]()
        qtbot.addWidget(window)
        if isinstance(window, SettingsDialog):
            window.afas.afas_token.toggle.setChecked(True)  # the "Hide" state has texts too
        return visible_texts(window)
    finally:
        install_translator(app, "en")
        set_language(None)


def test_catalogue_is_complete_and_compiled() -> None:
    assert MESSAGES, "no messages in the Dutch catalogue"
    unfinished = [(c, s) for c, s, nl, kind in MESSAGES if kind is not None or not nl.strip()]
    assert unfinished == []
    assert catalogue_path("nl").stat().st_mtime >= TS_FILE.stat().st_mtime - 1, (
        "run tools/update_translations.sh"
    )
    # Placeholders survive translation.
    for ctx, src, nl, _ in MESSAGES:
        assert sorted(re.findall(r"\{\w+\}|%\d", src)) == sorted(re.findall(r"\{\w+\}|%\d", nl)), (
            ctx,
            src,
        )


def test_the_manuals_dutch_labels_are_used(qtbot: QtBot) -> None:
    texts = {text for _, text in build(qtbot, "settings", "nl")}
    for label in (
        "API token",
        "Profit server host",
        "Synchronisatie actief",
        "Type dossier item",
        "URL sjabloon Profit organisatie/persoon",
        "Mp3 opnames synchroniseren",
        "Altijd synchroniseren",
        "Tekst bij leeg onderwerp",
    ):
        assert label in texts


@pytest.mark.parametrize("name", list(WINDOWS))
def test_no_english_left_in_dutch_and_no_dutch_in_english(qtbot: QtBot, name: str) -> None:
    english = build(qtbot, name, "en")
    dutch = build(qtbot, name, "nl")
    assert [w for w, _ in english] == [w for w, _ in dutch]  # the same widgets in both
    problems = []
    for (where, en), (_, nl) in zip(english, dutch, strict=True):
        if not nl or language_neutral(nl):
            continue
        if nl in ENGLISH_ONLY:
            problems.append(f"{where}: English in the Dutch UI: {nl!r}")
        elif en == nl and nl not in SAME_ON_PURPOSE:
            problems.append(f"{where}: not translated: {nl!r}")
        if en in DUTCH_ONLY:
            problems.append(f"{where}: Dutch in the English UI: {en!r}")
    assert problems == []


def test_language_choice_reaches_qt_and_core_messages(qapp: QApplication) -> None:
    try:
        assert install_translator(qapp, "nl") == "nl"
        assert qapp.translate("AfasPage", "Sync active") == "Synchronisatie actief"
        assert str(T("Save", "Opslaan")) == "Opslaan" and current_language() == "nl"
        assert install_translator(qapp, "en") == "en"
        assert qapp.translate("AfasPage", "Sync active") == "Sync active"
        assert str(T("Save", "Opslaan")) == "Save"
    finally:
        set_language(None)


def test_system_language_decides_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "nl_NL.UTF-8")
    assert resolve_language("system") == "nl"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert resolve_language("system") == "en"
    assert resolve_language("nl") == "nl"
