"""The checks behind `afas-tray doctor` and the settings dialog's "Test connection".

Each check yields one CheckResult as soon as it is known, so a window can show them one by one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from afas_tray.afas import (
    MAX_PARALLEL_CALLS,
    AfasAuthError,
    AfasClient,
    AfasConnectionError,
    AfasError,
    AfasTimeout,
)
from afas_tray.config import ROLE_TEXT, ROLES, ColumnMapping, Settings, validate
from afas_tray.i18n import T
from afas_tray.models import CheckResult
from afas_tray.phonebook import ColumnError, default_client, detect_columns, sync_mode
from afas_tray.system.secrets import SecretStore

OK = T("OK", "OK")


async def run_checks(settings: Settings, secrets: SecretStore | None = None) -> AsyncIterator[CheckResult]:
    errors = validate(settings, require_secrets=True)
    title = T("Settings", "Instellingen")
    if errors:
        key, msg = next(iter(errors.items()))
        more = len(errors) - 1
        extra = T(f" (+{more} more)", f" (+{more} meer)") if more else T("", "")
        yield CheckResult("settings", title, False, T(f"{key}: {msg.en}{extra.en}",
                                                       f"{key}: {msg.nl}{extra.nl}"))
    else:
        yield CheckResult("settings", title, True, T("complete and valid", "volledig en geldig"))
    if secrets is not None:
        yield CheckResult("secrets", T("Secret storage", "Opslag van geheimen"), True,
                          secrets.describe(), warning=not secrets.uses_keychain)
    if "afas.host" not in errors and "afas.token" not in errors:
        async for result in _afas_checks(settings):
            yield result
    if settings.xelion.configured and not any(k.startswith("xelion.") for k in errors):
        yield await _xelion_check(settings)
        yield _trigger_check()
    if settings.xelion.addressbook_sync:
        yield CheckResult("addressbook", T("Xelion address book", "Xelion-adresboek"), True, T(
            "kept in step with AFAS from this computer; turn this on for one desk or one "
            "server only",
            "wordt vanaf deze computer gelijk gehouden met AFAS; zet dit aan op één werkplek "
            "of één server, niet op elke werkplek"), warning=True)


async def _xelion_check(settings: Settings) -> CheckResult:
    from afas_tray.xelion import XelionClient, XelionError

    x = settings.xelion
    title = T(f"Xelion {x.host}", f"Xelion {x.host}")
    # Its own userSpace: the running app's session must not be thrown out by a test login.
    user_space = x.effective_user_space() + "-check"
    try:
        async with XelionClient(x.host, x.tenant, x.username, x.password, user_space) as client:
            await client.login()
            await client.logout()  # a one-off check session (the app itself does not log out)
    except XelionError as exc:
        return CheckResult("xelion", title, False, exc.text)
    return CheckResult("xelion", title, True,
                       T(f"logged in as {x.username}", f"aangemeld als {x.username}"))


def _trigger_check() -> CheckResult:
    """Whether a Xelion trigger event (the caller's number) has reached this desk's app."""
    import datetime as dt

    from afas_tray.system.paths import app_paths
    from afas_tray.xelion import TRIGGER_VALUE, trigger_seen

    title = T("Xelion trigger on this desk", "Xelion-trigger op dit toestel")
    seen = trigger_seen(app_paths().data_dir)
    if seen is None:
        return CheckResult("xelion.trigger", title, True, T(
            "no trigger event seen yet: without the new_call trigger no call pops up. Create "
            f"it (`afas-tray xelion trigger show`; value {TRIGGER_VALUE}) and make a call.",
            "nog geen trigger-melding gezien: zonder de new_call-trigger verschijnt geen "
            f"gesprek. Maak hem aan (`afas-tray xelion trigger show`; waarde {TRIGGER_VALUE}) "
            "en bel een keer."), warning=True)
    when = dt.datetime.fromtimestamp(seen[0]).strftime("%Y-%m-%d %H:%M")
    return CheckResult("xelion.trigger", title, True,
                       T(f"last trigger event ({seen[1]}) seen {when}",
                         f"laatste trigger-melding ({seen[1]}) gezien op {when}"))


async def _afas_checks(settings: Settings) -> AsyncIterator[CheckResult]:
    host_title = T(f"Profit server {settings.afas.host}", f"Profit-server {settings.afas.host}")
    token_title = T("API token", "API token")
    try:
        async with default_client(settings, max_in_flight=MAX_PARALLEL_CALLS, retries=1,
                                  timeout=20) as client:
            try:
                version = await client.profit_version()
            except AfasAuthError as exc:
                yield CheckResult("host", host_title, True, T("reachable", "bereikbaar"))
                yield CheckResult("token", token_title, False, exc.text)
                return
            except (AfasConnectionError, AfasTimeout) as exc:
                yield CheckResult("host", host_title, False, exc.text)
                return
            except AfasError as exc:
                yield CheckResult("host", host_title, False, exc.text)
                return
            yield CheckResult("host", host_title, True,
                              T(f"reachable, Profit {version}", f"bereikbaar, Profit {version}"))
            yield CheckResult("token", token_title, True, T("accepted", "geaccepteerd"))
            for role in ROLES:
                yield await _check_connector(client, settings, role)
            yield await _check_relation_connectors(client)
            yield await _sample_link(client, settings)
            async for result in _dossier_checks(client, settings):
                yield result
            yield await _subject_type_check(client, settings)
    except AfasError as exc:  # e.g. a malformed token caught before any request
        yield CheckResult("token", token_title, False, exc.text)


async def _check_connector(client: AfasClient, settings: Settings, role: str) -> CheckResult:
    connector_id = settings.afas.connectors.ids()[role]
    name = ROLE_TEXT[role]
    title = T(f"GetConnector {connector_id} ({name.en})", f"GetConnector {connector_id} ({name.nl})")
    key = f"connector.{role}"
    try:
        meta = await client.metainfo(connector_id)
        mapping = detect_columns(role, connector_id, meta.fields,
                                 settings.afas.connectors.mapping.get(role, ColumnMapping()))
        async with contextlib.aclosing(client.iter_pages(
                connector_id, order_by=[mapping.id], take=1, fields_count=len(meta.fields))  # type: ignore[type-var]
        ) as pages:
            async for _page in pages:
                break
    except ColumnError as exc:
        return CheckResult(key, title, False, exc.text)
    except AfasError as exc:
        return CheckResult(key, title, False, exc.text)
    phones = ", ".join(mapping.phones)
    # How this connector is kept fresh: a connector without a modification-date column means a
    # full refresh every cycle, which a fleet of desks sharing one token should not do.
    mode = sync_mode(mapping)
    return CheckResult(key, title, True,
                       T(f"readable; name {mapping.name}, phones {phones}; {mode.en}",
                         f"leesbaar; naam {mapping.name}, telefoon {phones}; {mode.nl}"),
                       warning=not (mapping.modified and mapping.created))


async def _check_relation_connectors(client: AfasClient) -> CheckResult:
    """"Create in AFAS" on the unknown-caller notice needs KnPerson and KnOrganisation in the
    token's app connector (MetaInfo ``updateConnectors``); optional, so a warning at most."""
    title = T("UpdateConnectors KnPerson, KnOrganisation", "UpdateConnectors KnPerson, KnOrganisation")
    key = "update_connectors.relations"
    try:
        ids = {str(c.get("id")) for c in await client.list_update_connectors()}
    except AfasError as exc:
        return CheckResult(key, title, True, exc.text, warning=True)
    missing = ", ".join(c for c in ("KnPerson", "KnOrganisation") if c not in ids)
    if missing:
        return CheckResult(key, title, True, T(
            f"the token may not use {missing}: 'Create in AFAS' for unknown callers will be "
            "refused; add it to the app connector in Profit",
            f"het token mag {missing} niet gebruiken: 'Aanmaken in AFAS' voor onbekende bellers "
            "wordt geweigerd; voeg hem toe aan de app connector in Profit",
        ), warning=True)
    return CheckResult(key, title, True, T("available for 'Create in AFAS'",
                                           "beschikbaar voor 'Aanmaken in AFAS'"))


async def _dossier_checks(client: AfasClient, settings: Settings) -> AsyncIterator[CheckResult]:
    """KnSubject among the App connector's UpdateConnectors, the dossier-item GetConnector the
    outbox recovers through (its columns), and the dossier item type's settings."""
    from afas_tray.reports.outbox import DossierColumnError, DossierLookup, detect_dossier_fields

    title = T("UpdateConnector KnSubject (call reports)", "UpdateConnector KnSubject (gespreksverslagen)")
    try:
        overview = await client.meta_overview()
        updates = {str(u.get("id", "")).casefold() for u in overview.get("updateConnectors") or []
                   if isinstance(u, dict)}
        if "knsubject" in updates:
            yield CheckResult("connector.knsubject", title, True,
                              T("in the App connector", "in de app connector"))
        else:
            yield CheckResult("connector.knsubject", title, False, T(
                "KnSubject is not among the App connector's UpdateConnectors (GET /MetaInfo): "
                "add it, or call reports cannot be uploaded.",
                "KnSubject staat niet bij de UpdateConnectors van de app connector (GET /MetaInfo): "
                "voeg hem toe, anders kunnen gespreksverslagen niet worden geüpload."))
    except AfasError as exc:
        yield CheckResult("connector.knsubject", title, False, exc.text)
    lookup = DossierLookup.from_settings(settings.afas.connectors)
    title = T(f"GetConnector {lookup.connector} (dossier items: no double reports)",
              f"GetConnector {lookup.connector} (dossieritems: geen dubbele verslagen)")
    try:
        meta = await client.metainfo(lookup.connector)
        fields = detect_dossier_fields(lookup.connector, meta.fields, lookup)
        async with contextlib.aclosing(client.iter_pages(
                lookup.connector, order_by=[fields.id], take=1)) as pages:  # type: ignore[type-var]
            async for _page in pages:
                break
    except DossierColumnError as exc:
        yield CheckResult("connector.dossier_items", title, False, exc.text)
    except AfasError as exc:
        yield CheckResult("connector.dossier_items", title, False, exc.text)
    else:
        cols = ", ".join(c for c in (fields.id, fields.type, fields.text, fields.date) if c)
        yield CheckResult("connector.dossier_items", title, True,
                          T(f"readable; columns {cols}", f"leesbaar; kolommen {cols}"),
                          warning=not (fields.type and fields.date))


async def _sample_link(client: AfasClient, settings: Settings) -> CheckResult:
    """For one organisation: the value KnSubjectLink's BcId would carry (``link_by``) and the
    card URL the template gives, so the consultant sees both before the first call."""
    from afas_tray.afas import link_value
    from afas_tray.models import Match, RelationKind
    from afas_tray.pop.router import card_url

    connector_id = settings.afas.connectors.organisations
    link_by = settings.afas.connectors.link_by
    title = T(f"Link and card of a sample relation ({connector_id})",
              f"Koppeling en kaart van een voorbeeldrelatie ({connector_id})")
    try:
        meta = await client.metainfo(connector_id)
        mapping = detect_columns("organisations", connector_id, meta.fields,
                                 settings.afas.connectors.mapping.get("organisations", ColumnMapping()))
        row: dict[str, object] = {}
        async with contextlib.aclosing(client.iter_pages(
                connector_id, order_by=[mapping.id], take=1, fields_count=len(meta.fields))  # type: ignore[type-var]
        ) as pages:
            async for page in pages:
                row = dict(page[0]) if page else {}
                break
    except (ColumnError, AfasError) as exc:
        return CheckResult("link.sample", title, False, exc.text)
    if not row:
        return CheckResult("link.sample", title, True, T("the connector has no rows yet",
                                                         "de connector heeft nog geen rijen"),
                           warning=True)

    def text(col: str) -> str:
        value = row.get(col) if col else None
        return "" if value is None else str(value).strip()

    number = text(getattr(mapping, "number", ""))
    bcid = text(mapping.bcid) or text(mapping.id)
    match = Match(bcid=bcid, name=text(mapping.name), kind=RelationKind.ORGANISATION, number=number)
    link, held = link_value(match, link_by)
    url = card_url(settings.afas.insite_url_template, bcid, number) or "-"
    detail = T(
        f"{match.name or bcid}: BcId {bcid or '-'}, number {number or '-'}; dossier items link "
        f"with BcId {link} ({link_by}); card {url}",
        f"{match.name or bcid}: BcId {bcid or '-'}, nummer {number or '-'}; dossieritems koppelen "
        f"met BcId {link} ({link_by}); kaart {url}",
    )
    if held == "" and link_by == "number":
        return CheckResult("link.sample", title, True, T(
            f"{detail.en}. The connector has no number column (BcCo, 'Nummer'): add it, or set "
            "afas.connectors.link_by to id.",
            f"{detail.nl}. De connector heeft geen nummerkolom (BcCo, 'Nummer'): voeg hem toe, of "
            "zet afas.connectors.link_by op id."), warning=True)
    if url == "-":
        return CheckResult("link.sample", title, False, T(
            f"{detail.en}. The InSite template gives no card for it (<BCCO> needs a number "
            "column).",
            f"{detail.nl}. Het InSite-sjabloon geeft er geen kaart voor (<BCCO> vraagt een "
            "nummerkolom)."))
    return CheckResult("link.sample", title, True, detail)


SUBJECT_TYPES = "Profit_SubjectTypes"


async def _subject_type_check(client: AfasClient, settings: Settings) -> CheckResult:
    """The dossier item type's settings through ``Profit_SubjectTypes`` (AFAS's
    howto-workflow-acties: "Instellingen type dossieritem"), where the token may read it: text
    (Toelichting = ``Comment``) allowed, attachments (``LinkFile``) allowed when recordings go
    along. The connector does not show destinations (dossiers-en-bijlagen.openapi.json): those
    are named for the consultant to check; Profit refuses a wrong one with "Deze bestemming is
    niet geldig voor dit type dossieritem"."""
    from afas_tray.afas import AfasConnectorNotAllowed, AfasNotFound, Filter, Op

    st = settings.afas.dossier_item_type
    title = T(f"Dossier item type {st if st is not None else '-'}",
              f"Type dossieritem {st if st is not None else '-'}")
    if st is None:
        return CheckResult("dossier_type", title, True, T(
            "No dossier item type set: call reports are not uploaded.",
            "Geen type dossieritem ingesteld: gespreksverslagen worden niet geüpload."),
            warning=True)
    destinations = T(
        "check in Profit that it allows the destinations organisation/person (3) and "
        "organisation + contact (16): Profit_SubjectTypes does not show them",
        "controleer in Profit dat het de bestemmingen organisatie/persoon (3) en organisatie + "
        "contact (16) toestaat: Profit_SubjectTypes toont die niet")
    try:
        rows = [r async for r in client.iter_rows(
            SUBJECT_TYPES, order_by=["SubjectTypeId"],
            filters=[Filter("SubjectTypeId", Op.EQ, int(st))], take=1)]
    except (AfasConnectorNotAllowed, AfasNotFound):
        return CheckResult("dossier_type", title, True, T(
            f"its settings cannot be read ({SUBJECT_TYPES} is not in the App connector): check in "
            f"Profit that it allows text and, with recordings, attachments; {destinations.en}.",
            f"de instellingen zijn niet leesbaar ({SUBJECT_TYPES} staat niet in de app connector): "
            f"controleer in Profit dat het tekst en, met opnames, bijlagen toestaat; "
            f"{destinations.nl}."), warning=True)
    except AfasError as exc:
        return CheckResult("dossier_type", title, False, exc.text)
    if not rows:
        if st == -5:  # a Profit type integrations may use; not every environment lists it
            return CheckResult("dossier_type", title, True, T(
                f"-5 is not listed by {SUBJECT_TYPES}; {destinations.en}.",
                f"-5 staat niet in {SUBJECT_TYPES}; {destinations.nl}."), warning=True)
        return CheckResult("dossier_type", title, False, T(
            f"{SUBJECT_TYPES} has no dossier item type {st}: choose an existing one (a free type, "
            "or -5).",
            f"{SUBJECT_TYPES} kent geen type dossieritem {st}: kies een bestaand type (een vrij "
            "type, of -5)."))
    row = rows[0]
    name = str(row.get("Description") or st)
    if row.get("Comment") is False:
        return CheckResult("dossier_type", title, False, T(
            f"'{name}' does not allow text (Toelichting): AFAS would refuse every report. Enable "
            "it in the type's settings.",
            f"'{name}' staat geen tekst (Toelichting) toe: AFAS zou elk verslag weigeren. Zet het "
            "aan in de instellingen van het type."))
    if settings.afas.sync_mp3 and row.get("LinkFile") is False:
        return CheckResult("dossier_type", title, True, T(
            f"'{name}' allows text but no attachments (Bestand koppelen), and MP3 recordings are "
            f"switched on: enable it, or switch recordings off; {destinations.en}.",
            f"'{name}' staat tekst toe maar geen bijlagen (Bestand koppelen), en mp3-opnames staan "
            f"aan: zet het aan, of zet opnames uit; {destinations.nl}."), warning=True)
    attach = T("attachments allowed", "bijlagen toegestaan") if row.get("LinkFile") else T(
        "no attachments", "geen bijlagen")
    return CheckResult("dossier_type", title, True, T(
        f"'{name}': text allowed, {attach.en}; {destinations.en}.",
        f"'{name}': tekst toegestaan, {attach.nl}; {destinations.nl}."))
