"""Small value types shared by the core modules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from afas_tray.i18n import Text


class RelationKind(StrEnum):
    ORGANISATION = "organisation"
    PERSON = "person"
    CONTACT = "contact"


@dataclass(frozen=True)
class Match:
    """One phone-book hit for a number.

    ``bcid`` is always the BcId whose InSite card should open: for a contact person that is the
    owning organisation's (or person's) BcId, with the contact itself in ``contact_id``.
    """

    bcid: str
    name: str
    kind: RelationKind
    phone: str = ""  # the number as written in AFAS
    column: str = ""  # the connector column it came from
    contact_id: str = ""  # AFAS contact id (KnSubjectLink CdId) when matched via a contact
    contact_name: str = ""
    connector: str = ""  # GetConnector id the row came from
    rank: int = 0  # lower is better


@dataclass(frozen=True)
class CheckResult:
    """One line of `afas-tray doctor` / the settings dialog's "Test connection"."""

    key: str  # stable id: "settings", "host", "token", "connector.organisations", …
    title: Text  # what was checked, e.g. "GetConnector AfasTray_Personen"
    ok: bool
    detail: Text  # why it failed, or a short confirmation
    warning: bool = False  # passed, but the user should know (e.g. secrets in a file)
