"""Export against the real Neo4j: GraphML loads back into networkx with the graph's node and
edge counts, CSV and JSON hold the same, and filters keep only the part asked for."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from graph.export import ExportFilter, load_export, render, to_csv, to_csv_zip, to_graphml
from graph.writer import GraphWriter
from tests.analytics_fixtures import actor, make_extraction

ENTITIES = [
    actor("ENISA", "civil", "state"), actor("European Defence Agency", "military", "state"),
    ("Initiative", "Plan Alpha", {"kind": "programme"}), ("Threat", "ransomware", {}),
    ("Sector", "healthcare", {}), ("FundingInstrument", "Fund One", {}),
]
RELATIONS = [
    ("ENISA", "COOPERATES_WITH", "European Defence Agency"), ("ENISA", "LEADS", "Plan Alpha"),
    ("Plan Alpha", "ADDRESSES", "ransomware"), ("Plan Alpha", "COVERS", "healthcare"),
    ("Fund One", "FUNDS", "Plan Alpha"), ("ransomware", "TARGETS", "healthcare"),
    ("ENISA", "RELATED_TO", "Plan Alpha"),  # a second edge between the same pair
]
OTHER = make_extraction("other.txt", [("Threat", "ransomware", {}), ("Sector", "energy", {})],
                        [("ransomware", "TARGETS", "energy")])


@pytest.fixture
def graph(empty_graph: GraphWriter) -> GraphWriter:
    empty_graph.write(make_extraction("main.txt", ENTITIES, RELATIONS))
    empty_graph.write(OTHER)
    return empty_graph


def db_counts(writer: GraphWriter) -> tuple[int, int]:
    records, _, _ = writer.driver.execute_query(
        "RETURN COUNT { MATCH (:Entity) } AS n, COUNT { MATCH (:Entity)-[]->(:Entity) } AS e")
    return records[0]["n"], records[0]["e"]


def test_graphml_loads_back_with_the_same_counts(graph: GraphWriter, tmp_path: Path) -> None:
    data = load_export(graph.driver, graph.ontology)
    path = tmp_path / "graph.graphml"
    path.write_text(to_graphml(data), encoding="utf-8")
    g = nx.read_graphml(path)
    nodes, edges = db_counts(graph)
    assert (g.number_of_nodes(), g.number_of_edges()) == (nodes, edges) == (7, 8)
    assert g.nodes["Actor:enisa"]["name"] == "ENISA"
    assert g.nodes["Actor:enisa"]["sphere"] == "civil"
    # lists become strings; the two evidence-bearing documents of ransomware are both named
    assert isinstance(g.nodes["Threat:ransomware"]["documents"], str)
    assert g.nodes["Threat:ransomware"]["documents"].count("; ") == 1
    types = {d["type"] for _, _, d in g.edges(data=True)}
    assert {"LEADS", "RELATED_TO", "TARGETS"} <= types


def test_csv_and_json_hold_every_node_and_edge(graph: GraphWriter) -> None:
    data = load_export(graph.driver, graph.ontology)
    nodes_csv, edges_csv = to_csv(data)
    nodes = list(csv.DictReader(io.StringIO(nodes_csv)))
    edges = list(csv.DictReader(io.StringIO(edges_csv)))
    assert (len(nodes), len(edges)) == db_counts(graph)
    assert {"key", "name", "type", "aliases"} <= set(nodes[0])
    assert {"source", "target", "type", "evidence"} <= set(edges[0])
    with zipfile.ZipFile(io.BytesIO(to_csv_zip(data))) as z:
        assert sorted(z.namelist()) == ["edges.csv", "nodes.csv"]
    parsed = json.loads(render(data, "json"))
    assert len(parsed["nodes"]) == 7 and len(parsed["edges"]) == 8
    assert isinstance(parsed["edges"][0]["evidence"], list)


def test_filters_keep_the_part_asked_for(graph: GraphWriter) -> None:
    onto, driver = graph.ontology, graph.driver
    actors = load_export(driver, onto, ExportFilter(types=("Actor",)))
    assert {n["key"] for n in actors.nodes} == {"Actor:enisa", "Actor:european defence agency"}
    assert [e["type"] for e in actors.edges] == ["COOPERATES_WITH"]
    targets = load_export(driver, onto, ExportFilter(relations=("TARGETS",)))
    assert {n["key"] for n in targets.nodes} == {"Threat:ransomware", "Sector:healthcare",
                                                  "Sector:energy"}
    assert len(targets.edges) == 2
    doc = load_export(driver, onto, ExportFilter(document=OTHER.document.id))
    assert {n["key"] for n in doc.nodes} == {"Threat:ransomware", "Sector:energy"}
    assert [(e["source"], e["target"]) for e in doc.edges] == [("Threat:ransomware",
                                                                "Sector:energy")]
    with pytest.raises(ValueError, match="unknown entity type"):
        load_export(driver, onto, ExportFilter(types=("Person",)))


def test_cli_export_writes_graphml_and_csv(graph: GraphWriter, tmp_path: Path) -> None:
    from policykg_cli import main

    out = tmp_path / "g.graphml"
    result = CliRunner().invoke(main, ["export", "--format", "graphml", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert nx.read_graphml(out).number_of_edges() == 8
    result = CliRunner().invoke(main, ["export", "--format", "csv", "-o", str(tmp_path / "g.csv"),
                                       "--type", "Actor", "--type", "Initiative"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "g.csv").read_text().splitlines()) == 1 + 3
    assert len((tmp_path / "g-edges.csv").read_text().splitlines()) == 1 + 3
    shown = CliRunner().invoke(main, ["export", "--format", "json", "--relation", "FUNDS"])
    assert shown.exit_code == 0
    assert [e["type"] for e in json.loads(shown.output)["edges"]] == ["FUNDS"]
    bad = CliRunner().invoke(main, ["export", "--format", "json", "--type", "Person"])
    assert bad.exit_code != 0 and "unknown entity type" in bad.output
