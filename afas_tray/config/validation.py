"""Validation of the settings: field-level problems keyed by dotted key, host checks."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import phonenumbers

from afas_tray.afas.knsubject import MAX_SUBJECT_CHARS
from afas_tray.config.model import CARD_POSITIONS, ROLES, Settings
from afas_tray.i18n import T, Text

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
        from afas_tray.afas.errors import AfasTokenError
        from afas_tray.afas.token import token_xml

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
    if len(a.empty_subject_text) > MAX_SUBJECT_CHARS:
        errors["afas.empty_subject_text"] = T(
            f"At most {MAX_SUBJECT_CHARS} characters (AFAS limit).",
            f"Maximaal {MAX_SUBJECT_CHARS} tekens (grens van AFAS).",
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
    errors.update(_validate_afas_columns(settings))
    return errors


_FIELD_ID = re.compile(r"[A-Za-z0-9_]{1,100}")  # a Profit field id: BcCo, TelWork, U1234ABCD…


def _validate_afas_columns(settings: Settings) -> dict[str, Text]:
    """Names that go into AFAS requests: a wrong one makes every sync or read-back fail with
    "Connector field '…' not found", a stray character could break the header."""
    errors: dict[str, Text] = {}
    c = settings.afas.connectors
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", c.dossier_items or ""):
        errors["afas.connectors.dossier_items"] = T(
            "Enter the GetConnector id (letters, digits, _ . -).",
            "Vul het GetConnector-id in (letters, cijfers, _ . -).",
        )
    names = [getattr(c.dossier_columns, n) for n in ("id", "type", "text", "date", "relation")]
    if bad := [n for n in names if n and not _FIELD_ID.fullmatch(n)]:
        errors["afas.connectors.dossier_columns"] = T(
            f"Not a field id: {bad[0]} (letters, digits, _).",
            f"Geen veld-id: {bad[0]} (letters, cijfers, _).",
        )
    columns = [v for m in c.mapping.values()
               for v in (m.id, m.bcid, m.name, m.organisation, m.modified, m.created, *m.phones)]
    if bad := [n for n in columns if n and not _FIELD_ID.fullmatch(n)]:
        errors["afas.connectors.mapping"] = T(
            f"Not a field id: {bad[0]} (letters, digits, _).",
            f"Geen veld-id: {bad[0]} (letters, cijfers, _).",
        )
    # OASContent integrationid.md: a number such as 12345_123456, sent as an HTTP header.
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,64}", settings.afas.integration_id.strip()):
        errors["afas.integration_id"] = T(
            "The IntegrationId AFAS gave you, e.g. 12345_123456 (letters, digits, _ -), or empty.",
            "Het IntegrationId van AFAS, bijv. 12345_123456 (letters, cijfers, _ -), of leeg.",
        )
    return errors


def _validate_dial(settings: Settings) -> dict[str, Text]:
    """Dialling (issue 16): the operator's own number must be a number Xelion can ring."""
    from afas_tray.numbers import is_internal, normalise

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
    from afas_tray.numbers import normalise

    return normalise(raw, region) is not None
