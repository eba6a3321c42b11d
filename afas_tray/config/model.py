"""The typed Settings: every field of the Xelion–AFAS manual plus Xelion's own, and the names
the rest of the app shares (the three connector roles, the secret fields).

Secrets (AFAS token, Xelion password, trigger secret) are fields here but never part of the
JSON file (``store``): they live in the OS keychain, see ``system/secrets.py``.
"""

from __future__ import annotations

import re
import secrets as _stdlib_secrets
import socket
from dataclasses import dataclass, field

from afas_tray.errors import AppError
from afas_tray.i18n import T

SCHEMA_VERSION = 1
ROLES = ("organisations", "persons", "contacts")
# What each role is called in messages (the doctor, the command line).
ROLE_TEXT = {
    "organisations": T("organisations", "organisaties"),
    "persons": T("persons", "personen"),
    "contacts": T("contact persons", "contactpersonen"),
}
# The secret fields, as dotted keys: keychain only, never in the JSON file or a log line.
SECRET_KEYS = ("afas.token", "xelion.password", "trigger.secret")


@dataclass
class ColumnMapping:
    """Which connector columns hold what. Empty fields are detected from metainfo."""

    id: str = ""  # the row's own key (BcCo / PerNumber / ContactId …)
    bcid: str = ""  # the relation BcId that the InSite card needs
    name: str = ""
    phones: list[str] = field(default_factory=list)
    organisation: str = ""  # contacts: BcId (or number) of the owning organisation
    modified: str = ""  # modification-date column for incremental sync
    created: str = ""  # creation-date column ("Aangemaakt op"): new rows may carry no modified date


@dataclass
class DossierColumns:
    """Columns of the dossier-item GetConnector the outbox reads back. Empty: from metainfo."""

    id: str = ""  # SubjectId in Profit_Subjects
    type: str = ""  # TypeId
    text: str = ""  # Comment (KnSubject's SbTx)
    date: str = ""  # DateCreated
    relation: str = ""  # OrgPersId


@dataclass
class ConnectorSettings:
    organisations: str = "AfasTray_Organisaties"
    persons: str = "AfasTray_Personen"
    contacts: str = "AfasTray_Contactpersonen"
    # Dossier items: how the outbox checks what already arrived. AFAS advises own connectors;
    # Profit_Subjects (the supplied one) works too. (Was ``subjects``; old files are read.)
    dossier_items: str = "Profit_Subjects"
    dossier_columns: DossierColumns = field(default_factory=DossierColumns)
    link_by: str = "number"  # KnSubjectLink BcId: "number" (BcCo) or "id" (the internal BcId)
    mapping: dict[str, ColumnMapping] = field(default_factory=dict)  # role -> mapping

    def ids(self) -> dict[str, str]:
        return {r: getattr(self, r) for r in ROLES}


@dataclass
class AfasSettings:
    host: str = ""
    token: str = ""  # secret: keychain only
    sync_active: bool = True
    dossier_item_type: int | None = None
    insite_url_template: str = ""
    sync_mp3: bool = False
    always_sync: bool = False
    empty_subject_text: str = "Telefoongesprek"
    recording_wait_minutes: int = 10  # Xelion may publish a recording late
    integration_id: str = ""  # optional IntegrationId header (AFAS partners: e.g. 12345_678900)
    connectors: ConnectorSettings = field(default_factory=ConnectorSettings)


@dataclass
class XelionSettings:
    host: str = ""
    tenant: str = ""
    username: str = ""
    password: str = ""  # secret: keychain only
    user_space: str = ""  # empty: afas-tray-<machine name>
    # Keep Xelion's own address book in step with AFAS (issue 15). Off by default: meant for ONE
    # desk or one server per Xelion tenant, not for every operator's desk.
    addressbook_sync: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.host and self.tenant and self.username and self.password)

    def effective_user_space(self) -> str:
        if self.user_space:
            return self.user_space
        host = re.sub(r"[^A-Za-z0-9_-]", "-", socket.gethostname())[:40] or "desk"
        return f"afas-tray-{host}"


@dataclass
class SyncSettings:
    interval_minutes: int = 5


@dataclass
class PhoneSettings:
    default_region: str = "NL"


@dataclass
class PopSettings:
    """Caller pop: when to open the card."""

    on: str = "ring"  # ring | answer | off
    dedupe_seconds: int = 5
    internal_max_digits: int = 5  # extensions this short never pop or log
    own_numbers: list[str] = field(default_factory=list)  # the company's own numbers: never pop
    unknown_url_template: str = ""  # optional page for unknown callers, with <NUMBER>
    follow_do_not_disturb: bool = False  # Xelion's doNotDisturbEvent pauses the pop (not the log)


@dataclass
class TriggerSettings:
    """Loopback HTTP trigger for desk phones and softphones (off until enabled)."""

    http_enabled: bool = False
    http_port: int = 0  # 0: chosen per user automatically
    secret: str = ""  # secret: keychain only; generated on first use


CARD_POSITIONS = ("tray", "top_right", "top_left", "bottom_left", "center")


@dataclass
class CardSettings:
    """What a ringing call shows: the browser card (today's behaviour) and/or the caller card."""

    open_browser: bool = True  # open the InSite card in the default browser
    show: bool = False  # show the desk's own caller card near the tray
    position: str = "tray"  # one of CARD_POSITIONS
    seconds: int = 0  # close after this long; 0: when the call ends
    stay_until_closed: bool = False  # never close by itself


@dataclass
class ReportFilterSettings:
    """Which finished calls never become dossier items (besides internal and own numbers)."""

    min_duration_seconds: int = 0
    log_outgoing: bool = True
    never_log_numbers: list[str] = field(default_factory=list)


@dataclass
class UiSettings:
    language: str = "system"  # system | nl | en


@dataclass
class DialSettings:
    """Dialling and missed calls (issue 16)."""

    prefer_softphone: bool = False  # dial through the OS's tel: handler instead of Xelion
    device_number: str = ""  # the operator's own phone, which Xelion rings first (pbx_call)
    missed_to_dossier: bool = False  # a missed call of a known relation: dossier item
    hotkey: str = ""  # optional global hotkey (pynput syntax, e.g. "<ctrl>+<alt>+d")


@dataclass
class Settings:
    version: int = SCHEMA_VERSION
    afas: AfasSettings = field(default_factory=AfasSettings)
    xelion: XelionSettings = field(default_factory=XelionSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    phone: PhoneSettings = field(default_factory=PhoneSettings)
    pop: PopSettings = field(default_factory=PopSettings)
    trigger: TriggerSettings = field(default_factory=TriggerSettings)
    ui: UiSettings = field(default_factory=UiSettings)
    card: CardSettings = field(default_factory=CardSettings)
    reports: ReportFilterSettings = field(default_factory=ReportFilterSettings)
    dial: DialSettings = field(default_factory=DialSettings)

    def copy(self) -> Settings:
        from afas_tray.config.store import from_dict, to_dict

        return from_dict(to_dict(self, with_secrets=True))


class SettingsError(AppError):
    """A settings problem with a message in the user's language."""

    @property
    def needs_user(self) -> bool:
        return True


def new_trigger_secret() -> str:
    """A fresh per-install trigger secret (URL-safe, so it can sit in a query string)."""
    return _stdlib_secrets.token_urlsafe(24)
