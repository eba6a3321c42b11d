"""The advanced tab: the GetConnectors and their columns, dossier read-back, general options."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from afas_tray.config import ROLES, ColumnMapping, DossierColumns, Settings
from afas_tray.ui.settings.fields import FieldRegistry, SettingsPage, split_list

MAPPING_FIELDS = ("id", "bcid", "name", "phones", "organisation", "modified", "created")
DOSSIER_FIELDS = ("id", "type", "text", "date", "relation")


class AdvancedPage(SettingsPage):
    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int,
                 start_at_login: bool = False) -> None:
        super().__init__(settings, fields, tab)
        column = QVBoxLayout(self)
        column.addWidget(self._connectors_box())
        column.addWidget(self._mapping_box())
        column.addWidget(self._dossier_box())
        column.addWidget(self._general_box(start_at_login))
        column.addStretch(1)

    def _role_titles(self) -> dict[str, str]:
        return {
            "organisations": self.tr("Organisations"),
            "persons": self.tr("Persons"),
            "contacts": self.tr("Contact persons"),
        }

    def _connectors_box(self) -> QGroupBox:
        a = self._settings.afas
        box = QGroupBox(self.tr("GetConnectors"))
        form = self.form(box)
        self.connector_edits: dict[str, QLineEdit] = {}
        titles = self._role_titles()
        for role in ROLES:
            key = f"afas.connectors.{role}"
            edit = self.line(getattr(a.connectors, role), "", key)
            self.connector_edits[role] = edit
            hint = (self.tr("All three must exist in Profit; one may return no rows.")
                    if role == "contacts" else "")
            self.add_row(form, key, titles[role], edit, hint)
        return box

    def _mapping_box(self) -> QGroupBox:
        a = self._settings.afas
        box = QGroupBox(self.tr("Column mapping (empty: detected automatically)"))
        grid = QGridLayout()
        row_titles = {
            "id": self.tr("Id column"),
            "bcid": self.tr("BcId column"),
            "name": self.tr("Name column"),
            "phones": self.tr("Phone columns"),
            "organisation": self.tr("Organisation column"),
            "modified": self.tr("Modified column"),
            "created": self.tr("Created column"),
        }
        self.mapping_edits: dict[tuple[str, str], QLineEdit] = {}
        for c, title in enumerate(self._role_titles().values(), start=1):
            head = QLabel(title)
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, c)
        for r, name in enumerate(MAPPING_FIELDS, start=1):
            grid.addWidget(QLabel(row_titles[name]), r, 0)
            for c, role in enumerate(ROLES, start=1):
                m = a.connectors.mapping.get(role, ColumnMapping())
                value = getattr(m, name)
                edit = self.line(", ".join(value) if isinstance(value, list) else str(value),
                                 self.tr("automatic"), "afas.connectors.mapping")
                if name == "phones":
                    edit.setToolTip(
                        self.tr("Several columns, comma separated, e.g. TelWork, MobWork"))
                self.mapping_edits[(role, name)] = edit
                grid.addWidget(edit, r, c)
        self.add_grid(self.form(box), "afas.connectors.mapping", None, grid, "")
        return box

    def _dossier_box(self) -> QGroupBox:
        """How the outbox reads back what arrived (so nothing is posted twice) and how a dossier
        item is linked to its relation."""
        c = self._settings.afas.connectors
        box = QGroupBox(self.tr("Dossier items"))
        form = self.form(box)
        self.dossier_connector = self.line(c.dossier_items, "Profit_Subjects",
                                           "afas.connectors.dossier_items")
        self.add_row(form, "afas.connectors.dossier_items", self.tr("Read-back GetConnector"),
                     self.dossier_connector, self.tr(
                         "Checks which call reports reached AFAS after a lost answer, so none "
                         "is posted twice; also lists the last items on the caller card."))
        titles = {
            "id": self.tr("Item id"),
            "type": self.tr("Type"),
            "text": self.tr("Text"),
            "date": self.tr("Date"),
            "relation": self.tr("Relation"),
        }
        grid = QGridLayout()
        self.dossier_column_edits: dict[str, QLineEdit] = {}
        for i, name in enumerate(DOSSIER_FIELDS):
            grid.addWidget(QLabel(titles[name]), 0, i)
            edit = self.line(getattr(c.dossier_columns, name), self.tr("automatic"),
                             "afas.connectors.dossier_columns")
            self.dossier_column_edits[name] = edit
            grid.addWidget(edit, 1, i)
        self.add_grid(form, "afas.connectors.dossier_columns", self.tr("Its columns"), grid,
                      self.tr("Empty: taken from the connector's metainfo."))
        # KnSubject's link field BcId takes the relation's number (BcCo) in most
        # administrations; some link on the internal id (OpenAPI KnSubject, KnSubjectLink).
        self.link_by = self.choice((
            ("number", self.tr("Relation number (BcCo)")),
            ("id", self.tr("Internal id (BcId)")),
        ), c.link_by, "afas.connectors.link_by")
        self.add_row(form, "afas.connectors.link_by", self.tr("Link dossier items by"),
                     self.link_by, self.tr("What KnSubject's BcId field receives; the number "
                                           "unless your administration links on the id."))
        return box

    def _general_box(self, start_at_login: bool) -> QGroupBox:
        s = self._settings
        box = QGroupBox(self.tr("General"))
        form = self.form(box)
        self.sync_interval = self.spin(s.sync.interval_minutes, 1, 24 * 60, self.tr(" min"),
                                       "sync.interval_minutes")
        self.add_row(form, "sync.interval_minutes", self.tr("Sync interval"), self.sync_interval,
                     self.tr("How often the phone book is refreshed; a click on the icon syncs "
                             "at once."))
        self.region = self.line(s.phone.default_region, "NL", "phone.default_region")
        self.region.setMaxLength(2)
        self.region.setMaximumWidth(60)
        self.add_row(form, "phone.default_region", self.tr("Default country"), self.region,
                     self.tr("For numbers written without a country code (NL, BE, DE, …)."))
        self.language = self.choice((
            ("system", self.tr("System language")),
            ("nl", self.tr("Nederlands")),
            ("en", self.tr("English")),
        ), s.ui.language, "ui.language", width=200)
        self.add_row(form, "ui.language", self.tr("Language"), self.language)
        # The OS's login items are the truth for this one, not the settings file.
        self.start_at_login = QCheckBox(self.tr("Start at login"))
        self.start_at_login.setChecked(start_at_login)
        self.add_row(form, "start_at_login", None, self.start_at_login,
                     self.tr("Start AFAS Tray when you log in to this computer."))
        return box

    def collect(self, s: Settings) -> None:
        a = s.afas
        for role, edit in self.connector_edits.items():
            setattr(a.connectors, role, edit.text().strip())
        mapping: dict[str, ColumnMapping] = {}
        for role in ROLES:
            values: dict[str, Any] = {}
            for name in MAPPING_FIELDS:
                text = self.mapping_edits[(role, name)].text()
                values[name] = split_list(text) if name == "phones" else text.strip()
            m = ColumnMapping(**values)
            if m != ColumnMapping():
                mapping[role] = m
        a.connectors.mapping = mapping
        a.connectors.dossier_items = self.dossier_connector.text().strip()
        a.connectors.dossier_columns = DossierColumns(
            **{name: edit.text().strip() for name, edit in self.dossier_column_edits.items()})
        a.connectors.link_by = str(self.link_by.currentData())
        s.sync.interval_minutes = self.sync_interval.value()
        s.phone.default_region = self.region.text().strip().upper()
        s.ui.language = str(self.language.currentData())
