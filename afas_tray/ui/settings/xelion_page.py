"""The Xelion tab: the account, the trigger the caller pop needs, the address-book push."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from afas_tray.config import Settings
from afas_tray.ui.picker import hint_label
from afas_tray.ui.settings.fields import FieldRegistry, SettingsPage


class XelionPage(SettingsPage):
    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int) -> None:
        super().__init__(settings, fields, tab)
        x = settings.xelion
        form = self.form()
        self.xelion_host = self.line(x.host, "https://company.xelion.com", "xelion.host")
        self.add_row(form, "xelion.host", self.tr("Xelion server"), self.xelion_host, self.tr(
            "Leave the Xelion fields empty to receive calls only from the command line or a "
            "phone."))
        self.xelion_tenant = self.line(x.tenant, self.tr("e.g. master"), "xelion.tenant")
        self.add_row(form, "xelion.tenant", self.tr("Tenant"), self.xelion_tenant,
                     self.tr("The tenant name in the Xelion address."))
        self.xelion_username = self.line(x.username, self.tr("e.g. j.jansen"), "xelion.username")
        self.add_row(form, "xelion.username", self.tr("User name"), self.xelion_username)
        self.xelion_password = self.secret(x.password, "xelion.password")
        self.add_row(form, "xelion.password", self.tr("Password"), self.xelion_password,
                     self.tr("Stored in the system keychain, never in a file."))
        self.xelion_user_space = self.line(
            x.user_space, x.effective_user_space() if not x.user_space else "", "xelion.user_space"
        )
        self.add_row(form, "xelion.user_space", self.tr("User space"), self.xelion_user_space,
                     self.tr("Unique name for this computer; empty uses the machine name."))
        self._trigger_row(form)
        self.xelion_addressbook = self.check(
            self.tr("Keep Xelion's address book in step with AFAS"), x.addressbook_sync,
            "xelion.addressbook_sync",
        )
        self.add_row(form, "xelion.addressbook_sync", None, self.xelion_addressbook, self.tr(
            "Puts AFAS relations into Xelion so every phone shows the caller's name. "
            "Turn this on for one desk or one server only, not on every desk."))

    def _trigger_row(self, form: QFormLayout) -> None:
        """The Xelion trigger the caller pop needs, with a Copy button (texts from the core's
        two-language pairs, like the README's table)."""
        from afas_tray.i18n import T
        from afas_tray.xelion import TRIGGER_VALUE, trigger_rows

        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 2)
        line = QHBoxLayout()
        self.xelion_trigger_value = QLineEdit(TRIGGER_VALUE)
        self.xelion_trigger_value.setReadOnly(True)
        self.xelion_trigger_copy = QPushButton(str(T("Copy", "Kopiëren")))
        self.xelion_trigger_copy.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(TRIGGER_VALUE))
        line.addWidget(self.xelion_trigger_value)
        line.addWidget(self.xelion_trigger_copy)
        column.addLayout(line)
        rows = "; ".join(f"{label}: {value}" for label, value in trigger_rows()[:3])
        column.addWidget(hint_label(str(T(
            f"Create this trigger in Xelion once (administrator): {rows}; value as above. "
            "Without it no call pops up (`afas-tray xelion trigger create`).",
            f"Maak deze trigger één keer aan in Xelion (beheerder): {rows}; waarde zoals "
            "hierboven. Zonder trigger verschijnt geen gesprek (`afas-tray xelion trigger "
            "create`)."))))
        form.addRow(str(T("Xelion trigger", "Xelion-trigger")), box)

    def collect(self, s: Settings) -> None:
        x = s.xelion
        x.host = self.xelion_host.text().strip()
        x.tenant = self.xelion_tenant.text().strip()
        x.username = self.xelion_username.text().strip()
        x.password = self.xelion_password.edit.text()
        x.user_space = self.xelion_user_space.text().strip()
        x.addressbook_sync = self.xelion_addressbook.isChecked()
