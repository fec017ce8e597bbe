"""GraphReader against the real Neo4j, on the hand-built fixture graph (written by the real
writer): search, neighbourhoods with caps and filters, evidence, lenses, paths, documents."""

from __future__ import annotations

from typing import Any

import pytest
from dashboard_fixtures import HEALTH, KARPACZ, NIS2, SKILLS, doc_id, fixture_graph, key

from graph import queries
from graph.reader import Filters, GraphReader, ReaderError

pytestmark = pytest.mark.neo4j
__all__ = ["fixture_graph"]


@pytest.fixture(scope="module")
def reader(fixture_graph: Any) -> GraphReader:
    driver, onto, database = fixture_graph
    return GraphReader(driver, onto, database)


@pytest.mark.parametrize(
    "text",
    ["ENISA", "enisa", "ENIS", "European Union Agency for Cybersecurity", "agency cyber"],
)
def test_search_by_acronym_prefix_and_long_name(reader: GraphReader, text: str):
    assert reader.search(text)[0].key == key("ENISA")


@pytest.mark.parametrize("text", ['"ENISA" OR (', "AND", "*", "\\", "a:b", "[x TO y]", "~", ""])
def test_search_never_raises(reader: GraphReader, text: str):
    assert isinstance(reader.search(text), list)


def test_search_reports_the_type(reader: GraphReader):
    found = reader.search("ransomware")
    assert (found[0].name, found[0].type) == ("ransomware", "Threat")


def test_neighbours_are_capped_with_a_total(reader: GraphReader):
    sub = reader.neighbours(key("NIS2 Directive"), limit=25)
    assert len(sub.nodes) == 25 and sub.total > 25
    rest = reader.neighbours(key("NIS2 Directive"), skip=25, limit=100)
    assert len(rest.nodes) == sub.total - 25
    assert not set(rest.keys) & set(sub.keys)
    drawn = {key("NIS2 Directive"), *sub.keys}
    assert all({e.source, e.target} <= drawn for e in sub.edges)
    assert sum(key("NIS2 Directive") in (e.source, e.target) for e in sub.edges) == 25


def test_neighbours_filters(reader: GraphReader):
    enisa = key("ENISA")
    by_type = reader.neighbours(enisa, filters=Filters(types=("Initiative",)))
    assert {n.type for n in by_type.nodes} == {"Initiative"}
    by_rel = reader.neighbours(enisa, filters=Filters(relations=("COOPERATES_WITH",)))
    assert set(by_rel.keys) == {key("European Commission"), key("CSIRTs Network")}
    by_doc = reader.neighbours(enisa, filters=Filters(document=doc_id(SKILLS)))
    assert by_doc.keys == (key("Cybersecurity Skills Academy"),)
    by_theme = reader.neighbours(enisa, filters=Filters(theme="it-disruptions"))
    assert by_theme.keys == (key("CrowdStrike outage"),)
    by_date = reader.neighbours(enisa, filters=Filters(date_from="2024-01-01",
                                                       date_to="2024-12-31"))
    assert key("NIS2 Directive") not in by_date.keys and key("CrowdStrike outage") in by_date.keys


def test_quotes_mark_the_mention_words(reader: GraphReader):
    quotes = reader.quotes(key("ENISA"))
    first = next(q for q in quotes if "supports Member States" in q.text)
    marked = [first.text[a:b] for a, b in first.marks]
    assert marked == ["ENISA", "European Union Agency for Cybersecurity"]
    assert (first.title, first.issuer, first.date) == (KARPACZ.title, KARPACZ.issuer,
                                                       KARPACZ.date)


def test_relation_evidence(reader: GraphReader):
    edge = reader.relation(key("ENISA"), "COOPERATES_WITH", key("European Commission"))
    assert edge is not None and edge.documents == (doc_id(KARPACZ),)
    quotes = reader.evidence(edge)
    assert [q.text[a:b] for q in quotes for a, b in q.marks] == ["ENISA", "European Commission"]
    assert reader.relation(key("ENISA"), "FUNDS", key("European Commission")) is None


@pytest.mark.parametrize(
    ("lens", "expected"),
    [
        ("civil-military", {key("European Defence Agency"), key("PESCO Cyber Rapid Response Teams"),
                            key("European Commission")}),
        ("actors", {key("LockBit"), key("APT28"), key("CrowdStrike"), key("healthcare")}),
        ("it-disruptions", {key("CrowdStrike outage"), key("CrowdStrike"), key("CERT-EU"),
                            key("ENISA")}),
        ("healthcare", {key("healthcare"), key("ransomware"), key("Digital Europe Programme"),
                        key("European action plan on the cybersecurity of hospitals and "
                            "healthcare providers")}),
        ("skills", {key("skills shortage"), key("Cybersecurity Skills Academy"),
                    key("Digital Europe Programme")}),
    ],
)
def test_lenses(reader: GraphReader, lens: str, expected: set[str]):
    sub = reader.lens(lens)
    assert expected <= set(sub.keys)
    assert sub.edges and all(e.source in sub.keys and e.target in sub.keys for e in sub.edges)


def test_unknown_lens(reader: GraphReader):
    with pytest.raises(ReaderError):
        reader.lens("bogus")


def test_paths_with_evidence(reader: GraphReader):
    paths = reader.paths(key("LockBit"), key("Digital Europe Programme"))
    assert paths and all(len(p.edges) == 3 for p in paths)
    assert all(e.evidence for p in paths for e in p.edges)
    with_fallback = reader.paths(key("LockBit"), key("ransomware"), include_fallback=True)
    assert with_fallback and len(with_fallback[0].edges) == 1
    assert reader.paths(key("LockBit"), key("LockBit")) == []


def test_documents_text_mentions_and_what_each_brought(reader: GraphReader):
    docs = {d.id: d for d in reader.documents()}
    assert set(docs) == {doc_id(d) for d in (NIS2, SKILLS, HEALTH, KARPACZ)}
    health = reader.document(doc_id(HEALTH))
    assert health is not None and health.text.startswith(HEALTH.title)
    for m in reader.document_mentions(doc_id(HEALTH)):
        assert health.text[m.start:m.end]  # document offsets
    assert key("ENISA") in {n.key for n in reader.new_entities(doc_id(NIS2))}
    brought = {n.key for n in reader.new_entities(doc_id(HEALTH))}
    assert key("ENISA") not in brought and key("healthcare") in brought


def test_query_builders_are_whitelisted(reader: GraphReader):
    onto = reader.ontology
    assert "RELATED_TO" not in queries.shortest_paths(onto, 6, False)
    assert "*..6]" in queries.shortest_paths(onto, 6, True)
    with pytest.raises(ValueError):
        queries.shortest_paths(onto, 99, False)
    with pytest.raises(ValueError):
        queries.lens_query("bogus", onto)
