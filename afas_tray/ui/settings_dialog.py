"""Settings dialog: every field of the AFAS manual and Xelion, validated while typing.

Edits a copy of the settings; the caller reads ``result_settings()`` after ``accepted``.
"Test connection" runs the doctor checks as an asyncio task (qasync), so the window keeps
responding and each result appears as it arrives. Open it with ``open()``/``show()`` rather than
``exec()`` from inside a coroutine: a nested loop inside a running task blocks other tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.config import ROLES, ColumnMapping, Settings, new_trigger_secret, validate
from afas_tray.i18n import Text
from afas_tray.models import CheckResult
from afas_tray.ui.icons import app_icon
from afas_tray.ui.picker import hint_label

log = logging.getLogger(__name__)

RunChecks = Callable[[Settings], AsyncIterator[CheckResult]]

ERROR_COLOUR = "#c62828"
OK_COLOUR = "#2e7d32"
WARN_COLOUR = "#b26a00"
MAPPING_FIELDS = ("id", "bcid", "name", "phones", "organisation", "modified")


def _scrolling(page: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class SecretEdit(QWidget):
    """A masked line edit with a Show/Hide toggle."""

    def __init__(self, value: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self._layout = layout
        self.edit = QLineEdit(value)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.toggle = QToolButton()
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._set_shown)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.toggle)
        self._set_shown(False)
        self.setFocusProxy(self.edit)

    def add_button(self, button: QWidget) -> None:
        self._layout.addWidget(button)

    def _set_shown(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.toggle.setText(self.tr("Hide") if shown else self.tr("Show"))
        self.toggle.setToolTip(
            self.tr("Hide the secret again") if shown else self.tr("Show the secret while typing")
        )


class SettingsDialog(QDialog):
    """Edit a copy of ``settings``; Save stays disabled while ``validate`` finds a problem."""

    def __init__(
        self,
        settings: Settings,
        *,
        run_checks: RunChecks | None = None,
        first_run: bool = False,
        problem: Text | None = None,
        trigger_port: int | None = None,
        start_at_login: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._start_at_login = start_at_login
        self.setObjectName("SettingsDialog")
        self.setWindowTitle(self.tr("Settings — AFAS Tray"))
        self.setWindowIcon(app_icon())
        self._settings = settings.copy()
        self._run_checks = run_checks
        self._first_run = first_run
        self._trigger_port = trigger_port
        self._task: asyncio.Future[None] | None = None
        self._errors: dict[str, QLabel] = {}  # dotted key -> message label under the field
        self._key_tab: dict[str, int] = {}
        self._touched: set[str] = set()
        self._editors: dict[str, QWidget] = {}
        self.result_labels: list[QLabel] = []
        self.errors: dict[str, Text] = {}

        outer = QVBoxLayout(self)
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        if problem is not None:
            self.banner.setText(str(problem))
            self.banner.setStyleSheet(
                "QLabel { background: #fdecea; border: 1px solid #e57373; border-radius: 4px;"
                " padding: 8px; color: #5f2120; }"
            )
        elif first_run:
            self.banner.setText(
                self.tr(
                    "Welcome! Fill in the AFAS connection (API token, Profit server host and URL "
                    "template) and your Xelion account, then press Test connection."
                )
            )
            self.banner.setStyleSheet(
                "QLabel { background: #e8f1fb; border: 1px solid #90b8e0; border-radius: 4px;"
                " padding: 8px; color: #0d2f52; }"
            )
        self.banner.setVisible(problem is not None or first_run)
        outer.addWidget(self.banner)

        self.tabs = QTabWidget()
        # Each page scrolls, so the dialog fits a 768-pixel laptop screen with Save in view.
        self.tabs.addTab(_scrolling(self._afas_tab()), self.tr("AFAS"))
        self.tabs.addTab(_scrolling(self._xelion_tab()), self.tr("Xelion"))
        self.tabs.addTab(_scrolling(self._pop_tab()), self.tr("Caller pop"))
        self.tabs.addTab(_scrolling(self._advanced_tab()), self.tr("Advanced"))
        self.tabs.addTab(_scrolling(self._dial_tab()), self.tr("Dialling"))
        outer.addWidget(self.tabs, 1)

        outer.addWidget(self._checks_box())

        self.summary = QLabel()
        self.summary.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.summary.setWordWrap(True)
        outer.addWidget(self.summary)

        self.buttons = QDialogButtonBox()
        self.save_button = QPushButton(self.tr("Save"))
        self.save_button.setDefault(True)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self._save)
        self.cancel_button.clicked.connect(self.reject)
        outer.addWidget(self.buttons)

        self.setMinimumWidth(680)
        self._revalidate()
        self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        hint = self.sizeHint()
        # The pages scroll, so the hint is small: ask for room for the longest page, but leave
        # space for the frame and title bar the window manager adds.
        areas = [a for i in range(self.tabs.count())
                 if isinstance(a := self.tabs.widget(i), QScrollArea)]
        longest = max((w.sizeHint().height() for a in areas if (w := a.widget()) is not None),
                      default=0)
        current = max((a.viewport().height() for a in areas), default=0)
        wanted = hint.height() + max(0, longest - current)
        self.resize(min(max(hint.width(), 720), room.width() - 40), min(wanted, room.height() - 60))

    # --- building blocks -------------------------------------------------------------------------

    def _add_row(
        self,
        form: QFormLayout,
        key: str,
        label: str | None,
        editor: QWidget,
        hint: str = "",
        tab: int = 0,
    ) -> None:
        """One field: label, editor, grey hint and a red message that appears when invalid."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 2)
        column.setSpacing(2)
        if isinstance(editor, QSpinBox | QComboBox):
            column.addWidget(editor, 0, Qt.AlignmentFlag.AlignLeft)  # short values: no full width
        else:
            column.addWidget(editor)
        if hint:
            column.addWidget(hint_label(hint))
        error = QLabel()
        error.setObjectName("error")
        error.setWordWrap(True)
        error.setStyleSheet(f"color: {ERROR_COLOUR};")
        error.hide()
        column.addWidget(error)
        self._errors[key] = error
        self._key_tab[key] = tab
        self._editors[key] = editor
        if label is None:
            form.addRow(QLabel(), box)
        else:
            caption = QLabel(label)
            caption.setBuddy(editor)
            form.addRow(caption, box)

    def _line(self, value: str, placeholder: str = "", key: str = "") -> QLineEdit:
        edit = QLineEdit(value)
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(False)
        edit.textChanged.connect(lambda *_: self._changed(key))
        return edit

    def _secret(self, value: str, key: str, placeholder: str = "") -> SecretEdit:
        secret = SecretEdit(value)
        secret.edit.setPlaceholderText(placeholder)
        secret.edit.textChanged.connect(lambda *_: self._changed(key))
        return secret

    def _check(self, text: str, value: bool, key: str) -> QCheckBox:
        box = QCheckBox(text)
        box.setChecked(value)
        box.toggled.connect(lambda *_: self._changed(key))
        return box

    def _spin(self, value: int, low: int, high: int, suffix: str, key: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setValue(value if isinstance(value, int) else low)
        spin.setSuffix(suffix)
        spin.setMinimumWidth(140)
        spin.valueChanged.connect(lambda *_: self._changed(key))
        return spin

    @staticmethod
    def _form() -> tuple[QWidget, QFormLayout]:
        page = QWidget()
        form = QFormLayout(page)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return page, form

    # --- tabs ---------------------------------------------------------------------------------------

    def _afas_tab(self) -> QWidget:
        a = self._settings.afas
        page, form = self._form()
        self.afas_token = self._secret(
            a.token, "afas.token", self.tr("<token><version>1</version><data>…</data></token>")
        )
        self._add_row(
            form,
            "afas.token",
            self.tr("API token"),
            self.afas_token,
            self.tr(
                "Generated in Profit for the app connector; the whole token or only its data part."
            ),
        )
        self.afas_host = self._line(a.host, "https://12345.rest.afas.online", "afas.host")
        self._add_row(
            form,
            "afas.host",
            self.tr("Profit server host"),
            self.afas_host,
            self.tr("Test and accept environments use resttest or restaccept."),
        )
        self.afas_sync_active = self._check(
            self.tr("Sync active"), a.sync_active, "afas.sync_active"
        )
        self._add_row(
            form,
            "afas.sync_active",
            None,
            self.afas_sync_active,
            self.tr("Keeps the phone book up to date and uploads call reports."),
        )
        self.afas_dossier_type = self._line(
            "" if a.dossier_item_type is None else str(a.dossier_item_type),
            self.tr("e.g. 5"),
            "afas.dossier_item_type",
        )
        self.afas_dossier_type.setValidator(
            QRegularExpressionValidator(QRegularExpression(r"-?\d{0,9}"), self.afas_dossier_type)
        )
        self._add_row(
            form,
            "afas.dossier_item_type",
            self.tr("Dossier item type"),
            self.afas_dossier_type,
            self.tr("Needed to upload call reports; the number of the type in Profit."),
        )
        self.afas_template = self._line(
            a.insite_url_template,
            "https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>",
            "afas.insite_url_template",
        )
        self._add_row(
            form,
            "afas.insite_url_template",
            self.tr("URL template Profit organisation/person"),
            self.afas_template,
            self.tr("<BCID> is replaced by the relation's internal id (column BcId), <BCCO> by its "
                    "number (column BcCo, 'Nummer'): use the one your InSite page takes."),
        )
        self.afas_sync_mp3 = self._check(
            self.tr("Sync MP3 recordings"), a.sync_mp3, "afas.sync_mp3"
        )
        self._add_row(
            form,
            "afas.sync_mp3",
            None,
            self.afas_sync_mp3,
            self.tr("Attaches the call recording to the dossier item."),
        )
        self.afas_always_sync = self._check(
            self.tr("Always sync"), a.always_sync, "afas.always_sync"
        )
        self._add_row(
            form,
            "afas.always_sync",
            None,
            self.afas_always_sync,
            self.tr("Logs every finished call with a known relation, also without a report."),
        )
        self.afas_empty_subject = self._line(
            a.empty_subject_text, self.tr("e.g. Phone call"), "afas.empty_subject_text"
        )
        self.afas_empty_subject.setMaxLength(MAX_SUBJECT_CHARS)
        self._add_row(
            form,
            "afas.empty_subject_text",
            self.tr("Text for empty subject"),
            self.afas_empty_subject,
            self.tr("Profit requires a subject; used when a report has none."),
        )
        self.afas_recording_wait = self._spin(
            a.recording_wait_minutes, 0, 120, self.tr(" min"), "afas.recording_wait_minutes"
        )
        self._add_row(
            form,
            "afas.recording_wait_minutes",
            self.tr("Wait for recording"),
            self.afas_recording_wait,
            self.tr("Xelion can publish a recording minutes after hang-up."),
        )
        return page

    def _xelion_tab(self) -> QWidget:
        x = self._settings.xelion
        page, form = self._form()
        tab = 1
        self.xelion_host = self._line(x.host, "https://company.xelion.com", "xelion.host")
        self._add_row(
            form,
            "xelion.host",
            self.tr("Xelion server"),
            self.xelion_host,
            self.tr(
                "Leave the Xelion fields empty to receive calls only from the command line or a phone."
            ),
            tab,
        )
        self.xelion_tenant = self._line(x.tenant, self.tr("e.g. master"), "xelion.tenant")
        self._add_row(
            form,
            "xelion.tenant",
            self.tr("Tenant"),
            self.xelion_tenant,
            self.tr("The tenant name in the Xelion address."),
            tab,
        )
        self.xelion_username = self._line(x.username, self.tr("e.g. j.jansen"), "xelion.username")
        self._add_row(form, "xelion.username", self.tr("User name"), self.xelion_username, "", tab)
        self.xelion_password = self._secret(x.password, "xelion.password")
        self._add_row(
            form,
            "xelion.password",
            self.tr("Password"),
            self.xelion_password,
            self.tr("Stored in the system keychain, never in a file."),
            tab,
        )
        self.xelion_user_space = self._line(
            x.user_space, x.effective_user_space() if not x.user_space else "", "xelion.user_space"
        )
        self._add_row(
            form,
            "xelion.user_space",
            self.tr("User space"),
            self.xelion_user_space,
            self.tr("Unique name for this computer; empty uses the machine name."),
            tab,
        )
        self._trigger_row(form)
        self.xelion_addressbook = self._check(
            self.tr("Keep Xelion's address book in step with AFAS"), x.addressbook_sync,
            "xelion.addressbook_sync",
        )
        self._add_row(
            form,
            "xelion.addressbook_sync",
            None,
            self.xelion_addressbook,
            self.tr("Puts AFAS relations into Xelion so every phone shows the caller's name. "
                    "Turn this on for one desk or one server only, not on every desk."),
            tab,
        )
        return page

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

    def _pop_tab(self) -> QWidget:
        p = self._settings.pop
        t = self._settings.trigger
        page, form = self._form()
        tab = 2
        self.pop_on = QComboBox()
        for value, text in (
            ("ring", self.tr("When the phone rings")),
            ("answer", self.tr("When I answer")),
            ("off", self.tr("Off")),
        ):
            self.pop_on.addItem(text, value)
        self.pop_on.setMinimumWidth(260)
        self.pop_on.setCurrentIndex(max(0, self.pop_on.findData(p.on)))
        self.pop_on.currentIndexChanged.connect(lambda *_: self._changed("pop.on"))
        self._add_row(
            form,
            "pop.on",
            self.tr("Open the AFAS card"),
            self.pop_on,
            self.tr("When the caller's relation card opens in the browser."),
            tab,
        )
        self.pop_dedupe = self._spin(p.dedupe_seconds, 0, 600, self.tr(" s"), "pop.dedupe_seconds")
        self._add_row(
            form,
            "pop.dedupe_seconds",
            self.tr("Ignore repeats within"),
            self.pop_dedupe,
            self.tr("The same call reported twice opens one card."),
            tab,
        )
        self.pop_internal = self._spin(
            p.internal_max_digits, 0, 12, self.tr(" digits"), "pop.internal_max_digits"
        )
        self._add_row(
            form,
            "pop.internal_max_digits",
            self.tr("Internal extensions up to"),
            self.pop_internal,
            self.tr("Calls from numbers this short never open a card and are not logged."),
            tab,
        )
        self.pop_own_numbers = self._line(
            ", ".join(p.own_numbers), "+31 20 123 4567, 020 765 4321", "pop.own_numbers"
        )
        self._add_row(
            form,
            "pop.own_numbers",
            self.tr("Own numbers"),
            self.pop_own_numbers,
            self.tr("The company's own numbers, comma separated: never a card, never logged."),
            tab,
        )
        self.pop_unknown = self._line(
            p.unknown_url_template,
            "https://12345.afasinsite.nl/…?…=<NUMBER>",
            "pop.unknown_url_template",
        )
        self._add_row(
            form,
            "pop.unknown_url_template",
            self.tr("Page for unknown callers"),
            self.pop_unknown,
            self.tr("Optional; <NUMBER> is replaced by the caller's number. Empty: a notice only."),
            tab,
        )
        self._card_and_filter_rows(form, tab)
        self.trigger_enabled = self._check(
            self.tr("Loopback HTTP trigger"), t.http_enabled, "trigger.http_enabled"
        )
        self._add_row(
            form,
            "trigger.http_enabled",
            None,
            self.trigger_enabled,
            self.tr("Lets a desk phone or softphone on this computer report calls."),
            tab,
        )
        self.trigger_port = self._spin(t.http_port, 0, 65535, "", "trigger.http_port")
        self.trigger_port.setSpecialValueText(self.tr("Automatic"))
        if self._trigger_port:
            port_hint = self.tr("Now listening on http://127.0.0.1:{port}/call?number=…").format(
                port=self._trigger_port
            )
        else:
            port_hint = self.tr("Automatic picks a free port per user (terminal servers).")
        self._add_row(form, "trigger.http_port", self.tr("Port"), self.trigger_port, port_hint, tab)
        self.trigger_secret = self._secret(t.secret, "trigger.secret")
        self.new_secret_button = QToolButton()
        self.new_secret_button.setText(self.tr("New"))
        self.new_secret_button.setToolTip(self.tr("Generate a new random secret"))
        self.new_secret_button.clicked.connect(
            lambda: self.trigger_secret.edit.setText(new_trigger_secret())
        )
        self.trigger_secret.add_button(self.new_secret_button)
        self._add_row(
            form,
            "trigger.secret",
            self.tr("Secret"),
            self.trigger_secret,
            self.tr("The phone sends it with every call, so no other program can pop cards."),
            tab,
        )
        self.trigger_enabled.toggled.connect(self._trigger_enabled_changed)
        self._trigger_enabled_changed(t.http_enabled)
        return page

    def _card_and_filter_rows(self, form: QFormLayout, tab: int) -> None:
        """The caller card, do not disturb and the logging filters (issue 17)."""
        c, r = self._settings.card, self._settings.reports
        self.card_browser = self._check(self.tr("Open the card in the browser"), c.open_browser,
                                        "card.open_browser")
        self._add_row(form, "card.open_browser", self.tr("When a call rings"), self.card_browser,
                      self.tr("The relation's InSite card in the default browser, as before."),
                      tab)
        self.card_show = self._check(self.tr("Show the caller card"), c.show, "card.show")
        self._add_row(form, "card.show", None, self.card_show, self.tr(
            "A small window near the tray: who is calling and the last three dossier items. "
            "It never takes the keyboard."), tab)
        self.card_position = QComboBox()
        for value, text in (
            ("tray", self.tr("Near the tray")),
            ("top_right", self.tr("Top right")),
            ("top_left", self.tr("Top left")),
            ("bottom_left", self.tr("Bottom left")),
            ("center", self.tr("Centre of the screen")),
        ):
            self.card_position.addItem(text, value)
        self.card_position.setMinimumWidth(260)
        self.card_position.setCurrentIndex(max(0, self.card_position.findData(c.position)))
        self.card_position.currentIndexChanged.connect(lambda *_: self._changed("card.position"))
        self._add_row(form, "card.position", self.tr("Caller card position"),
                      self.card_position, "", tab)
        self.card_seconds = self._spin(c.seconds, 0, 3600, self.tr(" s"), "card.seconds")
        self.card_seconds.setSpecialValueText(self.tr("Until the call ends"))
        self.card_seconds.setMinimumWidth(200)
        self._add_row(form, "card.seconds", self.tr("Caller card stays"), self.card_seconds,
                      self.tr("It always closes when the call ends, unless it stays until closed."),
                      tab)
        self.card_stay = self._check(self.tr("Stay until closed"), c.stay_until_closed,
                                     "card.stay_until_closed")
        self._add_row(form, "card.stay_until_closed", None, self.card_stay, "", tab)
        self.pop_dnd = self._check(self.tr("Follow do not disturb in Xelion"),
                                   self._settings.pop.follow_do_not_disturb,
                                   "pop.follow_do_not_disturb")
        self._add_row(form, "pop.follow_do_not_disturb", None, self.pop_dnd, self.tr(
            "While do not disturb is on in Xelion, calls open nothing; they are still logged."),
            tab)
        self.log_min = self._spin(r.min_duration_seconds, 0, 24 * 3600, self.tr(" s"),
                                  "reports.min_duration_seconds")
        self._add_row(form, "reports.min_duration_seconds", self.tr("Log calls from"),
                      self.log_min, self.tr(
                          "Shorter calls go to AFAS only with a written report. 0: every call."),
                      tab)
        self.log_outgoing = self._check(self.tr("Log outgoing calls"), r.log_outgoing,
                                        "reports.log_outgoing")
        self._add_row(form, "reports.log_outgoing", None, self.log_outgoing, self.tr(
            "Off: outgoing calls go to AFAS only with a written report."), tab)
        self.log_never = self._line(", ".join(r.never_log_numbers), "06 12345678",
                                    "reports.never_log_numbers")
        self._add_row(form, "reports.never_log_numbers", self.tr("Never log"), self.log_never,
                      self.tr("Numbers, comma separated, whose calls never reach AFAS "
                              "(besides the own numbers)."), tab)

    def _collect_card_and_filters(self, s: Settings) -> None:
        s.card.open_browser = self.card_browser.isChecked()
        s.card.show = self.card_show.isChecked()
        s.card.position = str(self.card_position.currentData())
        s.card.seconds = self.card_seconds.value()
        s.card.stay_until_closed = self.card_stay.isChecked()
        s.pop.follow_do_not_disturb = self.pop_dnd.isChecked()
        s.reports.min_duration_seconds = self.log_min.value()
        s.reports.log_outgoing = self.log_outgoing.isChecked()
        s.reports.never_log_numbers = _split_list(self.log_never.text())

    def _trigger_enabled_changed(self, enabled: bool) -> None:
        self.trigger_port.setEnabled(enabled)
        self.trigger_secret.setEnabled(enabled)

    def _advanced_tab(self) -> QWidget:
        a = self._settings.afas
        page = QWidget()
        column = QVBoxLayout(page)
        tab = 3

        connectors = QGroupBox(self.tr("GetConnectors"))
        form = QFormLayout(connectors)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.connector_edits: dict[str, QLineEdit] = {}
        titles = {
            "organisations": self.tr("Organisations"),
            "persons": self.tr("Persons"),
            "contacts": self.tr("Contact persons"),
        }
        for role in ROLES:
            key = f"afas.connectors.{role}"
            edit = self._line(getattr(a.connectors, role), "", key)
            self.connector_edits[role] = edit
            hint = (
                self.tr("All three must exist in Profit; one may return no rows.")
                if role == "contacts"
                else ""
            )
            self._add_row(form, key, titles[role], edit, hint, tab)
        column.addWidget(connectors)

        mapping_box = QGroupBox(self.tr("Column mapping (empty: detected automatically)"))
        grid = QGridLayout(mapping_box)
        row_titles = {
            "id": self.tr("Id column"),
            "bcid": self.tr("BcId column"),
            "name": self.tr("Name column"),
            "phones": self.tr("Phone columns"),
            "organisation": self.tr("Organisation column"),
            "modified": self.tr("Modified column"),
        }
        self.mapping_edits: dict[tuple[str, str], QLineEdit] = {}
        for c, role in enumerate(ROLES, start=1):
            head = QLabel(titles[role])
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(head, 0, c)
        for r, name in enumerate(MAPPING_FIELDS, start=1):
            grid.addWidget(QLabel(row_titles[name]), r, 0)
            for c, role in enumerate(ROLES, start=1):
                m = a.connectors.mapping.get(role, ColumnMapping())
                value = getattr(m, name)
                edit = self._line(
                    ", ".join(value) if isinstance(value, list) else str(value),
                    self.tr("automatic"),
                    "afas.connectors.mapping",
                )
                if name == "phones":
                    edit.setToolTip(
                        self.tr("Several columns, comma separated, e.g. TelWork, MobWork")
                    )
                self.mapping_edits[(role, name)] = edit
                grid.addWidget(edit, r, c)
        column.addWidget(mapping_box)

        general = QGroupBox(self.tr("General"))
        form = QFormLayout(general)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.sync_interval = self._spin(
            self._settings.sync.interval_minutes,
            1,
            24 * 60,
            self.tr(" min"),
            "sync.interval_minutes",
        )
        self._add_row(
            form,
            "sync.interval_minutes",
            self.tr("Sync interval"),
            self.sync_interval,
            self.tr("How often the phone book is refreshed; a click on the icon syncs at once."),
            tab,
        )
        self.region = self._line(self._settings.phone.default_region, "NL", "phone.default_region")
        self.region.setMaxLength(2)
        self.region.setMaximumWidth(60)
        self._add_row(
            form,
            "phone.default_region",
            self.tr("Default country"),
            self.region,
            self.tr("For numbers written without a country code (NL, BE, DE, …)."),
            tab,
        )
        self.language = QComboBox()
        for value, text in (
            ("system", self.tr("System language")),
            ("nl", self.tr("Nederlands")),
            ("en", self.tr("English")),
        ):
            self.language.addItem(text, value)
        self.language.setMinimumWidth(200)
        self.language.setCurrentIndex(max(0, self.language.findData(self._settings.ui.language)))
        self.language.currentIndexChanged.connect(lambda *_: self._changed("ui.language"))
        self._add_row(form, "ui.language", self.tr("Language"), self.language, "", tab)
        # The OS's login items are the truth for this one, not the settings file.
        self.start_at_login = QCheckBox(self.tr("Start at login"))
        self.start_at_login.setChecked(self._start_at_login)
        self._add_row(form, "start_at_login", None, self.start_at_login,
                      self.tr("Start AFAS Tray when you log in to this computer."), tab)
        column.addWidget(general)
        column.addStretch(1)
        return page

    def _checks_box(self) -> QWidget:
        box = QGroupBox(self.tr("Connection"))
        column = QVBoxLayout(box)
        row = QHBoxLayout()
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.setToolTip(
            self.tr("Checks the host, the token, the three GetConnectors and Xelion.")
        )
        self.test_button.setAutoDefault(False)
        self.test_button.clicked.connect(self._start_checks)
        self.test_button.setVisible(self._run_checks is not None)
        self.test_status = QLabel()
        row.addWidget(self.test_button)
        row.addWidget(self.test_status, 1)
        column.addLayout(row)
        self.results_box = QWidget()
        self.results_layout = QVBoxLayout(self.results_box)
        self.results_layout.setContentsMargins(4, 0, 0, 0)
        self.results_layout.setSpacing(2)
        column.addWidget(self.results_box)
        box.setVisible(self._run_checks is not None)
        return box

    # --- reading the widgets ------------------------------------------------------------------------

    def _collect(self) -> Settings:
        s = self._settings.copy()
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
        for role, edit in self.connector_edits.items():
            setattr(a.connectors, role, edit.text().strip())
        mapping: dict[str, ColumnMapping] = {}
        for role in ROLES:
            values: dict[str, Any] = {}
            for name in MAPPING_FIELDS:
                text = self.mapping_edits[(role, name)].text()
                values[name] = _split_list(text) if name == "phones" else text.strip()
            m = ColumnMapping(**values)
            if m != ColumnMapping():
                mapping[role] = m
        a.connectors.mapping = mapping
        x = s.xelion
        x.host = self.xelion_host.text().strip()
        x.tenant = self.xelion_tenant.text().strip()
        x.username = self.xelion_username.text().strip()
        x.password = self.xelion_password.edit.text()
        x.user_space = self.xelion_user_space.text().strip()
        x.addressbook_sync = self.xelion_addressbook.isChecked()
        p = s.pop
        p.on = str(self.pop_on.currentData())
        p.dedupe_seconds = self.pop_dedupe.value()
        p.internal_max_digits = self.pop_internal.value()
        p.own_numbers = _split_list(self.pop_own_numbers.text())
        p.unknown_url_template = self.pop_unknown.text().strip()
        t = s.trigger
        t.http_enabled = self.trigger_enabled.isChecked()
        t.http_port = self.trigger_port.value()
        t.secret = self.trigger_secret.edit.text().strip()
        s.sync.interval_minutes = self.sync_interval.value()
        s.phone.default_region = self.region.text().strip().upper()
        s.ui.language = str(self.language.currentData())
        self._collect_card_and_filters(s)
        self._collect_dial(s)
        return s

    # --- dialling and missed calls (issue 16) ------------------------------------------------------

    def _dial_tab(self) -> QWidget:
        d = self._settings.dial
        page, form = self._form()
        tab = self.tabs.count()  # appended after the other tabs
        self.dial_device = self._line(d.device_number, "+31 6 1234 5678", "dial.device_number")
        self._add_row(
            form, "dial.device_number", self.tr("My phone number"), self.dial_device,
            self.tr("Xelion rings this phone first and then connects you to the number you "
                    "dial. Needed for dialling through Xelion."),
            tab,
        )
        self.dial_softphone = self._check(
            self.tr("Dial with my softphone (the system's tel: app) instead of Xelion"),
            d.prefer_softphone, "dial.prefer_softphone")
        self._add_row(
            form, "dial.prefer_softphone", None, self.dial_softphone,
            self.tr("Make your softphone the default app for tel: links, or AFAS Tray cannot "
                    "reach it."),
            tab,
        )
        self.dial_missed_dossier = self._check(
            self.tr("Record a missed call of a known relation as a dossier item"),
            d.missed_to_dossier, "dial.missed_to_dossier")
        self._add_row(
            form, "dial.missed_to_dossier", None, self.dial_missed_dossier,
            self.tr("Subject 'Gemiste oproep'; needs the dossier item type on the AFAS tab."),
            tab,
        )
        self.dial_hotkey = self._line(d.hotkey, self.tr("<ctrl>+<alt>+d"), "dial.hotkey")
        self._add_row(
            form, "dial.hotkey", self.tr("Dial hotkey"), self.dial_hotkey,
            self.tr("Dials the copied (on Linux: the selected) number from any program. Empty: "
                    "no hotkey. Needs the optional pynput package; see the README."),
            tab,
        )
        return page

    def _collect_dial(self, s: Settings) -> None:
        if not hasattr(self, "dial_hotkey"):  # still building the tabs
            return
        d = s.dial
        d.device_number = self.dial_device.text().strip()
        d.prefer_softphone = self.dial_softphone.isChecked()
        d.missed_to_dossier = self.dial_missed_dossier.isChecked()
        d.hotkey = self.dial_hotkey.text().strip()

    def _changed(self, key: str) -> None:
        if key:
            self._touched.add(key)
        self._revalidate()

    def _revalidate(self) -> None:
        current = self._collect()
        if current.trigger.http_enabled and not current.trigger.secret:
            # The trigger needs a secret; fill one in rather than nag about it.
            self.trigger_secret.edit.setText(new_trigger_secret())
            return  # setText re-enters via textChanged
        self.errors = validate(current, require_secrets=True)
        bad_tabs: set[int] = set()
        for key, label in self._errors.items():
            message = self.errors.get(key)
            if message is not None and self._first_run and key not in self._touched:
                editor = self._editors.get(key)
                if isinstance(editor, QLineEdit) and not editor.text():
                    message = None  # first run: don't shout about fields not reached yet
                if isinstance(editor, SecretEdit) and not editor.edit.text():
                    message = None
            label.setText(str(message) if message is not None else "")
            label.setVisible(message is not None)
            if key in self.errors:
                bad_tabs.add(self._key_tab[key])
        unplaced = [str(m) for k, m in self.errors.items() if k not in self._errors]
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for i in range(self.tabs.count()):
            self.tabs.setTabIcon(i, warning if i in bad_tabs else QIcon())
        if self.errors:
            self.summary.setText(
                " ".join([self.tr("Complete or correct the marked fields to save."), *unplaced])
            )
        else:
            self.summary.setText("")
        self.summary.setVisible(bool(self.errors))
        self.save_button.setEnabled(not self.errors)

    # --- test connection -------------------------------------------------------------------------

    def _start_checks(self) -> None:
        if self._run_checks is None or (self._task is not None and not self._task.done()):
            return
        for label in self.result_labels:
            label.deleteLater()
        self.result_labels.clear()
        self.test_button.setEnabled(False)
        self.test_status.setText(self.tr("Testing…"))
        try:
            self._task = asyncio.ensure_future(self._checks(self._collect()))
        except RuntimeError:  # no asyncio loop runs under Qt (qasync not set up)
            self.test_button.setEnabled(True)
            self.test_status.setText(self.tr("The test could not start."))

    async def _checks(self, settings: Settings) -> None:
        assert self._run_checks is not None
        total = failed = 0
        try:
            async for result in self._run_checks(settings):
                total += 1
                failed += 0 if result.ok else 1
                self._add_result(result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("Test connection stopped", exc_info=True)
            failed += 1
            self.test_status.setText(self.tr("The test stopped unexpectedly; see the log."))
        else:
            if failed:
                self.test_status.setText(
                    self.tr("{failed} of {total} checks failed.").format(failed=failed, total=total)
                )
            else:
                self.test_status.setText(self.tr("All {total} checks passed.").format(total=total))
        finally:
            self.test_button.setEnabled(True)

    def _add_result(self, result: CheckResult) -> None:
        if not result.ok:
            mark, colour = "✗", ERROR_COLOUR
        elif result.warning:
            mark, colour = "!", WARN_COLOUR
        else:
            mark, colour = "✓", OK_COLOUR
        detail = str(result.detail)
        line = f"{mark} {result.title}" + (f" — {detail}" if detail else "")
        label = QLabel(line)
        label.setObjectName("result")
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {colour};")
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setProperty("ok", result.ok)
        self.results_layout.addWidget(label)
        self.result_labels.append(label)

    def result_lines(self) -> list[str]:
        return [label.text() for label in self.result_labels]

    def checks_running(self) -> bool:
        return self._task is not None and not self._task.done()

    # --- closing -----------------------------------------------------------------------------------

    def _save(self) -> None:
        self._revalidate()
        if not self.errors:
            self.accept()

    def result_settings(self) -> Settings:
        """The edited settings (a new object; the one passed in is untouched)."""
        return self._collect()

    def done(self, result: int) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().closeEvent(event)
