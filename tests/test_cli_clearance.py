"""`policykg export` and `policykg analyse` with `--clearance`: against the real Neo4j, a GREEN
and a RED document, and what a GREEN audience gets holds nothing that only the RED document
supports (entities, aliases, relations, evidence, weights, documents, analytics rows), while
`--clearance RED` and the default (everything) hold it. The RED document names an actor and a
sector no other document names (Sandworm, energy), gives APT28 an alias (Fancy Bear), states a
relation between two entities the GREEN document names (the European Defence Agency leads Plan
Alpha) and adds evidence to a relation the GREEN document also states (ransomware targets
healthcare)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner, Result

from graph.export import ExportFilter, load_export
from graph.ontology import entity_key
from graph.writer import GraphWriter
from ingest.records import Extraction
from policykg_cli import main
from tests.analytics_fixtures import actor, make_extraction

pytestmark = [pytest.mark.neo4j]

OPEN = make_extraction(
    "open-briefing.txt",
    [actor("ENISA", "civil", "state"), actor("European Defence Agency", "military", "state"),
     actor("APT28", None, "state-sponsored"), ("Initiative", "Plan Alpha", {}),
     ("Threat", "ransomware", {}), ("Sector", "healthcare", {})],
    [("ENISA", "COOPERATES_WITH", "European Defence Agency"), ("ENISA", "LEADS", "Plan Alpha"),
     ("Plan Alpha", "ADDRESSES", "ransomware"), ("Plan Alpha", "COVERS", "healthcare"),
     ("ransomware", "TARGETS", "healthcare"), ("APT28", "TARGETS", "healthcare")],
    title="Open briefing on cooperation",
)
SECRET = make_extraction(
    "red-dossier.txt",
    [actor("Sandworm", "military", "state-sponsored"), actor("ENISA", "civil", "state"),
     actor("European Defence Agency", "military", "state"), actor("APT28"),
     ("Initiative", "Plan Alpha", {}), ("Threat", "ransomware", {}), ("Sector", "energy", {}),
     ("Sector", "healthcare", {})],
    [("Sandworm", "COOPERATES_WITH", "ENISA"), ("ransomware", "TARGETS", "energy"),
     ("European Defence Agency", "LEADS", "Plan Alpha"), ("ransomware", "TARGETS", "healthcare"),
     ("APT28", "TARGETS", "energy")],
    title="Restricted dossier on hostile actors",
)


def _marked(ex: Extraction, tlp: str) -> Extraction:
    return dataclasses.replace(ex, document=dataclasses.replace(ex.document, tlp=tlp))


def _with_alias(ex: Extraction, name: str, alias: str) -> Extraction:
    """The document names the entity by an alias (its mentions read `alias`)."""
    entities = tuple(
        dataclasses.replace(e, aliases=(alias,), mentions=tuple(
            dataclasses.replace(m, text=alias) for m in e.mentions))
        if e.name == name else e
        for e in ex.entities)
    return dataclasses.replace(ex, entities=entities)


GREEN_EX = _marked(OPEN, "GREEN")
RED_EX = _marked(_with_alias(SECRET, "APT28", "Fancy Bear"), "RED")
RED_ID, GREEN_ID = RED_EX.document.id, GREEN_EX.document.id
SANDWORM, ENERGY = entity_key("Actor", "Sandworm"), entity_key("Sector", "energy")
ENISA, EDA = entity_key("Actor", "ENISA"), entity_key("Actor", "European Defence Agency")
APT28, PLAN = entity_key("Actor", "APT28"), entity_key("Initiative", "Plan Alpha")
RANSOMWARE, HEALTHCARE = entity_key("Threat", "ransomware"), entity_key("Sector", "healthcare")
# Words that only the RED document gives: in a GREEN export none may appear, anywhere.
SECRET_WORDS = ("Sandworm", "energy", "Fancy Bear", RED_ID, "Restricted dossier")


@pytest.fixture
def graph(empty_graph: GraphWriter) -> GraphWriter:
    empty_graph.write(GREEN_EX)
    empty_graph.write(RED_EX)
    return empty_graph


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def export_json(*args: str) -> dict[str, Any]:
    return json.loads(cli("export", "--format", "json", *args).stdout)


def edges_by_id(data: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(e["source"], e["type"], e["target"]): e for e in data["edges"]}


def nodes_by_key(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["key"]: n for n in data["nodes"]}


# --- export ---------------------------------------------------------------------------------


def test_green_export_holds_nothing_only_the_red_document_supports(graph: GraphWriter) -> None:
    full, red, green = export_json(), export_json("--clearance", "RED"), \
        export_json("--clearance", "GREEN")
    for everything in (full, red):
        text = json.dumps(everything)
        assert all(w in text for w in SECRET_WORDS[:4]), "the fixture must hold the RED facts"
        assert {SANDWORM, ENERGY} <= set(nodes_by_key(everything))
        assert (EDA, "LEADS", PLAN) in edges_by_id(everything)
    assert "clearance" not in full and red["clearance"] == "RED"
    assert green["clearance"] == "GREEN"
    assert not any(w in json.dumps(green) for w in SECRET_WORDS)
    nodes, edges = nodes_by_key(green), edges_by_id(green)
    assert SANDWORM not in nodes and ENERGY not in nodes
    assert {ENISA, EDA, APT28, PLAN, RANSOMWARE, HEALTHCARE} == set(nodes)
    assert nodes[APT28]["aliases"] == [] and "Fancy Bear" in nodes_by_key(red)[APT28]["aliases"]
    assert nodes[ENISA]["mentions"] == nodes_by_key(red)[ENISA]["mentions"] - 2
    assert nodes[ENISA]["documents"] == [GREEN_ID]
    # a relation between two entities GREEN sees, but stated only in RED, is left out
    assert (EDA, "LEADS", PLAN) not in edges and (SANDWORM, "COOPERATES_WITH", ENISA) not in edges
    # a relation both state keeps only its GREEN evidence, documents and weight
    shared, shared_red = edges[(RANSOMWARE, "TARGETS", HEALTHCARE)], \
        edges_by_id(red)[(RANSOMWARE, "TARGETS", HEALTHCARE)]
    assert shared["documents"] == [GREEN_ID] and set(shared_red["documents"]) == {GREEN_ID, RED_ID}
    assert len(shared["evidence"]) == 1 and len(shared_red["evidence"]) == 2
    assert shared["weight"] == 1 and shared_red["weight"] == 2
    assert not any(k.startswith(RED_ID) for e in green["edges"] for k in e["evidence"])


def test_green_export_in_every_format_records_its_clearance(graph: GraphWriter,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "green.graphml"
    cli("export", "--format", "graphml", "--clearance", "GREEN", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert not any(w in text for w in SECRET_WORDS)
    g = nx.read_graphml(out)
    assert g.graph["clearance"] == "GREEN" and SANDWORM not in g and ENISA in g
    full = tmp_path / "full.graphml"
    cli("export", "--format", "graphml", "-o", str(full))
    assert "Sandworm" in full.read_text(encoding="utf-8")
    assert "clearance" not in nx.read_graphml(full).graph

    zipped = tmp_path / "green.zip"
    cli("export", "--format", "csv", "--clearance", "GREEN", "-o", str(zipped))
    with zipfile.ZipFile(zipped) as z:
        assert sorted(z.namelist()) == ["clearance.txt", "edges.csv", "nodes.csv"]
        assert "GREEN" in z.read("clearance.txt").decode()
        nodes_csv, edges_csv = z.read("nodes.csv").decode(), z.read("edges.csv").decode()
    assert not any(w in nodes_csv + edges_csv for w in SECRET_WORDS)
    assert {r["key"] for r in csv.DictReader(io.StringIO(nodes_csv))} >= {ENISA, HEALTHCARE}

    shown = cli("export", "--format", "csv", "--clearance", "GREEN")
    assert "ENISA" in shown.stdout and not any(w in shown.stdout for w in SECRET_WORDS)
    assert "made for clearance GREEN" in shown.stderr
    red = cli("export", "--format", "csv", "--clearance", "RED").stdout
    assert "Sandworm" in red and RED_ID in red


def test_filters_and_clearance_together(graph: GraphWriter) -> None:
    # a filter on the RED document gives GREEN nothing, not the entities it mentions
    assert export_json("--clearance", "GREEN", "--document", RED_ID) \
        == {"clearance": "GREEN", "nodes": [], "edges": []}
    assert SANDWORM in nodes_by_key(export_json("--clearance", "RED", "--document", RED_ID))
    targets = export_json("--clearance", "GREEN", "--relation", "TARGETS")
    assert set(edges_by_id(targets)) == {(RANSOMWARE, "TARGETS", HEALTHCARE),
                                         (APT28, "TARGETS", HEALTHCARE)}
    assert set(nodes_by_key(targets)) == {RANSOMWARE, HEALTHCARE, APT28}
    # no document is CLEAR: that audience gets nothing
    onto = graph.ontology
    clear = load_export(graph.driver, onto, ExportFilter(), clearance="CLEAR")
    assert (clear.nodes, clear.edges, clear.clearance) == ([], [], "CLEAR")
    bad = CliRunner().invoke(main, ["export", "--format", "json", "--clearance", "SECRET"])
    assert bad.exit_code != 0 and "SECRET" in bad.output


# --- analyse --------------------------------------------------------------------------------


def analyse_json(name: str, *args: str) -> list[dict[str, Any]]:
    return json.loads(cli("analyse", name, "--format", "json", *args).stdout)


def test_green_analyses_hold_nothing_only_the_red_document_supports(graph: GraphWriter) -> None:
    for name in ("pagerank", "betweenness", "communities", "brokers", "gaps"):
        green = json.dumps(analyse_json(name, "--clearance", "GREEN"))
        assert not any(w in green for w in SECRET_WORDS), name
    ranked = {r["key"] for r in analyse_json("pagerank")}
    assert SANDWORM in ranked and ranked == {r["key"] for r in
                                             analyse_json("pagerank", "--clearance", "RED")}
    green_ranked = {r["key"]: r for r in analyse_json("pagerank", "--clearance", "GREEN")}
    assert SANDWORM not in green_ranked and {ENISA, EDA, APT28} <= set(green_ranked)
    # degree counts only the relations GREEN may see: ENISA loses its link to Sandworm
    red_ranked = {r["key"]: r for r in analyse_json("pagerank", "--clearance", "RED")}
    assert green_ranked[ENISA]["degree"] == red_ranked[ENISA]["degree"] - 1
    # gaps: the RED-only threat to energy is a row for RED and the default, not for GREEN
    for args in ((), ("--clearance", "RED")):
        assert (RANSOMWARE, ENERGY) in {(r["key"], r["sectorKey"]) for r in
                                        analyse_json("gaps", *args)}
    assert {(r["key"], r["sectorKey"]) for r in analyse_json("gaps", "--clearance", "GREEN")} \
        == {(RANSOMWARE, HEALTHCARE)}
    assert "Sandworm" in json.dumps(analyse_json("communities"))
    table = cli("analyse", "pagerank", "--clearance", "GREEN")
    assert "made for clearance GREEN" in table.stderr and "Sandworm" not in table.stdout
