"""The dialling tab: the operator's own phone, softphone or Xelion, missed calls, the hotkey."""

from __future__ import annotations

from afas_tray.config import Settings
from afas_tray.ui.settings.fields import FieldRegistry, SettingsPage


class DialPage(SettingsPage):
    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int) -> None:
        super().__init__(settings, fields, tab)
        d = settings.dial
        form = self.form()
        self.dial_device = self.line(d.device_number, "+31 6 1234 5678", "dial.device_number")
        self.add_row(form, "dial.device_number", self.tr("My phone number"), self.dial_device,
                     self.tr("Xelion rings this phone first and then connects you to the number "
                             "you dial. Needed for dialling through Xelion."))
        self.dial_softphone = self.check(
            self.tr("Dial with my softphone (the system's tel: app) instead of Xelion"),
            d.prefer_softphone, "dial.prefer_softphone")
        self.add_row(form, "dial.prefer_softphone", None, self.dial_softphone, self.tr(
            "Make your softphone the default app for tel: links, or AFAS Tray cannot reach it."))
        self.dial_missed_dossier = self.check(
            self.tr("Record a missed call of a known relation as a dossier item"),
            d.missed_to_dossier, "dial.missed_to_dossier")
        self.add_row(form, "dial.missed_to_dossier", None, self.dial_missed_dossier, self.tr(
            "Subject 'Gemiste oproep'; needs the dossier item type on the AFAS tab."))
        self.dial_hotkey = self.line(d.hotkey, self.tr("<ctrl>+<alt>+d"), "dial.hotkey")
        self.add_row(form, "dial.hotkey", self.tr("Dial hotkey"), self.dial_hotkey, self.tr(
            "Dials the copied (on Linux: the selected) number from any program. Empty: no "
            "hotkey. Needs the optional pynput package; see the README."))

    def collect(self, s: Settings) -> None:
        d = s.dial
        d.device_number = self.dial_device.text().strip()
        d.prefer_softphone = self.dial_softphone.isChecked()
        d.missed_to_dossier = self.dial_missed_dossier.isChecked()
        d.hotkey = self.dial_hotkey.text().strip()
