"""Analytics against the real Neo4j, each on a small graph whose answer is known by
construction: written with GraphWriter from hand-made records, read back with load_snapshot."""

from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from graph import analytics
from graph.writer import GraphWriter
from tests.analytics_fixtures import actor, make_extraction

# A civil star (Civil Hub and four leaves) joined to a military pair only through the
# Liaison Cell: the cell is the broker, the hub the most central actor.
BRIDGE_ENTITIES = [
    actor("Civil Hub", "civil", "state"),
    *(actor(f"Civil {x}", "civil", "state") for x in "ABCD"),
    actor("Liaison Cell", "civil-military", "state"),
    actor("Military One", "military", "state"),
    actor("Military Two", "military", "state"),
]
BRIDGE_RELATIONS = [
    *(("Civil Hub", "COOPERATES_WITH", f"Civil {x}") for x in "ABCD"),
    ("Civil Hub", "COOPERATES_WITH", "Liaison Cell"),
    ("Liaison Cell", "COOPERATES_WITH", "Military One"),
    ("Military One", "COOPERATES_WITH", "Military Two"),
]

# Policy graph: Alpha and Beta share their actors, threat and sector (duplicates); ransomware
# against healthcare is answered by Alpha; DDoS against energy is answered by nothing, though
# Fund One funds Gamma, which covers energy; disinformation against elections is a bare gap.
POLICY_ENTITIES = [
    actor("Agency X", "civil"), actor("Agency Y", "civil"), actor("Agency Z", "civil"),
    ("Initiative", "Plan Alpha", {}), ("Initiative", "Plan Beta", {}),
    ("Initiative", "Plan Gamma", {}),
    ("Threat", "ransomware", {}), ("Threat", "DDoS", {}), ("Threat", "disinformation", {}),
    ("Sector", "healthcare", {}), ("Sector", "energy", {}), ("Sector", "elections", {}),
    ("FundingInstrument", "Fund One", {}),
]
POLICY_RELATIONS = [
    ("Agency X", "LEADS", "Plan Alpha"), ("Agency Y", "PARTICIPATES_IN", "Plan Alpha"),
    ("Plan Alpha", "ADDRESSES", "ransomware"), ("Plan Alpha", "COVERS", "healthcare"),
    ("Agency X", "LEADS", "Plan Beta"), ("Agency Y", "PARTICIPATES_IN", "Plan Beta"),
    ("Plan Beta", "ADDRESSES", "ransomware"), ("Plan Beta", "COVERS", "healthcare"),
    ("Agency Z", "LEADS", "Plan Gamma"), ("Plan Gamma", "COVERS", "energy"),
    ("Fund One", "FUNDS", "Plan Gamma"),
    ("ransomware", "TARGETS", "healthcare"), ("DDoS", "TARGETS", "energy"),
    ("disinformation", "TARGETS", "elections"),
]


@pytest.fixture
def bridge_graph(empty_graph: GraphWriter) -> GraphWriter:
    empty_graph.write(make_extraction("bridge.txt", BRIDGE_ENTITIES, BRIDGE_RELATIONS))
    return empty_graph


@pytest.fixture
def policy_graph(empty_graph: GraphWriter) -> GraphWriter:
    empty_graph.write(make_extraction("policy.txt", POLICY_ENTITIES, POLICY_RELATIONS))
    return empty_graph


def snapshot(writer: GraphWriter, **kw):  # noqa: ANN003, ANN201
    return analytics.load_snapshot(writer.driver, writer.ontology, **kw)


def test_snapshot_holds_the_entity_graph(bridge_graph: GraphWriter) -> None:
    g = snapshot(bridge_graph)
    assert g.number_of_nodes() == len(BRIDGE_ENTITIES)
    assert g.number_of_edges() == len(BRIDGE_RELATIONS)
    assert g.nodes["Actor:liaison cell"]["sphere"] == "civil-military"
    view = snapshot(bridge_graph, keys=["Actor:civil hub", "Actor:civil a", "Actor:military one"])
    assert set(view) == {"Actor:civil hub", "Actor:civil a", "Actor:military one"}
    assert view.number_of_edges() == 1


def test_bridge_node_is_the_top_broker(bridge_graph: GraphWriter) -> None:
    table = analytics.brokers(snapshot(bridge_graph))
    top = table.rows[0]
    assert top["key"] == "Actor:liaison cell"
    assert top["pairsCut"] == 5 * 2  # five civil actors, two military ones
    assert top["share"] == 1.0
    second = table.rows[1]
    assert (second["key"], second["pairsCut"]) == ("Actor:civil hub", 4 * 2)
    assert [r["rank"] for r in table.rows] == list(range(1, len(table.rows) + 1))
    assert "Actor:civil a" not in {r["key"] for r in table.rows}  # a leaf brokers nothing


def test_pagerank_and_betweenness_rank_the_hub_first(bridge_graph: GraphWriter) -> None:
    g = snapshot(bridge_graph)
    pr = analytics.pagerank(g)
    assert pr.rows[0]["key"] == "Actor:civil hub"
    assert pr.rows[0]["degree"] == 5
    assert pytest.approx(sum(r["score"] for r in pr.rows), abs=1e-3) == 1.0
    bw = analytics.betweenness(g)
    assert bw.rows[0]["key"] == "Actor:civil hub"
    assert bw.rows[1]["key"] == "Actor:liaison cell"
    assert {r["key"] for r in bw.rows if r["score"] == 0} >= {"Actor:civil a", "Actor:military two"}


def test_communities_split_two_cliques(empty_graph: GraphWriter) -> None:
    left = [actor(f"Left {i}", "civil") for i in range(4)]
    right = [actor(f"Right {i}", "military") for i in range(4)]
    rels = [(f"{side} {i}", "COOPERATES_WITH", f"{side} {j}")
            for side in ("Left", "Right") for i in range(4) for j in range(i + 1, 4)]
    rels.append(("Left 0", "COOPERATES_WITH", "Right 0"))
    empty_graph.write(make_extraction("cliques.txt", left + right, rels))
    table = analytics.communities(snapshot(empty_graph))
    groups = [set(r["memberKeys"]) for r in table.rows]
    assert len(groups) == 2
    assert {f"Actor:left {i}" for i in range(4)} in groups
    assert {f"Actor:right {i}" for i in range(4)} in groups
    assert {r["hub"] for r in table.rows} == {"Left 0", "Right 0"}


def test_duplicates_pair_the_initiatives_that_share_everything(policy_graph: GraphWriter) -> None:
    table = analytics.duplicates(snapshot(policy_graph))
    assert len(table.rows) == 1
    row = table.rows[0]
    assert {row["key"], row["otherKey"]} == {"Initiative:plan alpha", "Initiative:plan beta"}
    assert row["jaccard"] == 1.0
    assert row["sharedActors"] == ["Agency X", "Agency Y"]
    assert row["sharedThreats"] == ["ransomware"] and row["sharedSectors"] == ["healthcare"]


def test_gaps_find_unanswered_threats_to_sectors(policy_graph: GraphWriter) -> None:
    table = analytics.gaps(snapshot(policy_graph))
    by_pair = {(r["threat"], r["sector"]): r for r in table.rows}
    assert set(by_pair) == {("ransomware", "healthcare"), ("DDoS", "energy"),
                            ("disinformation", "elections")}
    covered = by_pair[("ransomware", "healthcare")]
    assert not covered["gap"] and covered["answeredBy"] == ["Plan Alpha", "Plan Beta"]
    ddos = by_pair[("DDoS", "energy")]
    assert ddos["gap"] and ddos["partly"] == ["Plan Gamma"]
    assert ddos["funded"] and ddos["funders"] == ["Fund One"]
    bare = by_pair[("disinformation", "elections")]
    assert bare["gap"] and not bare["funded"] and bare["partly"] == []
    assert [r["gap"] for r in table.rows] == [True, True, False]  # gaps first


def test_fallback_relation_is_left_out_unless_asked(empty_graph: GraphWriter) -> None:
    ents = [actor("Alpha Office", "civil"), actor("Beta Office", "military")]
    empty_graph.write(make_extraction("co.txt", ents, [("Alpha Office", "RELATED_TO",
                                                        "Beta Office")]))
    assert snapshot(empty_graph).number_of_edges() == 0
    assert snapshot(empty_graph, include_fallback=True).number_of_edges() == 1


def test_service_computes_in_background_and_caches_until_the_graph_changes(
        policy_graph: GraphWriter) -> None:
    service = analytics.AnalyticsService(policy_graph.driver, policy_graph.ontology)
    try:
        first = service.compute("gaps", timeout=30)
        assert service.result("gaps") is first  # cached: same object, no recomputation
        policy_graph.write(make_extraction(
            "more.txt", [("Threat", "phishing", {}), ("Sector", "banking", {})],
            [("phishing", "TARGETS", "banking")]))
        deadline = time.monotonic() + 30
        fresh = service.result("gaps")
        while fresh is None and time.monotonic() < deadline:
            time.sleep(0.1)
            fresh = service.result("gaps")
        assert fresh is not None and fresh is not first
        assert ("phishing", "banking") in {(r["threat"], r["sector"]) for r in fresh.rows}
    finally:
        service.close()


def test_unknown_analysis_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown analysis"):
        analytics.analyse(analytics.build_snapshot([], []), "astrology")


def test_cli_analyse_prints_brokers(bridge_graph: GraphWriter) -> None:
    from policykg_cli import main

    result = CliRunner().invoke(main, ["analyse", "brokers", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["entity"] == "Liaison Cell" and rows[0]["key"] == "Actor:liaison cell"
    table = CliRunner().invoke(main, ["analyse", "gaps"])
    assert table.exit_code == 0 and "threat" in table.output
    bad = CliRunner().invoke(main, ["analyse", "astrology"])
    assert bad.exit_code != 0
