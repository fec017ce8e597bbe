"""Ingest into the real Neo4j: the founding document becomes documents, passages, typed
entities and mentions whose offsets point at the right words; a second ingest changes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graph.ingestion import ingest
from graph.writer import GraphWriter
from ingest.loaders import load_document
from tests.conftest import FOUNDING

COUNT_ALL = """
RETURN COUNT { MATCH (n) } AS nodes, COUNT { MATCH ()-[r]->() } AS rels,
       COUNT { MATCH (:Document) } AS documents, COUNT { MATCH (:Passage) } AS passages,
       COUNT { MATCH (:Entity) } AS entities
"""


def counts(driver) -> dict[str, int]:  # noqa: ANN001
    records, _, _ = driver.execute_query(COUNT_ALL)
    return dict(records[0])


@pytest.fixture
def founding_ingested(empty_graph: GraphWriter, extractor):  # noqa: ANN001, ANN201
    report = ingest([FOUNDING], extractor, empty_graph)
    assert report.errors == []
    return report


def test_founding_document_becomes_a_graph(founding_ingested, neo4j_driver) -> None:  # noqa: ANN001
    c = counts(neo4j_driver)
    assert c["documents"] == 1
    assert c["passages"] > 20
    assert c["entities"] >= 10
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (e:Entity) RETURN e.name AS name, labels(e) AS labels, e.type AS type")
    by_name = {r["name"]: r for r in records}
    for name, label in [("ENISA", "Actor"), ("CrowdStrike", "Actor"), ("ransomware", "Threat"),
                        ("healthcare", "Sector"), ("Karpacz", "Location")]:
        assert name in by_name, f"{name} missing from {sorted(by_name)}"
        assert set(by_name[name]["labels"]) == {"Entity", label}
        assert by_name[name]["type"] == label


def test_mentions_point_at_the_words(founding_ingested, neo4j_driver) -> None:  # noqa: ANN001
    text = load_document(FOUNDING).text
    records, _, _ = neo4j_driver.execute_query(
        """MATCH (d:Document)-[:HAS_PASSAGE]->(p:Passage)-[m:MENTIONS]->(e:Entity)
           RETURN d.text AS doc, p.start AS ps, p.end AS pe, p.text AS sentence,
                  m.start AS start, m.end AS end, m.text AS surface, e.name AS name""")
    assert len(records) >= 15
    for r in records:
        assert r["doc"][r["start"]:r["end"]] == r["surface"]
        assert r["ps"] <= r["start"] < r["end"] <= r["pe"]
        assert r["doc"][r["ps"]:r["pe"]] == r["sentence"]
    enisa = [r for r in records if r["name"] == "ENISA"]
    assert enisa and all(text[r["start"]:r["end"]] == "ENISA" for r in enisa)
    assert any("foresight report by ENISA" in r["sentence"] for r in enisa)


def test_every_relation_has_evidence(founding_ingested, neo4j_driver) -> None:  # noqa: ANN001
    records, _, _ = neo4j_driver.execute_query(
        """MATCH (a:Entity)-[r]->(b:Entity)
           RETURN type(r) AS type, r.evidence AS evidence, r.documents AS documents,
                  [k IN r.evidence | COUNT { MATCH (p:Passage {key: k}) }] AS found""")
    assert records, "no relations at all"
    assert any(r["type"] != "RELATED_TO" for r in records), "only co-occurrence"
    for r in records:
        assert r["evidence"] and r["documents"]
        assert all(n == 1 for n in r["found"])


def test_second_ingest_changes_nothing(founding_ingested, neo4j_driver, extractor,  # noqa: ANN001
                                       empty_graph) -> None:
    before = counts(neo4j_driver)
    again = ingest([FOUNDING], extractor, empty_graph)
    assert [r.written for r in again.results] == [False]
    assert counts(neo4j_driver) == before


def test_bad_file_is_reported_and_the_rest_ingested(empty_graph, extractor, neo4j_driver,  # noqa: ANN001
                                                    tmp_path: Path) -> None:
    shutil.copy(FOUNDING, tmp_path / FOUNDING.name)
    (tmp_path / "empty.txt").write_text("   \n", encoding="utf-8")
    report = ingest([tmp_path], extractor, empty_graph)
    assert len(report.errors) == 1 and "empty.txt" in report.errors[0]
    assert len(report.written) == 1
    assert counts(neo4j_driver)["documents"] == 1


def test_changed_document_replaces_its_facts(empty_graph, extractor, neo4j_driver,  # noqa: ANN001
                                             tmp_path: Path) -> None:
    doc = tmp_path / "note.txt"
    doc.write_text("ENISA and CERT-EU will work together on ransomware.\n", encoding="utf-8")
    ingest([doc], extractor, empty_graph)
    doc.write_text("Europol fights ransomware targeting hospitals.\n", encoding="utf-8")
    report = ingest([doc], extractor, empty_graph)
    assert report.written and report.written[0].replaced
    records, _, _ = neo4j_driver.execute_query("MATCH (e:Entity) RETURN e.name AS name")
    names = {r["name"] for r in records}
    assert "ENISA" not in names and "ransomware" in names
    assert counts(neo4j_driver)["documents"] == 1
