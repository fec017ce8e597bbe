"""What changed, against the real Neo4j: each ingest run records the entities and relations it
added, and those it retracted when a document was replaced or removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from graph.history import UnknownRun, list_runs, run_diff, split_relation_id
from graph.writer import GraphWriter, RunChanges
from tests.analytics_fixtures import actor, make_extraction

FIRST = make_extraction(
    "note.txt", [actor("ENISA", "civil"), actor("CERT-EU", "civil"), ("Threat", "ransomware", {})],
    [("ENISA", "COOPERATES_WITH", "CERT-EU")])
# The same path, new content: CERT-EU and the cooperation go, Europol and a TARGETS come.
SECOND = make_extraction(
    "note.txt", [actor("ENISA", "civil"), actor("Europol", "civil"), ("Threat", "ransomware", {}),
                 ("Sector", "healthcare", {})],
    [("ransomware", "TARGETS", "healthcare")])
OTHER = make_extraction("other.txt", [actor("Europol", "civil"), ("Threat", "DDoS", {})], [])


def run(writer: GraphWriter, run_id: str, *extractions) -> None:  # noqa: ANN002
    results = [writer.write(ex) for ex in extractions]
    writer.record_run({"id": run_id, "at": f"2026-01-01T00:00:0{run_id[-1]}+00:00",
                       "documents": len(results), "failed": 0, "seconds": 0.1},
                      [r.document for r in results if r.written])


def test_write_result_reports_what_is_new(empty_graph: GraphWriter) -> None:
    first = empty_graph.write(FIRST)
    assert set(first.added_entities) == {"Actor:enisa", "Actor:cert-eu", "Threat:ransomware"}
    assert first.added_relations == ("Actor:enisa|COOPERATES_WITH|Actor:cert-eu",)
    assert first.retracted_entities == () and first.retracted_relations == ()
    second = empty_graph.write(SECOND)
    assert second.replaced == (FIRST.document.id,)
    assert set(second.added_entities) == {"Actor:europol", "Sector:healthcare"}
    assert second.added_relations == ("Threat:ransomware|TARGETS|Sector:healthcare",)
    assert second.retracted_entities == ("Actor:cert-eu",)
    assert second.retracted_relations == ("Actor:enisa|COOPERATES_WITH|Actor:cert-eu",)
    again = empty_graph.write(SECOND)
    assert not again.written and again.added_entities == ()


def test_runs_record_added_and_retracted(empty_graph: GraphWriter) -> None:
    run(empty_graph, "run-1", FIRST)
    run(empty_graph, "run-2", SECOND, OTHER)
    runs = list_runs(empty_graph.driver)
    assert [r.id for r in runs] == ["run-1", "run-2"]
    assert runs[1].documents == 2 and runs[1].recorded
    diff = run_diff(empty_graph.driver)  # the last run, against the graph before it
    assert diff.run.id == "run-2" and diff.previous == "run-1"
    got = {(r.change, r.kind, r.key) for r in diff.rows}
    assert got == {
        ("added", "entity", "Actor:europol"), ("added", "entity", "Sector:healthcare"),
        ("added", "entity", "Threat:ddos"),
        ("added", "relation", "Threat:ransomware|TARGETS|Sector:healthcare"),
        ("retracted", "entity", "Actor:cert-eu"),
        ("retracted", "relation", "Actor:enisa|COOPERATES_WITH|Actor:cert-eu"),
    }
    names = {r.key: r.name for r in diff.rows}
    assert names["Actor:europol"] == "Europol"  # still in the graph: its stored name
    assert names["Actor:cert-eu"] == "cert-eu"  # gone: the name its key holds
    assert names["Threat:ransomware|TARGETS|Sector:healthcare"] == "ransomware TARGETS healthcare"
    first = run_diff(empty_graph.driver, "run-1")
    assert first.previous is None
    assert {r.change for r in first.rows} == {"added"} and len(first.rows) == 4


def test_removal_is_recorded_with_the_next_run(empty_graph: GraphWriter) -> None:
    run(empty_graph, "run-1", FIRST, OTHER)
    assert empty_graph.remove(OTHER.document.id)
    run(empty_graph, "run-2", SECOND)
    got = {(r.change, r.key) for r in run_diff(empty_graph.driver, "run-2").rows}
    assert ("retracted", "Threat:ddos") in got
    assert ("retracted", "Actor:europol") not in got  # removed, then added back by SECOND
    assert ("added", "Actor:europol") not in got  # ... so no net change


def test_run_changes_cancel_within_a_run() -> None:
    changes = RunChanges()
    changes.add((["A"], ["r1"]), ([], []))
    changes.add(([], []), (["A", "B"], ["r1"]))
    assert changes.as_run_properties() == {"addedEntities": [], "addedRelations": [],
                                           "retractedEntities": ["B"], "retractedRelations": []}


def test_unknown_run_and_relation_ids() -> None:
    assert split_relation_id("Actor:a|b|MEMBER_OF|Actor:c") == ("Actor:a|b", "MEMBER_OF", "Actor:c")
    with pytest.raises(ValueError):
        split_relation_id("no relation here")


def test_diff_of_nothing_is_an_error(empty_graph: GraphWriter) -> None:
    with pytest.raises(UnknownRun):
        run_diff(empty_graph.driver)


def test_cli_diff_after_real_ingest(empty_graph: GraphWriter, extractor, tmp_path: Path) -> None:  # noqa: ANN001
    from graph.ingestion import ingest
    from policykg_cli import main

    doc = tmp_path / "note.txt"
    doc.write_text("ENISA and CERT-EU will work together on ransomware.\n", encoding="utf-8")
    ingest([doc], extractor, empty_graph)
    doc.write_text("Europol fights ransomware targeting hospitals.\n", encoding="utf-8")
    ingest([doc], extractor, empty_graph)
    result = CliRunner().invoke(main, ["diff", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"change": "added", "kind": "entity", "type": "Actor", "name": "Europol",
            "key": "Actor:europol"} in rows
    assert any(r["change"] == "retracted" and r["key"] == "Actor:enisa" for r in rows)
    runs = CliRunner().invoke(main, ["diff", "--runs", "--format", "json"])
    assert [r["documents"] for r in json.loads(runs.output)] == [1, 1]
    table = CliRunner().invoke(main, ["diff"])
    assert table.exit_code == 0 and "retracted" in table.output
