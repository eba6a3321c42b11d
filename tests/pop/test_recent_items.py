"""The caller card's dossier reader with AFAS's own Profit_Subjects columns.

The simulated AFAS still serves its dossier connector under its older headings (Ds/Da/BcId),
which the card test covers against the simulator; these columns are the ones AFAS's OpenAPI file
*dossiers-en-bijlagen* lists for ``Profit_Subjects``, which a simulator does not produce yet, so a
small stand-in client answers with exactly those (metainfo, then one page).
"""

from __future__ import annotations

from typing import Any

import pytest

from afas_tray.afas import AfasNotFound, ConnectorMeta, FieldMeta
from afas_tray.pop.recent_items import DossierColumns, ItemsUnavailable, read_recent_items

PROFIT_SUBJECTS = ("TypeId", "SubjectId", "DateCreated", "Subject", "Comment", "Status",
                   "OrgPersId", "ContactNr", "Responsible", "StartDate")


class ProfitSubjects:
    def __init__(self, rows: list[dict[str, Any]], fields: tuple[str, ...] = PROFIT_SUBJECTS,
                 connector: str = "Profit_Subjects") -> None:
        self.rows = rows
        self.fields = fields
        self.connector = connector
        self.requests: list[tuple[str, dict[str, str]]] = []

    async def metainfo(self, connector_id: str) -> ConnectorMeta:
        if connector_id != self.connector:
            raise AfasNotFound(connector_id)
        return ConnectorMeta(connector_id, "", [FieldMeta(f, f, "string", f, 0)
                                                for f in self.fields])

    async def get_page(self, connector_id: str, params: dict[str, str]) -> list[dict[str, Any]]:
        self.requests.append((connector_id, params))
        return self.rows[: int(params["take"])]


async def test_reads_the_standard_columns_newest_first() -> None:
    client = ProfitSubjects([
        {"SubjectId": 9, "DateCreated": "2026-11-25T10:15:00Z", "Subject": "Nieuwe  bestelling",
         "OrgPersId": "1001", "Responsible": "J. Jansen"},
        {"SubjectId": 8, "DateCreated": "2026-11-24T16:05:00Z", "Subject": "Terugbelverzoek",
         "OrgPersId": "1001", "Responsible": None},
    ])
    items = await read_recent_items(client, "1001", connector="Profit_Subjects")
    assert [(i.day, i.subject, i.who) for i in items] == [
        ("25-11-2026", "Nieuwe bestelling", "J. Jansen"), ("24-11-2026", "Terugbelverzoek", "")]
    [(connector, params)] = client.requests
    assert connector == "Profit_Subjects"
    assert params == {"skip": "0", "take": "3", "filterfieldids": "OrgPersId",
                      "filtervalues": "1001", "operatortypes": "1",
                      "orderbyfieldids": "-DateCreated,-SubjectId"}


async def test_a_connector_without_relation_or_subject_column_is_unavailable() -> None:
    client = ProfitSubjects([], fields=("SubjectId", "DateCreated"), connector="Eigen_Dossier")
    with pytest.raises(ItemsUnavailable):
        await read_recent_items(client, "1001", connector="Eigen_Dossier",
                                columns=DossierColumns(subject=("Onderwerp",)))
    with pytest.raises(ItemsUnavailable):  # the connector is not there at all
        await read_recent_items(client, "1001", connector="Bestaat_Niet")
    with pytest.raises(ItemsUnavailable):  # a relation id AFAS's filter syntax cannot carry
        await read_recent_items(ProfitSubjects([]), "10,01")
