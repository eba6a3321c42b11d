"""Typed errors of the AFAS Profit client, each with a Dutch/English text for the user.

None of them ever holds the token: texts are built from status codes, connector ids and what
Profit itself said (``externalMessage``), never from request headers.
"""

from __future__ import annotations

from afas_tray.errors import AppError
from afas_tray.i18n import T, Text


class AfasError(AppError):
    """Base class. ``text`` is for the user; ``status`` is the HTTP status when there was one."""

    def __init__(
        self, text: Text, *, status: int | None = None, connector: str | None = None
    ) -> None:
        super().__init__(text)
        self.status = status
        self.connector = connector

    def __str__(self) -> str:
        return str(self.text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, text={self.text.en!r})"


class AfasTokenError(AfasError):
    """The token as entered is none of the accepted forms."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self) -> None:
        super().__init__(
            T(
                "The AFAS token is not recognised. Paste the whole token from the App connector "
                "(<token><version>1</version><data>…</data></token>) or only its data part.",
                "Het AFAS-token wordt niet herkend. Plak het hele token uit de app connector "
                "(<token><version>1</version><data>…</data></token>) of alleen het data-deel.",
            )
        )


class AfasAuthError(AfasError):
    """401: token refused (wrong, revoked, or no access to this endpoint). Never retried."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self, connector: str | None = None) -> None:
        where = f" ({connector})" if connector else ""
        super().__init__(
            T(
                f"AFAS refused the token{where}. Check the API token in the settings and that the "
                "App connector gives access to this connector.",
                f"AFAS weigert het token{where}. Controleer het API-token in de instellingen en of de "
                "app connector toegang geeft tot deze connector.",
            ),
            status=401,
            connector=connector,
        )


class AfasConnectorNotAllowed(AfasAuthError):
    """401 on one connector while ``/ProfitVersion`` accepts the token: that connector is not in
    the App connector (AFAS help: "GetConnector of UpdateConnector is niet toegevoegd aan de
    AppConnector"). Not the token's fault: the other connectors go on working."""

    def __init__(self, connector: str) -> None:
        AfasError.__init__(
            self,
            T(
                f"AFAS accepts the token but not for connector '{connector}': add it to the App "
                "connector in Profit (General > Management > App connector).",
                f"AFAS accepteert het token, maar niet voor connector '{connector}': voeg hem toe "
                "aan de app connector in Profit (Algemeen > Beheer > App connector).",
            ),
            status=401,
            connector=connector,
        )


class AfasForbidden(AfasError):
    """403: the AFAS environment only admits certain IP addresses."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self, connector: str | None = None) -> None:
        super().__init__(
            T(
                "AFAS refused access from this network address (IP restriction in the AFAS environment).",
                "AFAS weigert toegang vanaf dit netwerkadres (IP-beperking in de AFAS-omgeving).",
            ),
            status=403,
            connector=connector,
        )


class AfasNotFound(AfasError):
    """404: wrong host/URL, an unknown connector, or a query string that was too long."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self, connector: str | None = None) -> None:
        if connector:
            text = T(
                f"AFAS does not know the connector '{connector}'. Check its id in the settings and "
                "that it is part of the App connector.",
                f"AFAS kent de connector '{connector}' niet. Controleer de id in de instellingen en "
                "of hij in de app connector zit.",
            )
        else:
            text = T(
                "AFAS answered 'not found'. Check the Profit server host in the settings.",
                "AFAS antwoordde 'niet gevonden'. Controleer de Profit server host in de instellingen.",
            )
        super().__init__(text, status=404, connector=connector)


class AfasQueryTooLong(AfasError):
    """The request's query string would pass AFAS's ~2,000 character limit (IIS answers 404)."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self, connector: str, length: int) -> None:
        super().__init__(
            T(
                f"The request for connector '{connector}' is too long for AFAS ({length} characters); use fewer filters.",
                f"Het verzoek voor connector '{connector}' is te lang voor AFAS ({length} tekens); gebruik minder filters.",
            ),
            connector=connector,
        )


class AfasServerError(AfasError):
    """500: Profit reported an error, validation errors of an UpdateConnector included.
    Not retried: the same request would fail the same way."""

    def __init__(
        self,
        external_message: str = "",
        error_number: int | None = None,
        profit_log_reference: str = "",
        connector: str | None = None,
    ) -> None:
        self.external_message = external_message
        self.error_number = error_number
        self.profit_log_reference = profit_log_reference
        said = external_message or "-"
        ref = f" (log reference {profit_log_reference})" if profit_log_reference else ""
        ref_nl = f" (logreferentie {profit_log_reference})" if profit_log_reference else ""
        where = f" [{connector}]" if connector else ""
        super().__init__(
            T(
                f"AFAS reported an error{where}: {said}{ref}",
                f"AFAS meldt een fout{where}: {said}{ref_nl}",
            ),
            status=500,
            connector=connector,
        )


class AfasUnavailable(AfasError):
    """503: maintenance; ``retry_after`` is the number of seconds AFAS asks us to wait."""

    def __init__(self, retry_after: float | None = None, connector: str | None = None) -> None:
        self.retry_after = retry_after
        wait = f" Try again in {retry_after:g} s." if retry_after else ""
        wait_nl = f" Probeer het over {retry_after:g} s opnieuw." if retry_after else ""
        super().__init__(
            T(
                f"AFAS is temporarily unavailable (maintenance).{wait}",
                f"AFAS is tijdelijk niet beschikbaar (onderhoud).{wait_nl}",
            ),
            status=503,
            connector=connector,
        )


class AfasTooLarge(AfasError):
    """413: the request body passed AFAS's limit of 75,000,000 bytes."""

    @property
    def needs_user(self) -> bool:
        return True

    def __init__(self, connector: str | None = None) -> None:
        super().__init__(
            T(
                "The request is too large for AFAS (limit 75 MB); the recording may be too long to attach.",
                "Het verzoek is te groot voor AFAS (maximaal 75 MB); de opname is misschien te lang om bij te voegen.",
            ),
            status=413,
            connector=connector,
        )


class AfasConnectionError(AfasError):
    """The connection failed. ``maybe_sent`` tells whether the request may have reached AFAS
    (connection dropped after sending): a POST is then not safe to repeat blindly."""

    def __init__(self, host: str, *, maybe_sent: bool, connector: str | None = None) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(
            T(
                f"Cannot reach AFAS at {host}. Check the network and the Profit server host.",
                f"AFAS op {host} is niet bereikbaar. Controleer het netwerk en de Profit server host.",
            ),
            connector=connector,
        )


class AfasTimeout(AfasError):
    """AFAS did not answer in time. ``maybe_sent`` as for :class:`AfasConnectionError`."""

    def __init__(self, seconds: float, *, maybe_sent: bool, connector: str | None = None) -> None:
        self.maybe_sent = maybe_sent
        super().__init__(
            T(
                f"AFAS did not answer within {seconds:g} s.",
                f"AFAS antwoordde niet binnen {seconds:g} s.",
            ),
            connector=connector,
        )


class AfasBadReply(AfasError):
    """The answer was not the JSON shape AFAS documents (a proxy page, a captive portal, …)."""

    def __init__(
        self, detail: str, *, status: int | None = None, connector: str | None = None
    ) -> None:
        super().__init__(
            T(
                f"AFAS gave an unexpected answer: {detail}",
                f"AFAS gaf een onverwacht antwoord: {detail}",
            ),
            status=status,
            connector=connector,
        )
