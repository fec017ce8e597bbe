"""Ingest into the real Neo4j: the founding document becomes documents, passages, typed
entities and mentions whose offsets point at the right words; a second ingest changes nothing."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
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



def test_documents_waiting_for_the_writer_share_a_transaction_and_a_bad_one_costs_itself(
        empty_graph, extractor, neo4j_driver, tmp_path: Path,  # noqa: ANN001
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents extracted while the writer is busy (here: a slow first write) go in one
    batch, in order; one of them the store refuses is reported by its path and the rest of
    its batch lands."""
    texts = ["ENISA and CERT-EU counter ransomware.", "Europol tracks DDoS attacks on banks.",
             "NATO and the EU hold a cyber exercise.", "ENISA publishes a threat landscape.",
             "CERT-EU advises EU institutions on phishing."]
    for i, text in enumerate(texts):
        (tmp_path / f"{i}.txt").write_text(text + "\n", encoding="utf-8")
    batches: list[list[str]] = []
    write_isolated = empty_graph.write_isolated

    def slow_first(extractions):  # noqa: ANN001, ANN202
        batches.append([Path(ex.document.path).name for ex in extractions])
        if len(batches) == 1:
            time.sleep(1.0)
        return write_isolated(extractions)

    class Refusing:
        """The real extractor, with one record the store will refuse (an unknown type)."""

        def extract_many(self, documents, n_process=1, batch_size=8):  # noqa: ANN001, ANN202
            for ex in extractor.extract_many(documents, n_process=n_process):
                if ex.document.path.endswith("3.txt"):
                    ex = replace(ex, entities=[replace(e, type="Bogus") for e in ex.entities])
                yield ex

    monkeypatch.setattr(empty_graph, "write_isolated", slow_first)
    report = ingest([tmp_path], Refusing(), empty_graph)
    assert max(map(len, batches)) > 1
    assert [name for batch in batches for name in batch] == [f"{i}.txt" for i in range(5)]
    assert len(report.errors) == 1 and "3.txt" in report.errors[0] and "Bogus" in report.errors[0]
    assert len(report.written) == 4
    assert counts(neo4j_driver)["documents"] == 4

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
