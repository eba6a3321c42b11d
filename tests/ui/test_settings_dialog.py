"""Settings dialog: inline validation, masked secrets, Test connection without blocking."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDialog, QLineEdit
from pytestqt.qtbot import QtBot

from afas_tray.config import Settings, validate
from afas_tray.i18n import T
from afas_tray.ui.settings import SettingsDialog
from tests.helpers.ui import slow_checks, valid_settings
from tests.helpers.wait import until


def make(qtbot: QtBot, settings: Settings | None = None, **kwargs: object) -> SettingsDialog:
    dialog = SettingsDialog(settings or valid_settings(), **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def error_text(dialog: SettingsDialog, key: str) -> str:
    label = dialog._errors[key]
    return label.text() if label.isVisible() else ""


def test_valid_settings_can_be_saved(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot)
    assert dialog.save_button.isEnabled()
    assert not dialog.summary.isVisible()


def test_invalid_host_shows_message_and_blocks_save_until_fixed(
    qtbot: QtBot, english: None
) -> None:
    dialog = make(qtbot)
    dialog.afas.afas_host.clear()
    qtbot.keyClicks(dialog.afas.afas_host, "http://example.com")
    expected = validate(dialog.result_settings(), require_secrets=True)["afas.host"]
    assert error_text(dialog, "afas.host") == expected.en
    assert "12345.rest.afas.online" in error_text(dialog, "afas.host")
    assert not dialog.save_button.isEnabled()
    assert not dialog.tabs.tabIcon(0).isNull()  # the AFAS tab is marked

    dialog.afas.afas_host.setText("https://12345.rest.afas.online")
    assert error_text(dialog, "afas.host") == ""
    assert dialog.save_button.isEnabled()
    assert dialog.tabs.tabIcon(0).isNull()


def test_template_without_bcid_is_refused(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot)
    dialog.afas.afas_template.setText("https://12345.afasinsite.nl/verkooprelatie-prs?BcId=1")
    assert "<BCID>" in error_text(dialog, "afas.insite_url_template")
    assert not dialog.save_button.isEnabled()
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() != QDialog.DialogCode.Accepted


def test_validation_messages_follow_the_language(qtbot: QtBot, dutch: None) -> None:
    settings = valid_settings()
    settings.afas.host = ""
    dialog = make(qtbot, settings)
    assert error_text(dialog, "afas.host") == "Profit server host is verplicht."


def test_secrets_are_masked_with_a_show_toggle(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot)
    for secret in (dialog.afas.afas_token, dialog.xelion.xelion_password, dialog.pop.trigger_secret):
        assert secret.edit.echoMode() == QLineEdit.EchoMode.Password
    # The masked field never shows the secret itself.
    assert "ABCDEF" not in dialog.afas.afas_token.edit.displayText()

    qtbot.mouseClick(dialog.afas.afas_token.toggle, Qt.MouseButton.LeftButton)
    assert dialog.afas.afas_token.edit.echoMode() == QLineEdit.EchoMode.Normal
    assert "ABCDEF" in dialog.afas.afas_token.edit.displayText()
    assert dialog.afas.afas_token.toggle.text() == "Hide"
    assert dialog.xelion.xelion_password.edit.echoMode() == QLineEdit.EchoMode.Password  # one at a time

    qtbot.mouseClick(dialog.afas.afas_token.toggle, Qt.MouseButton.LeftButton)
    assert dialog.afas.afas_token.edit.echoMode() == QLineEdit.EchoMode.Password


def test_missing_token_is_required(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot)
    dialog.afas.afas_token.edit.clear()
    assert error_text(dialog, "afas.token") == "API token is required."
    assert not dialog.save_button.isEnabled()


def test_save_returns_edited_copy(qtbot: QtBot, english: None) -> None:
    original = valid_settings()
    dialog = make(qtbot, original)
    dialog.pop.pop_own_numbers.setText("+31 20 123 4567, 020 765 4321 ,")
    dialog.afas.afas_dossier_type.setText("12")
    dialog.advanced.mapping_edits[("contacts", "phones")].setText("TelWork, MobWork")
    dialog.advanced.connector_edits["persons"].setText("Custom_Personen")
    dialog.advanced.language.setCurrentIndex(dialog.advanced.language.findData("nl"))
    dialog.pop.trigger_enabled.setChecked(True)
    assert dialog.pop.trigger_secret.edit.text()  # a secret is generated for the trigger
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted

    result = dialog.result_settings()
    assert result.pop.own_numbers == ["+31 20 123 4567", "020 765 4321"]
    assert result.afas.dossier_item_type == 12
    assert result.afas.connectors.mapping["contacts"].phones == ["TelWork", "MobWork"]
    assert "organisations" not in result.afas.connectors.mapping  # untouched roles stay automatic
    assert result.afas.connectors.persons == "Custom_Personen"
    assert result.ui.language == "nl"
    assert result.trigger.http_enabled and len(result.trigger.secret) >= 20
    assert result.afas.token == original.afas.token
    assert original.pop.own_numbers == [] and original.afas.dossier_item_type == 5  # copy edited


def test_first_run_banner_and_quiet_empty_fields(qtbot: QtBot, english: None) -> None:
    dialog = make(qtbot, Settings(), first_run=True)
    assert dialog.banner.isVisible() and "Welcome" in dialog.banner.text()
    assert error_text(dialog, "afas.host") == ""  # not shouted at before typing
    assert not dialog.save_button.isEnabled()
    qtbot.keyClicks(dialog.afas.afas_host, "x")
    assert error_text(dialog, "afas.host") != ""


def test_damaged_settings_banner(qtbot: QtBot, dutch: None) -> None:
    problem = T("The settings file was damaged.", "Het instellingenbestand was beschadigd.")
    dialog = make(qtbot, Settings(), problem=problem)
    assert dialog.banner.isVisible()
    assert dialog.banner.text() == "Het instellingenbestand was beschadigd."


def test_test_connection_shows_results_as_they_arrive_without_blocking(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None
) -> None:
    dialog = make(qtbot, run_checks=slow_checks(0.05))
    dialog.advanced.connector_edits["persons"].setText("Custom_Personen")  # the checks get the edited copy
    ticks: list[int] = []
    timer = QTimer(interval=10)
    timer.timeout.connect(lambda: ticks.append(1))

    async def scenario() -> None:
        timer.start()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        assert not dialog.test_button.isEnabled()
        assert dialog.test_status.text() == "Testing…"
        await until(lambda: len(dialog.result_labels) == 2)
        assert dialog.checks_running()  # partial results are on screen while the rest run
        assert not dialog.test_button.isEnabled()
        await until(lambda: not dialog.checks_running())

    qloop.run_until_complete(scenario())
    timer.stop()
    lines = dialog.result_lines()
    assert len(lines) == 6
    assert any(line.startswith("✓ GetConnector AfasTray_Organisaties") for line in lines)
    assert any(
        line.startswith("✗ GetConnector Custom_Personen") and "404" in line for line in lines
    )
    assert any(line.startswith("✓ GetConnector AfasTray_Contactpersonen") for line in lines)
    assert dialog.test_status.text() == "1 of 6 checks failed."
    assert dialog.test_button.isEnabled()
    # 6 × 50 ms of checks: the Qt timer kept firing, so the window never froze.
    assert len(ticks) >= 15


def test_closing_cancels_running_checks(
    qtbot: QtBot, qloop: asyncio.AbstractEventLoop, english: None
) -> None:
    dialog = make(qtbot, run_checks=slow_checks(0.2))

    async def scenario() -> None:
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        await until(lambda: len(dialog.result_labels) == 1)
        dialog.reject()
        await asyncio.sleep(0.3)

    qloop.run_until_complete(scenario())
    assert not dialog.checks_running()
    assert len(dialog.result_labels) == 1
