"""One typed Settings object: every field of the Xelion–AFAS manual plus Xelion's own.

Stored as versioned JSON under the config dir (atomic writes; a corrupt file is kept aside as
``.bak`` and reported). Secrets (AFAS token, Xelion password, trigger secret) are not part of the
JSON: they live in the OS keychain, see ``secrets.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import json
import os
import re
import secrets as _stdlib_secrets
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import phonenumbers

from afas_tray.i18n import T, Text
from afas_tray.system.paths import AppPaths

SCHEMA_VERSION = 1
ROLES = ("organisations", "persons", "contacts")
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
        return from_dict(to_dict(self, with_secrets=True))


# --- (de)serialisation --------------------------------------------------------------------------


def to_dict(settings: Settings, *, with_secrets: bool = False) -> dict[str, Any]:
    """Plain dict of the settings; secrets left out unless asked for (never for disk)."""
    data = dataclasses.asdict(settings)
    if not with_secrets:
        for key in SECRET_KEYS:
            section, name = key.split(".")
            data[section].pop(name, None)
    return data


def _fill(cls: Any, raw: Any) -> Any:
    """Build dataclass ``cls`` from ``raw``, ignoring unknown keys and keeping defaults."""
    obj = cls()
    if not isinstance(raw, dict):
        return obj
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        value = raw[f.name]
        current = getattr(obj, f.name)
        if dataclasses.is_dataclass(current):
            value = _fill(type(current), value)
        elif f.name == "mapping" and isinstance(value, dict):
            value = {r: _fill(ColumnMapping, m) for r, m in value.items() if r in ROLES}
        setattr(obj, f.name, value)
    return obj


def from_dict(raw: dict[str, Any]) -> Settings:
    with contextlib.suppress(AttributeError, TypeError, KeyError):
        conns = raw["afas"]["connectors"]
        if "subjects" in conns and "dossier_items" not in conns:  # before issue 12
            conns = {**conns, "dossier_items": conns["subjects"]}
            raw = {**raw, "afas": {**raw["afas"], "connectors": conns}}
    settings: Settings = _fill(Settings, raw)
    settings.version = SCHEMA_VERSION
    return settings


def mapping_from_json(raw: Any) -> dict[str, ColumnMapping]:
    """Column mapping from JSON (``{"contacts": {"phones": [...]}}``); raises SettingsError."""
    ok = isinstance(raw, dict) and all(
        r in ROLES and isinstance(m, dict)
        and all(isinstance(v, str) for k, v in m.items() if k != "phones")
        and isinstance(m.get("phones", []), list)
        for r, m in raw.items()
    )
    if not ok:
        raise SettingsError(T("Invalid value for 'afas.connectors.mapping'.",
                              "Ongeldige waarde voor 'afas.connectors.mapping'."))
    return {r: _fill(ColumnMapping, m) for r, m in raw.items()}


# --- dotted keys (CLI, import) -------------------------------------------------------------------


def _parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on", "ja", "aan"):
        return True
    if v in ("0", "false", "no", "off", "nee", "uit"):
        return False
    raise ValueError(value)


def _parse_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _parse_optional_int(value: str) -> int | None:
    v = value.strip()
    return None if v == "" else int(v)


@dataclass(frozen=True)
class Key:
    path: str
    parse: Callable[[str], Any]
    secret: bool = False


KEYS: dict[str, Key] = {
    k.path: k
    for k in [
        Key("afas.token", str, secret=True),
        Key("afas.host", str),
        Key("afas.sync_active", _parse_bool),
        Key("afas.dossier_item_type", _parse_optional_int),
        Key("afas.insite_url_template", str),
        Key("afas.sync_mp3", _parse_bool),
        Key("afas.always_sync", _parse_bool),
        Key("afas.empty_subject_text", str),
        Key("afas.connectors.organisations", str),
        Key("afas.connectors.persons", str),
        Key("afas.connectors.contacts", str),
        Key("afas.connectors.dossier_items", str),
        Key("afas.connectors.dossier_columns.id", str),
        Key("afas.connectors.dossier_columns.type", str),
        Key("afas.connectors.dossier_columns.text", str),
        Key("afas.connectors.dossier_columns.date", str),
        Key("afas.connectors.dossier_columns.relation", str),
        Key("afas.connectors.link_by", lambda v: v.strip().lower()),
        Key("afas.integration_id", str),
        Key("xelion.host", str),
        Key("xelion.tenant", str),
        Key("xelion.username", str),
        Key("xelion.password", str, secret=True),
        Key("xelion.user_space", str),
        Key("xelion.addressbook_sync", _parse_bool),
        Key("sync.interval_minutes", int),
        Key("phone.default_region", lambda v: v.strip().upper()),
        Key("pop.on", lambda v: v.strip().lower()),
        Key("pop.dedupe_seconds", int),
        Key("pop.internal_max_digits", int),
        Key("pop.own_numbers", _parse_list),
        Key("pop.unknown_url_template", str),
        Key("afas.recording_wait_minutes", int),
        Key("trigger.http_enabled", _parse_bool),
        Key("trigger.http_port", int),
        Key("trigger.secret", str, secret=True),
        Key("ui.language", lambda v: v.strip().lower()),
        Key("pop.follow_do_not_disturb", _parse_bool),
        Key("card.open_browser", _parse_bool),
        Key("card.show", _parse_bool),
        Key("card.position", lambda v: v.strip().lower()),
        Key("card.seconds", int),
        Key("card.stay_until_closed", _parse_bool),
        Key("reports.min_duration_seconds", int),
        Key("reports.log_outgoing", _parse_bool),
        Key("reports.never_log_numbers", _parse_list),
        Key("dial.prefer_softphone", _parse_bool),
        Key("dial.device_number", str),
        Key("dial.missed_to_dossier", _parse_bool),
        Key("dial.hotkey", str),
    ]
}


class SettingsError(Exception):
    """A settings problem with a message in the user's language."""

    def __init__(self, message: Text) -> None:
        super().__init__(str(message))
        self.text = message


def _owner(settings: Settings, path: str) -> tuple[Any, str]:
    parts = path.split(".")
    obj: Any = settings
    for p in parts[:-1]:
        obj = getattr(obj, p)
    return obj, parts[-1]


def get_value(settings: Settings, path: str) -> Any:
    if path not in KEYS:
        raise SettingsError(T(f"Unknown setting '{path}'.", f"Onbekende instelling '{path}'."))
    obj, name = _owner(settings, path)
    return getattr(obj, name)


def set_value(settings: Settings, path: str, raw: Any) -> None:
    """Set one dotted key from text (or an already typed JSON value); raises SettingsError."""
    key = KEYS.get(path)
    if key is None:
        raise SettingsError(T(f"Unknown setting '{path}'.", f"Onbekende instelling '{path}'."))
    try:
        value = key.parse(raw) if isinstance(raw, str) else _coerce(key, raw)
    except (ValueError, TypeError):
        raise SettingsError(
            T(f"Invalid value for '{path}'.", f"Ongeldige waarde voor '{path}'.")
        ) from None
    obj, name = _owner(settings, path)
    setattr(obj, name, value)


def _coerce(key: Key, raw: Any) -> Any:
    """JSON import gives typed values; check they fit the field."""
    if raw is None and key.parse is _parse_optional_int:
        return None
    if isinstance(raw, bool):
        if key.parse is not _parse_bool:
            raise TypeError(key.path)
        return raw
    if isinstance(raw, int) and key.parse in (int, _parse_optional_int):
        return raw
    if isinstance(raw, list) and key.parse is _parse_list:
        return [str(v) for v in raw]
    if isinstance(raw, str | int):
        return key.parse(str(raw))
    raise TypeError(key.path)


def flatten(raw: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"afas": {"host": …}}`` → ``{"afas.host": …}`` (mapping kept as one value)."""
    out: dict[str, Any] = {}
    for k, v in raw.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and path != "afas.connectors.mapping":
            out.update(flatten(v, path + "."))
        else:
            out[path] = v
    return out


# --- validation -----------------------------------------------------------------------------------

_AFAS_HOST = re.compile(r"^\d{5}\.rest(test|accept)?\.afas\.online$")


def is_loopback_host(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _check_host(url: str, afas: bool) -> Text | None:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    if parts.scheme in ("http", "https") and is_loopback_host(host):
        return None  # the simulated servers and tests
    if parts.scheme != "https" or not host:
        if afas:
            return T(
                "Use https://<customer id>.rest.afas.online (e.g. https://12345.rest.afas.online).",
                "Gebruik https://<klant_id>.rest.afas.online (bijv. https://12345.rest.afas.online).",
            )
        return T("Use https://<host>, e.g. https://company.xelion.com.",
                 "Gebruik https://<host>, bijv. https://bedrijf.xelion.com.")
    if parts.path not in ("", "/") or parts.query:
        example = "https://12345.rest.afas.online" if afas else "https://company.xelion.com"
        return T(f"Enter only the server address, without a path, e.g. {example}.",
                 f"Vul alleen het serveradres in, zonder pad, bijv. {example}.")
    if afas and not _AFAS_HOST.match(host):
        return T(
            "Not an AFAS REST host; expected <5 digits>.rest.afas.online "
            "(or resttest / restaccept).",
            "Geen AFAS REST-host; verwacht <5 cijfers>.rest.afas.online "
            "(of resttest / restaccept).",
        )
    return None


def validate(settings: Settings, *, require_secrets: bool = False) -> dict[str, Text]:
    """Field-level problems, keyed by dotted key; empty when the settings are usable."""
    errors: dict[str, Text] = {}
    a = settings.afas
    if not a.host.strip():
        errors["afas.host"] = T("Profit server host is required.", "Profit server host is verplicht.")
    elif (msg := _check_host(a.host, afas=True)) is not None:
        errors["afas.host"] = msg
    if require_secrets and not a.token.strip():
        errors["afas.token"] = T("API token is required.", "API token is verplicht.")
    elif a.token.strip():
        from afas_tray.afas import AfasTokenError, token_xml

        try:
            token_xml(a.token)
        except AfasTokenError as exc:
            errors["afas.token"] = exc.text
    tpl = a.insite_url_template.strip()
    if not tpl:
        errors["afas.insite_url_template"] = T(
            "URL template is required, e.g. https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>.",
            "URL sjabloon is verplicht, bijv. https://12345.afasinsite.nl/verkooprelatie-prs?BcId=<BCID>.",
        )
    elif "<BCID>" not in tpl and "<BCCO>" not in tpl:
        # <BCID>: the internal BcId; <BCCO>: the number (issue 12). The InSite page decides.
        errors["afas.insite_url_template"] = T(
            "The URL template must contain <BCID> (internal id) or <BCCO> (number).",
            "Het URL sjabloon moet <BCID> (intern id) of <BCCO> (nummer) bevatten.",
        )
    elif urlsplit(tpl).scheme not in ("http", "https"):
        errors["afas.insite_url_template"] = T(
            "The URL template must start with https://.", "Het URL sjabloon moet met https:// beginnen."
        )
    if a.dossier_item_type is not None and (
        not isinstance(a.dossier_item_type, int)
        or (a.dossier_item_type <= 0 and a.dossier_item_type != -5)  # -5: AFAS's own, allowed
    ):
        errors["afas.dossier_item_type"] = T(
            "Dossier item type must be a positive number (or -5).",
            "Type dossier item moet een positief getal zijn (of -5).",
        )
    if a.connectors.link_by not in ("number", "id"):
        errors["afas.connectors.link_by"] = T(
            "Link by 'number' (BcCo) or 'id' (internal BcId).",
            "Koppel op 'number' (BcCo) of 'id' (intern BcId).",
        )
    if len(a.empty_subject_text) > 255:
        errors["afas.empty_subject_text"] = T(
            "At most 255 characters (AFAS limit).", "Maximaal 255 tekens (grens van AFAS)."
        )
    for role in ROLES:
        cid = getattr(a.connectors, role)
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", cid or ""):
            errors[f"afas.connectors.{role}"] = T(
                "Enter the GetConnector id (letters, digits, _ . -).",
                "Vul het GetConnector-id in (letters, cijfers, _ . -).",
            )
    x = settings.xelion
    if any((x.host, x.tenant, x.username)):
        if not x.host.strip():
            errors["xelion.host"] = T("Xelion server is required.", "Xelion-server is verplicht.")
        elif (msg := _check_host(x.host, afas=False)) is not None:
            errors["xelion.host"] = msg
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", x.tenant.strip() or "-") or not x.tenant.strip():
            errors["xelion.tenant"] = T("Enter the Xelion tenant.", "Vul de Xelion-tenant in.")
        if not x.username.strip():
            errors["xelion.username"] = T("Enter the Xelion user name.", "Vul de Xelion-gebruikersnaam in.")
    if not isinstance(settings.sync.interval_minutes, int) or not (
        1 <= settings.sync.interval_minutes <= 24 * 60
    ):
        errors["sync.interval_minutes"] = T(
            "Sync interval must be between 1 and 1440 minutes.",
            "Synchronisatie-interval moet tussen 1 en 1440 minuten liggen.",
        )
    region = settings.phone.default_region
    if region not in phonenumbers.SUPPORTED_REGIONS:
        errors["phone.default_region"] = T(
            "Unknown country code; use two letters such as NL or BE.",
            "Onbekende landcode; gebruik twee letters zoals NL of BE.",
        )
    if settings.pop.on not in ("ring", "answer", "off"):
        errors["pop.on"] = T("Choose ring, answer or off.", "Kies ring, answer of off.")
    if not isinstance(settings.pop.dedupe_seconds, int) or not 0 <= settings.pop.dedupe_seconds <= 600:
        errors["pop.dedupe_seconds"] = T("Between 0 and 600 seconds.", "Tussen 0 en 600 seconden.")
    tpl = settings.pop.unknown_url_template.strip()
    if tpl and ("<NUMBER>" not in tpl or urlsplit(tpl).scheme not in ("http", "https")):
        errors["pop.unknown_url_template"] = T(
            "Must be an https:// address containing <NUMBER>, or empty.",
            "Moet een https://-adres met <NUMBER> zijn, of leeg.",
        )
    if not isinstance(settings.afas.recording_wait_minutes, int) or not (
        0 <= settings.afas.recording_wait_minutes <= 120
    ):
        errors["afas.recording_wait_minutes"] = T(
            "Between 0 and 120 minutes.", "Tussen 0 en 120 minuten."
        )
    port = settings.trigger.http_port
    if not isinstance(port, int) or not (port == 0 or 1024 <= port <= 65535):
        errors["trigger.http_port"] = T(
            "Port must be 0 (automatic) or 1024–65535.", "Poort moet 0 (automatisch) of 1024–65535 zijn."
        )
    if settings.ui.language not in ("system", "nl", "en"):
        errors["ui.language"] = T("Choose system, nl or en.", "Kies system, nl of en.")
    errors.update(_validate_card_and_filters(settings))
    errors.update(_validate_dial(settings))
    return errors


def _validate_dial(settings: Settings) -> dict[str, Text]:
    """Dialling (issue 16): the operator's own number must be a number Xelion can ring."""
    from afas_tray.phonebook.numbers import is_internal, normalise

    errors: dict[str, Text] = {}
    own = settings.dial.device_number.strip()
    if own and normalise(own, settings.phone.default_region) is None and not is_internal(own):
        errors["dial.device_number"] = T(
            "Enter your own phone number (e.g. +31 6 1234 5678) or extension, or leave it empty.",
            "Vul je eigen telefoonnummer (bijv. +31 6 1234 5678) of toestel in, of laat het leeg.",
        )
    if len(settings.dial.hotkey) > 60:
        errors["dial.hotkey"] = T("At most 60 characters.", "Hooguit 60 tekens.")
    return errors


def _validate_card_and_filters(settings: Settings) -> dict[str, Text]:
    """The caller card and the logging filters (issue 17)."""
    errors: dict[str, Text] = {}
    card = settings.card
    if card.position not in CARD_POSITIONS:
        errors["card.position"] = T("Choose " + ", ".join(CARD_POSITIONS) + ".",
                                    "Kies " + ", ".join(CARD_POSITIONS) + ".")
    if not isinstance(card.seconds, int) or not 0 <= card.seconds <= 3600:
        errors["card.seconds"] = T("Between 0 and 3600 seconds.", "Tussen 0 en 3600 seconden.")
    minimum = settings.reports.min_duration_seconds
    if not isinstance(minimum, int) or not 0 <= minimum <= 24 * 3600:
        errors["reports.min_duration_seconds"] = T(
            "Between 0 and 86400 seconds.", "Tussen 0 en 86400 seconden."
        )
    region = settings.phone.default_region
    bad = [n for n in settings.reports.never_log_numbers
           if region in phonenumbers.SUPPORTED_REGIONS and not _is_number(n, region)]
    if bad:
        errors["reports.never_log_numbers"] = T(
            f"Not a phone number: {bad[0]}", f"Geen telefoonnummer: {bad[0]}"
        )
    return errors


def _is_number(raw: str, region: str) -> bool:
    from afas_tray.phonebook.numbers import normalise

    return normalise(raw, region) is not None


# --- storage ---------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    settings: Settings
    problem: Text | None = None  # set when the file was corrupt and kept aside
    first_run: bool = False


def load(paths: AppPaths) -> LoadResult:
    """Read settings JSON (secrets not included; see secrets.load_into)."""
    path = paths.settings_file
    if not path.exists():
        return LoadResult(Settings(), first_run=True)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        version = raw.get("version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"unsupported version {version!r}")
        return LoadResult(from_dict(raw))
    except (OSError, ValueError, UnicodeDecodeError):
        backup = path.with_name(path.name + ".bak")
        with contextlib.suppress(OSError):
            os.replace(path, backup)
        return LoadResult(
            Settings(),
            problem=T(
                f"The settings file was damaged; it was kept as {backup.name} and defaults are used.",
                f"Het instellingenbestand was beschadigd; het is bewaard als {backup.name} "
                "en de standaardwaarden worden gebruikt.",
            ),
        )


def save(paths: AppPaths, settings: Settings) -> None:
    """Write settings JSON atomically (temp file + rename); secrets never go here."""
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_dict(settings), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".tmp", dir=paths.config_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, paths.settings_file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def new_trigger_secret() -> str:
    """A fresh per-install trigger secret (URL-safe, so it can sit in a query string)."""
    return _stdlib_secrets.token_urlsafe(24)

