"""The checks behind `afas-tray doctor` and the settings dialog's "Test connection".

Each check yields one CheckResult as soon as it is known, so a window can show them one by one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from afas_tray.afas.client import AfasClient
from afas_tray.afas.errors import AfasAuthError, AfasConnectionError, AfasError, AfasTimeout
from afas_tray.i18n import T
from afas_tray.models import CheckResult
from afas_tray.phonebook import ColumnError, detect_columns
from afas_tray.secrets import SecretStore
from afas_tray.settings import ROLES, ColumnMapping, Settings, validate
from afas_tray.sync import ROLE_NAMES, sync_mode

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
    from afas_tray.xelion.client import XelionClient
    from afas_tray.xelion.errors import XelionError

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

    from afas_tray.paths import app_paths
    from afas_tray.xelion.trigger import TRIGGER_VALUE, trigger_seen

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
        async with AfasClient(settings.afas.host, settings.afas.token, retries=1, timeout=20) as client:
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
    except AfasError as exc:  # e.g. a malformed token caught before any request
        yield CheckResult("token", token_title, False, exc.text)


async def _check_connector(client: AfasClient, settings: Settings, role: str) -> CheckResult:
    connector_id = settings.afas.connectors.ids()[role]
    name = ROLE_NAMES[role]
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
                       warning=not mapping.modified)


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
