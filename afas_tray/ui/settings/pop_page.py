"""The caller-pop tab: when a card opens, the caller card, what is logged, the HTTP trigger."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QToolButton

from afas_tray.config import Settings, new_trigger_secret
from afas_tray.ui.settings.fields import FieldRegistry, SettingsPage, split_list


class PopPage(SettingsPage):
    def __init__(self, settings: Settings, fields: FieldRegistry, tab: int,
                 trigger_port: int | None = None) -> None:
        super().__init__(settings, fields, tab)
        p = settings.pop
        form = self.form()
        self.pop_on = self.choice((
            ("ring", self.tr("When the phone rings")),
            ("answer", self.tr("When I answer")),
            ("off", self.tr("Off")),
        ), p.on, "pop.on")
        self.add_row(form, "pop.on", self.tr("Open the AFAS card"), self.pop_on,
                     self.tr("When the caller's relation card opens in the browser."))
        self.pop_dedupe = self.spin(p.dedupe_seconds, 0, 600, self.tr(" s"), "pop.dedupe_seconds")
        self.add_row(form, "pop.dedupe_seconds", self.tr("Ignore repeats within"),
                     self.pop_dedupe, self.tr("The same call reported twice opens one card."))
        self.pop_internal = self.spin(
            p.internal_max_digits, 0, 12, self.tr(" digits"), "pop.internal_max_digits"
        )
        self.add_row(form, "pop.internal_max_digits", self.tr("Internal extensions up to"),
                     self.pop_internal, self.tr(
                         "Calls from numbers this short never open a card and are not logged."))
        self.pop_own_numbers = self.line(
            ", ".join(p.own_numbers), "+31 20 123 4567, 020 765 4321", "pop.own_numbers"
        )
        self.add_row(form, "pop.own_numbers", self.tr("Own numbers"), self.pop_own_numbers,
                     self.tr("The company's own numbers, comma separated: never a card, never "
                             "logged."))
        self.pop_unknown = self.line(
            p.unknown_url_template,
            "https://12345.afasinsite.nl/…?…=<NUMBER>",
            "pop.unknown_url_template",
        )
        self.add_row(form, "pop.unknown_url_template", self.tr("Page for unknown callers"),
                     self.pop_unknown, self.tr(
                         "Optional; <NUMBER> is replaced by the caller's number. Empty: a notice "
                         "only."))
        self._card_and_filter_rows(form)
        self._trigger_rows(form, trigger_port)

    def _card_and_filter_rows(self, form: QFormLayout) -> None:
        """The caller card, do not disturb and the logging filters."""
        c, r = self._settings.card, self._settings.reports
        self.card_browser = self.check(self.tr("Open the card in the browser"), c.open_browser,
                                       "card.open_browser")
        self.add_row(form, "card.open_browser", self.tr("When a call rings"), self.card_browser,
                     self.tr("The relation's InSite card in the default browser, as before."))
        self.card_show = self.check(self.tr("Show the caller card"), c.show, "card.show")
        self.add_row(form, "card.show", None, self.card_show, self.tr(
            "A small window near the tray: who is calling and the last three dossier items. "
            "It never takes the keyboard."))
        self.card_position = self.choice((
            ("tray", self.tr("Near the tray")),
            ("top_right", self.tr("Top right")),
            ("top_left", self.tr("Top left")),
            ("bottom_left", self.tr("Bottom left")),
            ("center", self.tr("Centre of the screen")),
        ), c.position, "card.position")
        self.add_row(form, "card.position", self.tr("Caller card position"), self.card_position)
        self.card_seconds = self.spin(c.seconds, 0, 3600, self.tr(" s"), "card.seconds")
        self.card_seconds.setSpecialValueText(self.tr("Until the call ends"))
        self.card_seconds.setMinimumWidth(200)
        self.add_row(form, "card.seconds", self.tr("Caller card stays"), self.card_seconds,
                     self.tr("It always closes when the call ends, unless it stays until "
                             "closed."))
        self.card_stay = self.check(self.tr("Stay until closed"), c.stay_until_closed,
                                    "card.stay_until_closed")
        self.add_row(form, "card.stay_until_closed", None, self.card_stay)
        self.pop_dnd = self.check(self.tr("Follow do not disturb in Xelion"),
                                  self._settings.pop.follow_do_not_disturb,
                                  "pop.follow_do_not_disturb")
        self.add_row(form, "pop.follow_do_not_disturb", None, self.pop_dnd, self.tr(
            "While do not disturb is on in Xelion, calls open nothing; they are still logged."))
        self.log_min = self.spin(r.min_duration_seconds, 0, 24 * 3600, self.tr(" s"),
                                 "reports.min_duration_seconds")
        self.add_row(form, "reports.min_duration_seconds", self.tr("Log calls from"),
                     self.log_min, self.tr(
                         "Shorter calls go to AFAS only with a written report. 0: every call."))
        self.log_outgoing = self.check(self.tr("Log outgoing calls"), r.log_outgoing,
                                       "reports.log_outgoing")
        self.add_row(form, "reports.log_outgoing", None, self.log_outgoing, self.tr(
            "Off: outgoing calls go to AFAS only with a written report."))
        self.log_never = self.line(", ".join(r.never_log_numbers), "06 12345678",
                                   "reports.never_log_numbers")
        self.add_row(form, "reports.never_log_numbers", self.tr("Never log"), self.log_never,
                     self.tr("Numbers, comma separated, whose calls never reach AFAS "
                             "(besides the own numbers)."))

    def _trigger_rows(self, form: QFormLayout, listening_port: int | None) -> None:
        t = self._settings.trigger
        self.trigger_enabled = self.check(
            self.tr("Loopback HTTP trigger"), t.http_enabled, "trigger.http_enabled"
        )
        self.add_row(form, "trigger.http_enabled", None, self.trigger_enabled,
                     self.tr("Lets a desk phone or softphone on this computer report calls."))
        self.trigger_port = self.spin(t.http_port, 0, 65535, "", "trigger.http_port")
        self.trigger_port.setSpecialValueText(self.tr("Automatic"))
        if listening_port:
            port_hint = self.tr("Now listening on http://127.0.0.1:{port}/call?number=…").format(
                port=listening_port
            )
        else:
            port_hint = self.tr("Automatic picks a free port per user (terminal servers).")
        self.add_row(form, "trigger.http_port", self.tr("Port"), self.trigger_port, port_hint)
        self.trigger_secret = self.secret(t.secret, "trigger.secret")
        self.new_secret_button = QToolButton()
        self.new_secret_button.setText(self.tr("New"))
        self.new_secret_button.setToolTip(self.tr("Generate a new random secret"))
        self.new_secret_button.clicked.connect(
            lambda: self.trigger_secret.edit.setText(new_trigger_secret())
        )
        self.trigger_secret.add_button(self.new_secret_button)
        self.add_row(form, "trigger.secret", self.tr("Secret"), self.trigger_secret, self.tr(
            "The phone sends it with every call, so no other program can pop cards."))
        self.trigger_enabled.toggled.connect(self._trigger_enabled_changed)
        self._trigger_enabled_changed(t.http_enabled)

    def _trigger_enabled_changed(self, enabled: bool) -> None:
        self.trigger_port.setEnabled(enabled)
        self.trigger_secret.setEnabled(enabled)

    def collect(self, s: Settings) -> None:
        p = s.pop
        p.on = str(self.pop_on.currentData())
        p.dedupe_seconds = self.pop_dedupe.value()
        p.internal_max_digits = self.pop_internal.value()
        p.own_numbers = split_list(self.pop_own_numbers.text())
        p.unknown_url_template = self.pop_unknown.text().strip()
        p.follow_do_not_disturb = self.pop_dnd.isChecked()
        s.card.open_browser = self.card_browser.isChecked()
        s.card.show = self.card_show.isChecked()
        s.card.position = str(self.card_position.currentData())
        s.card.seconds = self.card_seconds.value()
        s.card.stay_until_closed = self.card_stay.isChecked()
        s.reports.min_duration_seconds = self.log_min.value()
        s.reports.log_outgoing = self.log_outgoing.isChecked()
        s.reports.never_log_numbers = split_list(self.log_never.text())
        t = s.trigger
        t.http_enabled = self.trigger_enabled.isChecked()
        t.http_port = self.trigger_port.value()
        t.secret = self.trigger_secret.edit.text().strip()
