"""An expansion's first page is the most connected neighbours as the reader counts them:
relations that only a RED document states neither lift a neighbour up a GREEN reader's page
nor betray, by its place there, that they exist."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from dashboard_fixtures import DocSpec, Sentence, build_extraction, key

from graph.reader import GraphReader

pytestmark = [pytest.mark.neo4j]

OPEN = DocSpec(
    "open.txt", "Open note", "A ministry", "2025-01-01", "https://example.org/open",
    (
        Sentence("ENISA works with CERT-EU and the European Commission.",
                 ("ENISA", "CERT-EU", "European Commission"),
                 (("ENISA", "COOPERATES_WITH", "CERT-EU"),
                  ("ENISA", "COOPERATES_WITH", "European Commission"))),
        Sentence("CERT-EU works with the CSIRTs Network and the European Defence Agency.",
                 ("CERT-EU", "CSIRTs Network", "European Defence Agency"),
                 (("CERT-EU", "COOPERATES_WITH", "CSIRTs Network"),
                  ("CERT-EU", "COOPERATES_WITH", "European Defence Agency"))),
    ),
)
SECRET = DocSpec(
    "secret.txt", "Restricted note", "A national CERT", "2025-02-01", "https://example.org/red",
    (
        Sentence("The European Commission quietly works with CrowdStrike and the CSIRTs "
                 "Network against APT28 and LockBit.",
                 ("European Commission", "CrowdStrike", "CSIRTs Network", "APT28", "LockBit"),
                 (("European Commission", "COOPERATES_WITH", "CrowdStrike"),
                  ("European Commission", "COOPERATES_WITH", "CSIRTs Network"),
                  ("European Commission", "RESPONDS_TO", "APT28"),
                  ("European Commission", "RESPONDS_TO", "LockBit"))),
    ),
)


@pytest.fixture()
def readers(empty_graph: Any) -> tuple[GraphReader, GraphReader]:
    secret = build_extraction(SECRET)
    empty_graph.write(build_extraction(OPEN))
    empty_graph.write(dataclasses.replace(
        secret, document=dataclasses.replace(secret.document, tlp="RED")))
    args = (empty_graph.driver, empty_graph.ontology, empty_graph.database)
    return GraphReader(*args, clearance="GREEN"), GraphReader(*args, clearance="RED")


def test_neighbours_rank_by_the_relations_the_reader_may_see(readers: Any) -> None:
    green, red = readers
    cert_eu, commission = key("CERT-EU"), key("European Commission")
    # CERT-EU: 3 relations anyone may see; the Commission: 1 open, 4 more only in RED
    assert {n.key: n.degree for n in green.neighbours(key("ENISA")).nodes} == {
        cert_eu: 3, commission: 1}
    assert green.neighbours(key("ENISA"), limit=1).keys == (cert_eu,)
    assert red.neighbours(key("ENISA"), limit=1).keys == (commission,)
