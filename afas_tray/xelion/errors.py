"""Typed Xelion errors, each with a two-language message a user can act on.

Texts never contain the password or a session token: they are built from fixed sentences plus
the user name, the userSpace, the server and Xelion's numeric code. A message that the server
sends along is scrubbed of known secrets before it is shown (see ``XelionClient``).
"""

from __future__ import annotations

from afas_tray.errors import AppError
from afas_tray.i18n import T, Text

# Xelion error codes (public API guide, "Common errors" and me/login).
CODE_NOT_AUTHENTICATED = 10000
CODE_WRONG_CREDENTIALS = 10004
CODE_ALREADY_LOGGED_IN = 10005
CODE_ACCOUNT_DISABLED = 10006
CODE_PASSWORD_EXPIRED = 10007
CODE_LOGIN_FAILED = 10009
CODE_WRONG_VERSION = 10008
CODE_USER_SPACE_TOO_LONG = 10010
CODE_USER_SPACE_MISSING = 10011
CODE_NO_LICENCE = 10101
CODE_MFA_REQUIRED_OLD = 10012  # the guide's prose names 10012, its table 10013
CODE_MFA_REQUIRED = 10013
CODE_NOT_FOUND = 10100
CODE_TOO_MANY_REQUESTS = 10400
CODE_SERVER_ERROR = 11000


class XelionError(AppError):
    """Base class. ``text`` is for the user, ``str(exc)`` (English) for the log."""

    def __init__(self, text: Text, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(text)
        self.code = code
        self.status = status


class XelionAuthError(XelionError):
    """The credentials themselves are refused (10004), or the account cannot log in (10006/7)."""

    @classmethod
    def wrong_credentials(cls, username: str) -> XelionAuthError:
        return cls(
            T(
                f"Xelion refused the user name or password for '{username}'. "
                "Check the user name, password and tenant in the settings.",
                f"Xelion weigert de gebruikersnaam of het wachtwoord voor '{username}'. "
                "Controleer gebruikersnaam, wachtwoord en tenant in de instellingen.",
            ),
            code=CODE_WRONG_CREDENTIALS,
            status=401,
        )

    @classmethod
    def account_disabled(cls, username: str) -> XelionAuthError:
        return cls(
            T(
                f"The Xelion account '{username}' is disabled. Ask your Xelion administrator.",
                f"Het Xelion-account '{username}' is uitgeschakeld. Vraag het je Xelion-beheerder.",
            ),
            code=CODE_ACCOUNT_DISABLED,
            status=401,
        )

    @classmethod
    def password_expired(cls, username: str) -> XelionAuthError:
        return cls(
            T(
                f"The Xelion password of '{username}' has expired. Change it in Xelion, "
                "then enter the new password in the settings.",
                f"Het Xelion-wachtwoord van '{username}' is verlopen. Wijzig het in Xelion "
                "en vul daarna het nieuwe wachtwoord in bij de instellingen.",
            ),
            code=CODE_PASSWORD_EXPIRED,
            status=401,
        )

    @property
    def needs_user(self) -> bool:
        return True


class XelionMfaRequired(XelionError):
    """Xelion wants a second factor (10013); a tray app cannot answer that on its own."""

    @classmethod
    def for_user(cls, username: str) -> XelionMfaRequired:
        return cls(
            T(
                f"Xelion asks for two-step verification (MFA) for '{username}'. AFAS Tray cannot "
                "answer that. Ask your Xelion administrator for an account without MFA for "
                "this app.",
                f"Xelion vraagt om tweestapsverificatie (MFA) voor '{username}'. AFAS Tray kan "
                "die niet beantwoorden. Vraag je Xelion-beheerder om een account zonder MFA "
                "voor deze app.",
            ),
            code=CODE_MFA_REQUIRED,
            status=401,
        )

    @property
    def needs_user(self) -> bool:
        return True


class XelionAlreadyLoggedIn(XelionError):
    """The same user is already logged in with this userSpace (10005)."""

    def __init__(self, text: Text, *, user_space: str, code: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(text, code=code, status=status)
        self.user_space = user_space

    @classmethod
    def for_space(cls, username: str, user_space: str) -> XelionAlreadyLoggedIn:
        return cls(
            T(
                f"Xelion says '{username}' is already logged in on device '{user_space}' "
                "(userSpace). Close AFAS Tray on the other computer or user session that uses "
                "this device name, or wait until that session expires; or give this computer "
                "its own device name in the settings.",
                f"Xelion meldt dat '{username}' al is ingelogd op apparaat '{user_space}' "
                "(userSpace). Sluit AFAS Tray op de andere computer of gebruikerssessie met "
                "deze apparaatnaam, of wacht tot die sessie verloopt; of geef deze computer "
                "een eigen apparaatnaam in de instellingen.",
            ),
            user_space=user_space,
            code=CODE_ALREADY_LOGGED_IN,
            status=401,
        )

    @property
    def needs_user(self) -> bool:
        return True


class XelionSessionExpired(XelionError):
    """The session token is no longer accepted and logging in again did not help."""

    @classmethod
    def default(cls) -> XelionSessionExpired:
        return cls(
            T(
                "The Xelion session has expired and could not be restored. It is retried "
                "automatically.",
                "De Xelion-sessie is verlopen en kon niet worden hersteld. Dit wordt "
                "automatisch opnieuw geprobeerd.",
            ),
            code=CODE_NOT_AUTHENTICATED,
            status=401,
        )


class XelionUnavailable(XelionError):
    """Network trouble, a server error, maintenance or "too many requests": try again later."""

    @classmethod
    def unreachable(cls, host: str) -> XelionUnavailable:
        return cls(
            T(
                f"The Xelion server {host} cannot be reached. Check the network connection; "
                "AFAS Tray keeps trying.",
                f"De Xelion-server {host} is niet bereikbaar. Controleer de netwerkverbinding; "
                "AFAS Tray blijft het proberen.",
            )
        )

    @classmethod
    def server_error(cls, host: str, status: int, code: int | None, message: str = ""
                     ) -> XelionUnavailable:
        detail_en = f" ({message})" if message else ""
        return cls(
            T(
                f"The Xelion server {host} answered with an error (HTTP {status}"
                f"{', code ' + str(code) if code else ''}){detail_en}. AFAS Tray tries again "
                "later.",
                f"De Xelion-server {host} gaf een fout (HTTP {status}"
                f"{', code ' + str(code) if code else ''}){detail_en}. AFAS Tray probeert het "
                "later opnieuw.",
            ),
            code=code,
            status=status,
        )

    @classmethod
    def busy(cls, host: str) -> XelionUnavailable:
        return cls(
            T(
                f"The Xelion server {host} asks to slow down (too many requests). AFAS Tray "
                "waits and tries again.",
                f"De Xelion-server {host} vraagt om minder verzoeken. AFAS Tray wacht en "
                "probeert het opnieuw.",
            ),
            code=CODE_TOO_MANY_REQUESTS,
            status=429,
        )


class XelionBadReply(XelionError):
    """The server answered something that is not what the Xelion API documents."""

    @classmethod
    def for_path(cls, host: str, path: str, what: str) -> XelionBadReply:
        return cls(
            T(
                f"Unexpected answer from Xelion server {host} for {path}: {what}. Is the server "
                "address right?",
                f"Onverwacht antwoord van Xelion-server {host} op {path}: {what}. Klopt het "
                "serveradres?",
            )
        )


class XelionRequestError(XelionError):
    """Xelion refused a request for another documented reason (400/403/404 …)."""

    @classmethod
    def refused(cls, path: str, status: int, code: int | None, message: str = ""
                ) -> XelionRequestError:
        detail = f": {message}" if message else ""
        return cls(
            T(
                f"Xelion refused {path} (HTTP {status}"
                f"{', code ' + str(code) if code else ''}){detail}.",
                f"Xelion weigerde {path} (HTTP {status}"
                f"{', code ' + str(code) if code else ''}){detail}.",
            ),
            code=code,
            status=status,
        )


# Dialling through the PBX (resources/me_device_pbx_call.html, me_device_register.html).
CODE_NO_PAYLOAD = 10200
CODE_BAD_PAYLOAD = 10202
CODE_NO_DEVICE = 10050
CODE_NO_DEVICE_NUMBER = 10052
CODE_NO_PERMISSION = 10101  # common_errors.html: no permission, or not the required licence


class XelionDialRefused(XelionRequestError):
    """Xelion refused ``me/device/pbx_call`` (or the device registration before it).

    ``reason`` is Xelion's own message (scrubbed of secrets), so the user sees why."""

    def __init__(self, text: Text, *, reason: str, code: int | None = None,
                 status: int | None = None) -> None:
        super().__init__(text, code=code, status=status)
        self.reason = reason

    @classmethod
    def from_reply(cls, path: str, status: int, code: int | None, reason: str
                   ) -> XelionDialRefused:
        base = XelionRequestError.refused(path, status, code, reason)
        return cls(base.text, reason=reason, code=code, status=status)


class XelionConfigError(XelionError):
    """Login refused for how the app is set up, not for the password (me/login: 10008 wrong
    version, 10010 userSpace too long, 10011 userSpace missing): retrying cannot help."""

    @classmethod
    def for_code(cls, code: int, user_space: str) -> XelionConfigError:
        if code == CODE_WRONG_VERSION:
            text = T(
                "Xelion refuses this app's API version (10008). Check the server address in "
                "the settings (https://<host>, without /api/v1), or ask for an update.",
                "Xelion weigert de API-versie van deze app (10008). Controleer het serveradres "
                "bij de instellingen (https://<host>, zonder /api/v1), of vraag om een update.",
            )
        elif code == CODE_USER_SPACE_TOO_LONG:
            text = T(
                f"The device name (userSpace) is longer than Xelion allows (200 characters, "
                f"10010): it has {len(user_space)}. Shorten it in the settings.",
                f"De apparaatnaam (userSpace) is langer dan Xelion toestaat (200 tekens, "
                f"10010): hij heeft er {len(user_space)}. Maak hem korter bij de instellingen.",
            )
        else:
            text = T(
                "Xelion says the device name (userSpace) is missing (10011). Fill in a device "
                "name in the settings.",
                "Xelion meldt dat de apparaatnaam (userSpace) ontbreekt (10011). Vul een "
                "apparaatnaam in bij de instellingen.",
            )
        return cls(text, code=code, status=401)

    @property
    def needs_user(self) -> bool:
        return True


class XelionNoPermission(XelionError):
    """403: the account lacks the licence or rights for this request (10101, guide)."""

    @classmethod
    def for_what(cls, what: Text) -> XelionNoPermission:
        return cls(
            T(
                f"Xelion does not allow this account {what.en} (no licence or rights). "
                "Ask your Xelion administrator; AFAS Tray will not ask again until restarted.",
                f"Xelion staat dit account niet toe {what.nl} (geen licentie of rechten). "
                "Vraag het je Xelion-beheerder; AFAS Tray vraagt het pas na een herstart opnieuw.",
            ),
            code=CODE_NO_LICENCE,
            status=403,
        )

    @property
    def needs_user(self) -> bool:
        return True
