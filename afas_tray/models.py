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
    # The number (BcCo) of the relation whose card opens, next to its internal ``bcid``; ""
    # when the connector does not carry it. KnSubjectLink's BcId takes it by default.
    number: str = ""


@dataclass(frozen=True)
class CheckResult:
    """One line of `afas-tray doctor` / the settings dialog's "Test connection"."""

    key: str  # stable id: "settings", "host", "token", "connector.organisations", …
    title: Text  # what was checked, e.g. "GetConnector AfasTray_Personen"
    ok: bool
    detail: Text  # why it failed, or a short confirmation
    warning: bool = False  # passed, but the user should know (e.g. secrets in a file)


@dataclass(frozen=True)
class ReportItem:
    """One call report on its way to AFAS as a dossier item (KnSubject), keyed by the Xelion call.

    Built by the report pipeline (reports/rules.py) from a finished call; queued and sent by the outbox.
    """

    key: str  # the Xelion communication oid: one dossier item per finished call, ever
    call_id: str
    bcid: str  # KnSubjectLink BcId (organisation or person)
    subject: str  # Ds, at most 255 characters
    text: str  # SbTx: report text plus the call's facts (the outbox adds its own marker line)
    date: str  # Da: AFAS local (Europe/Amsterdam) time, "YYYY-MM-DDTHH:MM:SS"
    dossier_type: int  # StId
    contact_id: str = ""  # KnSubjectLink CdId when the match was a contact person
    audio_file: str = ""  # path of the downloaded MP3 in the spool folder, if it goes along
    audio_name: str = ""  # file name shown in AFAS, e.g. "gesprek-2026-11-25-1403.mp3"
    # What ``bcid`` holds: "number" (BcCo), "id" (the internal BcId) or "" (not known: a report
    # queued before issue 12, or a relation whose number the phone book lacks).
    link_by: str = ""
