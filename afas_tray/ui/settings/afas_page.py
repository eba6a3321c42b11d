"""The AFAS tab: the connection and the call-report fields of the Xelion–AFAS manual."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression
from PySide6.QtGui import QRegularExpressionValidator

from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.config import Settings
from afas_tray.ui.settings.fields import FieldRegistry, SettingsPage


class AfasPage(SettingsPage):
    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int) -> None:
        super().__init__(settings, fields, tab)
        a = settings.afas
        form = self.form()
        self.afas_token = self.secret(
            a.token, "afas.token", self.tr("<token><version>1</version><data>…</data></token>")
        )
        self.add_row(form, "afas.token", self.tr("API token"), self.afas_token, self.tr(
            "Generated in Profit for the app connector; the whole token or only its data part."))
        self.afas_host = self.line(a.host, "https://12345.rest.afas.online", "afas.host")
        self.add_row(form, "afas.host", self.tr("Profit server host"), self.afas_host,
                     self.tr("Test and accept environments use resttest or restaccept."))
        self.afas_sync_active = self.check(self.tr("Sync active"), a.sync_active,
                                           "afas.sync_active")
        self.add_row(form, "afas.sync_active", None, self.afas_sync_active,
                     self.tr("Keeps the phone book up to date and uploads call reports."))
        self.afas_dossier_type = self.line(
            "" if a.dossier_item_type is None else str(a.dossier_item_type),
            self.tr("e.g. 5"),
            "afas.dossier_item_type",
        )
        self.afas_dossier_type.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"-?\d{0,9}"), self.afas_dossier_type)
        )
        self.add_row(form, "afas.dossier_item_type", self.tr("Dossier item type"),
                     self.afas_dossier_type,
                     self.tr("Needed to upload call reports; the number of the type in Profit."))
        self.afas_template = self.line(
            a.insite_url_template,
            "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>",
            "afas.insite_url_template",
        )
        self.add_row(form, "afas.insite_url_template",
                     self.tr("URL template Profit organisation/person"), self.afas_template,
                     self.tr("<BCID> is replaced by the relation's internal id (column BcId), "
                             "<BCCO> by its number (column BcCo, 'Nummer'): use the one your "
                             "InSite page takes."))
        self.afas_sync_mp3 = self.check(self.tr("Sync MP3 recordings"), a.sync_mp3,
                                        "afas.sync_mp3")
        self.add_row(form, "afas.sync_mp3", None, self.afas_sync_mp3,
                     self.tr("Attaches the call recording to the dossier item."))
        self.afas_always_sync = self.check(self.tr("Always sync"), a.always_sync,
                                           "afas.always_sync")
        self.add_row(form, "afas.always_sync", None, self.afas_always_sync, self.tr(
            "Logs every finished call with a known relation, also without a report."))
        self.afas_empty_subject = self.line(
            a.empty_subject_text, self.tr("e.g. Phone call"), "afas.empty_subject_text"
        )
        self.afas_empty_subject.setMaxLength(MAX_SUBJECT_CHARS)
        self.add_row(form, "afas.empty_subject_text", self.tr("Text for empty subject"),
                     self.afas_empty_subject,
                     self.tr("Profit requires a subject; used when a report has none."))
        self.afas_recording_wait = self.spin(
            a.recording_wait_minutes, 0, 120, self.tr(" min"), "afas.recording_wait_minutes"
        )
        self.add_row(form, "afas.recording_wait_minutes", self.tr("Wait for recording"),
                     self.afas_recording_wait,
                     self.tr("Xelion can publish a recording minutes after hang-up."))
        # OASContent integrationid.md: partners send their IntegrationId on every request.
        self.afas_integration_id = self.line(a.integration_id, self.tr("e.g. 12345_123456"),
                                             "afas.integration_id")
        self.add_row(form, "afas.integration_id", self.tr("IntegrationId"),
                     self.afas_integration_id,
                     self.tr("Only for AFAS partners: sent with every request. Empty: none."))

    def collect(self, s: Settings) -> None:
        a = s.afas
        a.token = self.afas_token.edit.text().strip()
        a.host = self.afas_host.text().strip()
        a.sync_active = self.afas_sync_active.isChecked()
        digits = self.afas_dossier_type.text().strip()
        a.dossier_item_type = int(digits) if digits.lstrip("-") else None  # -5 is allowed
        a.insite_url_template = self.afas_template.text().strip()
        a.sync_mp3 = self.afas_sync_mp3.isChecked()
        a.always_sync = self.afas_always_sync.isChecked()
        a.empty_subject_text = self.afas_empty_subject.text()
        a.recording_wait_minutes = self.afas_recording_wait.value()
        a.integration_id = self.afas_integration_id.text().strip()
