"""Settings dialog: every field of the AFAS manual and Xelion, validated while typing.

Edits a copy of the settings; the caller reads ``result_settings()`` after ``accepted``. Each
tab is a page module of its own (``afas_page``, ``xelion_page``, ``pop_page``,
``advanced_page``, ``dial_page``); this frame validates them together and runs "Test
connection": the doctor checks as an asyncio task (qasync), so the window keeps responding and
each result appears as it arrives. Open it with ``open()``/``show()`` rather than ``exec()``
from inside a coroutine: a nested loop inside a running task blocks other tasks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from afas_tray.config import Settings, new_trigger_secret, validate
from afas_tray.i18n import Text
from afas_tray.models import CheckResult
from afas_tray.ui.icons import app_icon
from afas_tray.ui.settings.advanced_page import AdvancedPage
from afas_tray.ui.settings.afas_page import AfasPage
from afas_tray.ui.settings.dial_page import DialPage
from afas_tray.ui.settings.fields import (
    ERROR_COLOUR,
    OK_COLOUR,
    WARN_COLOUR,
    FieldRegistry,
    SecretEdit,
)
from afas_tray.ui.settings.pop_page import PopPage
from afas_tray.ui.settings.xelion_page import XelionPage

log = logging.getLogger(__name__)

RunChecks = Callable[[Settings], AsyncIterator[CheckResult]]


def _scrolling(page: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return area


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
        self.setObjectName("SettingsDialog")
        self.setWindowTitle(self.tr("Settings — AFAS Tray"))
        self.setWindowIcon(app_icon())
        self._settings = settings.copy()
        self._run_checks = run_checks
        self._first_run = first_run
        self._task: asyncio.Future[None] | None = None
        self._built = False
        self._touched: set[str] = set()
        self._fields = FieldRegistry(self._changed)
        self._errors = self._fields.errors  # dotted key -> message label under the field
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

        s, f = self._settings, self._fields
        self.afas = AfasPage(s, f, 0)
        self.xelion = XelionPage(s, f, 1)
        self.pop = PopPage(s, f, 2, trigger_port)
        self.advanced = AdvancedPage(s, f, 3, start_at_login)
        self.dialling = DialPage(s, f, 4)
        self.pages: list[AfasPage | XelionPage | PopPage | AdvancedPage | DialPage] = [
            self.afas, self.xelion, self.pop, self.advanced, self.dialling]
        self.tabs = QTabWidget()
        # Each page scrolls, so the dialog fits a 768-pixel laptop screen with Save in view.
        for page, title in zip(self.pages, (
            self.tr("AFAS"), self.tr("Xelion"), self.tr("Caller pop"), self.tr("Advanced"),
            self.tr("Dialling"),
        ), strict=True):
            self.tabs.addTab(_scrolling(page), title)
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
        self._built = True
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

    # --- reading the pages ------------------------------------------------------------------------

    def _collect(self) -> Settings:
        s = self._settings.copy()
        for page in self.pages:
            page.collect(s)
        return s

    def start_at_login_wanted(self) -> bool:
        """The login-item choice: the operating system keeps it, not the settings file."""
        return self.advanced.start_at_login.isChecked()

    def _changed(self, key: str) -> None:
        if not self._built:
            return
        if key:
            self._touched.add(key)
        self._revalidate()

    def _revalidate(self) -> None:
        current = self._collect()
        if current.trigger.http_enabled and not current.trigger.secret:
            # The trigger needs a secret; fill one in rather than nag about it.
            self.pop.trigger_secret.edit.setText(new_trigger_secret())
            return  # setText re-enters via textChanged
        self.errors = validate(current, require_secrets=True)
        bad_tabs: set[int] = set()
        for key, label in self._errors.items():
            message = self.errors.get(key)
            if message is not None and self._first_run and key not in self._touched:
                editor = self._fields.editors.get(key)
                if isinstance(editor, QLineEdit) and not editor.text():
                    message = None  # first run: don't shout about fields not reached yet
                if isinstance(editor, SecretEdit) and not editor.edit.text():
                    message = None
            label.setText(str(message) if message is not None else "")
            label.setVisible(message is not None)
            if key in self.errors:
                bad_tabs.add(self._fields.tabs[key])
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
