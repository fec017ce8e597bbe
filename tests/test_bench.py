"""The benchmark suite: its pure parts, the synthetic graph, the plans of the writer's
statements (every key it merges or matches on is backed by an index), and a quick run of the
whole suite against the real Neo4j producing the contract's JSON. No timing is asserted:
benchmarks are not tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import neo4j
import pytest

from graph import bench
from graph.ontology import default_ontology
from graph.server import ServerPaths
from graph.synthetic import SyntheticCorpus, pseudo_word
from graph.writer import GraphWriter
from ingest.records import Evidence, Relation
from tests.conftest import CORPUS, FOUNDING

SCANS = {"NodeByLabelScan", "AllNodesScan", "DirectedAllRelationshipsScan",
         "UndirectedAllRelationshipsScan"}


# --- pure parts -----------------------------------------------------------------------------


def test_percentile_interpolates() -> None:
    assert bench.percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert bench.percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert bench.percentile([5.0], 95) == 5.0
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_figure_judges_its_ratio_in_the_right_direction() -> None:
    faster = bench.Figure("speed-up", 10.0, "x", 1.7, 1.6)
    slower = bench.Figure("latency growth", 12.0, "ms", 2.5, 2.0, at_least=False)
    assert faster.met and not slower.met
    assert set(faster.as_json()) == {"name", "value", "unit", "ratio", "target", "met"}
    assert "NOT MET" in slower.line() and "<= 2" in slower.line()
    # a miss that two decimals would print as the target itself gets a third
    near = bench.Figure("speed-up", 10.0, "x", 1.597, 1.6)
    assert "ratio 1.597" in near.line() and "NOT MET" in near.line()
    assert "ratio 1.70" in faster.line()


def test_pseudo_words_are_unique() -> None:
    words = [pseudo_word(n) for n in range(5000)]
    assert len(set(words)) == len(words)


def test_synthetic_corpus_is_shaped_like_extraction() -> None:
    onto = default_ontology()
    corpus = SyntheticCorpus(onto, seed=3)
    extractions = list(corpus.until(20_000))
    assert corpus.relationships >= 20_000
    assert corpus.relationships == (corpus.passages + corpus.mentions
                                    + corpus.entity_relationships)
    types = {e.type for ex in extractions for e in ex.entities}
    assert types == set(onto.entity_types)
    rel_types = {r.type for ex in extractions for r in ex.relations}
    assert onto.fallback_relation in rel_types and len(rel_types) > 5
    for ex in extractions[:20]:
        text = ex.document.text
        for p in ex.passages:
            assert text[p.start:p.end] == p.text
        for e in ex.entities:
            for m in e.mentions:
                assert text[m.start:m.end] == m.text == e.name
        for r in ex.relations:
            kinds = {e.key: e.type for e in ex.entities}
            assert onto.relation_types[r.type].allows(kinds[r.source], kinds[r.target])
    # preferential attachment: a few hubs, a long tail, the registry's names at the top
    mentions: dict[str, int] = {}
    for ex in extractions:
        for e in ex.entities:
            mentions[e.name] = mentions.get(e.name, 0) + len(e.mentions)
    ranked = sorted(mentions.values(), reverse=True)
    assert ranked[0] > 20 * ranked[len(ranked) // 2]
    top = sorted(mentions, key=mentions.__getitem__, reverse=True)[:5]
    registry = {e.name for e in onto.registry}
    assert sum(name in registry for name in top) >= 3
    # deterministic for a seed
    again = SyntheticCorpus(onto, seed=3)
    assert again.extraction() == extractions[0]


# --- the writer's plans -------------------------------------------------------------------------


def _operators(plan: Any) -> Iterator[str]:
    yield plan["operatorType"] if isinstance(plan, dict) else plan.operator_type
    children = plan.get("children", []) if isinstance(plan, dict) else plan.children
    for child in children:
        yield from _operators(child)


@pytest.fixture
def recorded_statements(empty_graph: GraphWriter, monkeypatch: pytest.MonkeyPatch,
                        extractor: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every statement the writer sends while it writes documents (one by one and in bulk),
    writes a changed version of a document, records a run and removes a document."""
    from ingest.loaders import load_document

    seen: list[tuple[str, dict[str, Any]]] = []
    original = neo4j.ManagedTransaction.run

    def spy(self: Any, query: str, parameters: Any = None, **kwargs: Any) -> Any:
        seen.append((query, {**(parameters or {}), **kwargs}))
        return original(self, query, parameters, **kwargs)

    monkeypatch.setattr(neo4j.ManagedTransaction, "run", spy)
    writer = empty_graph
    synthetic = SyntheticCorpus(default_ontology(), seed=5)
    founding = extractor.extract(load_document(FOUNDING))
    writer.write(founding)
    writer.write_batch([synthetic.extraction() for _ in range(3)])
    original_doc = load_document(FOUNDING)
    changed = replace(original_doc, id="0" * 64, text=original_doc.text + "\nAppendix.")
    writer.write(extractor.extract(changed))
    writer.record_run({"id": "bench-test-run", "at": "2025-01-01T00:00:00"}, ["0" * 64])
    writer.remove("0" * 64)
    monkeypatch.undo()
    return seen


def test_writer_statements_use_indexes(recorded_statements: list[tuple[str, dict[str, Any]]],
                                       neo4j_driver: Any) -> None:
    """EXPLAIN every distinct statement the writer sent: no label or all-nodes scan, so every
    key merged or matched on is found through a constraint or index."""
    distinct = {q: p for q, p in recorded_statements}
    assert len(distinct) >= 10
    scanning = {}
    with neo4j_driver.session() as session:
        for query, params in distinct.items():
            summary = session.run("EXPLAIN " + query, params).consume()
            operators = {op.split("@")[0] for op in _operators(summary.plan)}
            if operators & SCANS:
                scanning[" ".join(query.split())[:120]] = sorted(operators & SCANS)
    assert scanning == {}, f"statements scanning instead of seeking: {scanning}"


# --- the suite ----------------------------------------------------------------------------------


def test_write_batch_gives_the_graph_of_per_document_writes(empty_graph: GraphWriter,
                                                           neo4j_driver: Any) -> None:
    onto = default_ontology()
    corpus = SyntheticCorpus(onto, seed=9)
    docs = [corpus.extraction() for _ in range(6)]
    for ex in docs:
        empty_graph.write(ex)
    one_by_one = bench.canonical_dump(neo4j_driver)
    bench.wipe(neo4j_driver)
    results = empty_graph.write_batch(docs + docs[:2], rows_per_statement=50)
    assert [r.written for r in results] == [True] * 6 + [False] * 2
    assert bench.canonical_dump(neo4j_driver) == one_by_one
    again = empty_graph.write_batch(docs)
    assert not any(r.written for r in again)



def test_write_isolated_lands_every_good_document_of_a_failed_batch(empty_graph: GraphWriter,
                                                                   neo4j_driver: Any) -> None:
    """Ingest's group commit: a document the store refuses makes the batch transaction fail;
    the others are then written one by one and the bad one's error takes its place."""
    corpus = SyntheticCorpus(default_ontology(), seed=13)
    good = [corpus.extraction() for _ in range(3)]
    for ex in good:
        empty_graph.write(ex)
    expected = bench.canonical_dump(neo4j_driver)
    bench.wipe(neo4j_driver)
    source = corpus.extraction()
    bad = replace(source, entities=[replace(source.entities[0], type="Bogus"),
                                    *source.entities[1:]])
    outcomes = empty_graph.write_isolated([good[0], bad, good[1], good[2]])
    assert isinstance(outcomes[1], ValueError) and "Bogus" in str(outcomes[1])
    assert [isinstance(o, Exception) or o.written for o in outcomes] == [True] * 4
    assert bench.canonical_dump(neo4j_driver) == expected
    again = empty_graph.write_isolated(good)
    assert [o.written for o in again if not isinstance(o, Exception)] == [False] * 3

def test_quick_suite_produces_the_contract_json(empty_graph: GraphWriter, neo4j_driver: Any,
                                                settings: Any, tmp_path: Any) -> None:
    small = tmp_path / "corpus"
    small.mkdir()
    for name in (FOUNDING.name, "08_healthcare-cybersecurity-action-plan-2025.txt"):
        (small / name).write_text((CORPUS / name).read_text(encoding="utf-8"), encoding="utf-8")
    env = {"NEO4J_URI": settings.neo4j_uri, "NEO4J_USER": settings.neo4j_user,
           "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
           "NEO4J_DATABASE": settings.neo4j_database}
    options = bench.Options(corpus=small, scale=12_000, quick=True, jobs=2,
                            database=settings.neo4j_database, env=env,
                            small_home=tmp_path / "small-graph")
    report = bench.run_suite(neo4j_driver, default_ontology(), options)
    data = json.loads(bench.report_json(report))
    assert set(data) == {"machine", "figures"}
    assert "cores" in data["machine"] and "Neo4j" in data["machine"]
    names = [f["name"] for f in data["figures"]]
    assert len(names) == len(set(names)) >= 12
    for f in data["figures"]:
        assert set(f) == {"name", "value", "unit", "ratio", "target", "met"}
        assert f["value"] > 0 and f["ratio"] > 0 and f["target"] > 0
        assert isinstance(f["met"], bool)
    by_name = {f["name"]: f for f in data["figures"]}
    assert any("vs plain nlp.pipe" in n and by_name[n]["unit"] == "words/s" for n in names)
    assert any(n.startswith("shortest path p95") for n in names)
    rss = next(f for f in data["figures"] if f["name"].startswith("peak RSS"))
    assert 50 < rss["value"] < 8000  # megabytes: a spaCy pipeline, not bytes or gigabytes
    assert any("relationships" in note for note in report.notes)
    # the small graph lived in a second Neo4j, each read timed there and here in turns
    assert any("timed in turns" in note for note in report.notes)
    assert not ServerPaths(tmp_path / "small-graph").data.exists()  # stopped and deleted
    assert bench.graph_size(neo4j_driver) == (0, 0)  # the suite leaves the database empty


def test_scale_figures_on_one_database(empty_graph: GraphWriter, neo4j_driver: Any) -> None:
    """Without a second server (a remote database) the small graph is measured first."""
    figures, notes = bench.measure_scale(neo4j_driver, default_ontology(), scale=4_000,
                                         base=1_500, rounds=1)
    assert [f.name.split(" at ")[0] for f in figures[:6]] == [
        "search suggestions p50", "search suggestions p95", "expansion (25 neighbours) p50",
        "expansion (25 neighbours) p95", "shortest path p50", "shortest path p95"]
    assert all(f.value > 0 and f.ratio > 0 for f in figures)
    assert any("before and after it grew" in n for n in notes)
    assert 4_000 <= bench.graph_size(neo4j_driver)[1] < 6_000


def test_derived_properties_follow_writes_and_removals(empty_graph: GraphWriter,
                                                       neo4j_driver: Any) -> None:
    """The counts and markings the writer keeps for the reads (graph/queries.py, derived
    properties) equal what the facts give, after per-document and bulk writes of documents of
    every marking (and none), a new version of a document, and removals."""
    from graph import queries

    corpus = SyntheticCorpus(default_ontology(), seed=13)
    markings = ["CLEAR", "GREEN", "AMBER", "RED", None]
    docs = []
    for i in range(10):
        ex = corpus.extraction()
        docs.append(replace(ex, document=replace(ex.document, tlp=markings[i % 5])))
    # a loop (an entity related to itself) counts once in its degree, as a pattern counts it
    first = docs[1]
    mention = first.entities[0].mentions[0]
    loop = Relation(first.entities[0].key, "RELATED_TO", first.entities[0].key,
                    (Evidence(mention.passage, mention.start, mention.end),))
    docs[1] = replace(first, relations=(*first.relations, loop))

    def mismatches() -> tuple[list[str], list[str]]:
        records, _, _ = neo4j_driver.execute_query(queries.DERIVED_MISMATCHES)
        return list(records[0]["entities"]), list(records[0]["relations"])

    for ex in docs[:5]:
        empty_graph.write(ex)
    empty_graph.write_batch(docs[5:], rows_per_statement=40)
    assert mismatches() == ([], [])
    newer = replace(docs[0], document=replace(docs[0].document, id="1" * 64, tlp="RED"))
    assert empty_graph.write(newer).replaced == (docs[0].document.id,)
    empty_graph.remove(docs[3].document.id)
    empty_graph.remove(docs[6].document.id)
    assert mismatches() == ([], [])
    # a graph written before the writer kept them gets them from `ensure_schema`
    neo4j_driver.execute_query("MATCH (e:Entity) REMOVE e.mentionCounts, e.degreeCounts")
    neo4j_driver.execute_query("MATCH ()-[r]->() REMOVE r.markings, r.lowestSlot")
    empty_graph.ensure_schema()
    assert mismatches() == ([], [])
