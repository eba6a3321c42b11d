"""Settings dialog: every setting the command line knows has a field, and Save keeps them all."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from afas_tray.config import ColumnMapping, DossierColumns, Settings
from afas_tray.config.keys import KEYS
from afas_tray.ui.settings import SettingsDialog
from tests.helpers.ui import valid_settings


def make(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def shown_error(dialog: SettingsDialog, key: str) -> str:
    label = dialog._errors[key]
    return "" if label.isHidden() else label.text()  # also on a tab not in front


def every_field_set() -> Settings:
    s = valid_settings()
    s.afas.integration_id = "12345_678900"
    c = s.afas.connectors
    c.dossier_items = "AfasTray_Dossieritems"
    c.dossier_columns = DossierColumns(id="SbId", type="StId", text="SbTx", date="DaCr",
                                       relation="BcCo")
    c.link_by = "id"
    c.mapping = {"persons": ColumnMapping(id="PerNr", bcid="BcId", name="Naam",
                                          phones=["TelWerk", "Mobiel"], organisation="",
                                          modified="Gewijzigd", created="Aangemaakt")}
    return s


def test_every_command_line_key_has_a_field(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, Settings())
    fields = set(dialog._errors)
    missing = [k for k in KEYS
               if k not in fields and not any(k.startswith(f + ".") for f in fields)]
    assert missing == []


def test_save_without_edits_keeps_every_setting(qtbot: QtBot, english: None) -> None:
    original = every_field_set()
    dialog = make(qtbot, original)
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted
    result = dialog.result_settings()
    assert result.afas.connectors.mapping == original.afas.connectors.mapping  # created too
    assert result == original


def test_dossier_read_back_and_link_fields_are_saved(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, valid_settings())
    page = dialog.advanced
    page.dossier_connector.setText("AfasTray_Dossier")
    page.dossier_column_edits["relation"].setText("OrgPersId")
    page.link_by.setCurrentIndex(page.link_by.findData("id"))
    dialog.afas.afas_integration_id.setText(" 12345_123456 ")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    c = dialog.result_settings().afas.connectors
    assert (c.dossier_items, c.dossier_columns.relation, c.link_by) == (
        "AfasTray_Dossier", "OrgPersId", "id")
    assert c.dossier_columns.id == ""  # the rest stays automatic
    assert dialog.result_settings().afas.integration_id == "12345_123456"


def test_names_afas_would_refuse_are_marked_before_saving(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, valid_settings())
    dialog.afas.afas_integration_id.setText("12345 678900\r\nX-Evil: 1")
    assert "IntegrationId" in shown_error(dialog, "afas.integration_id")
    assert not dialog.tabs.tabIcon(0).isNull()
    assert not dialog.save_button.isEnabled()
    dialog.afas.afas_integration_id.setText("12345_678900")
    dialog.advanced.mapping_edits[("persons", "phones")].setText("TelWork, Mob Work")
    assert "Mob Work" in shown_error(dialog, "afas.connectors.mapping")
    assert not dialog.tabs.tabIcon(3).isNull()  # the Advanced tab is marked
    dialog.advanced.mapping_edits[("persons", "phones")].setText("TelWork, MobWork")
    dialog.advanced.dossier_connector.setText("")
    assert shown_error(dialog, "afas.connectors.dossier_items")
    assert not dialog.save_button.isEnabled()
    dialog.advanced.dossier_connector.setText("Profit_Subjects")
    assert dialog.save_button.isEnabled()
