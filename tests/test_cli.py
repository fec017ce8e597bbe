"""The README's command line, run as a user runs it, against the test Neo4j."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.loaders import load_document
from tests.conftest import FOUNDING, ROOT

POLICYKG = str(Path(sys.executable).with_name("policykg"))


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([POLICYKG, *args], capture_output=True, text=True, cwd=ROOT,
                          input=stdin, timeout=600, check=False)


def entity_count() -> int:
    out = run("query", "MATCH (e:Entity) RETURN count(e) AS n", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)[0]["n"]


def test_status_reports_the_local_server(neo4j_driver) -> None:  # noqa: ANN001
    out = run("neo4j", "status")
    assert out.returncode == 0, out.stderr
    assert "5.26." in out.stdout
    assert "auth: on" in out.stdout
    assert "127.0.0.1:" in out.stdout


def test_ingest_twice_then_query(empty_graph, tmp_path: Path) -> None:  # noqa: ANN001
    first = run("ingest", str(FOUNDING))
    assert first.returncode == 0, first.stderr
    assert "ingested 1 documents" in first.stdout
    n = entity_count()
    assert n >= 10
    second = run("ingest", str(FOUNDING))
    assert second.returncode == 0, second.stderr
    assert "ingested 0 documents (1 unchanged" in second.stdout
    assert entity_count() == n


def test_ingest_exit_code_on_bad_file(empty_graph, tmp_path: Path) -> None:  # noqa: ANN001
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7 this is not a pdf")
    out = run("ingest", str(bad), str(FOUNDING))
    assert out.returncode == 1
    assert "broken.pdf" in out.stderr
    assert entity_count() >= 10


def test_query_refuses_writes(empty_graph) -> None:  # noqa: ANN001
    out = run("query", "CREATE (n) RETURN n")
    assert out.returncode != 0
    assert "read-only" in out.stderr
    check = run("query", "MATCH (n) RETURN count(n) AS n", "--format", "csv")
    assert check.stdout.strip().splitlines() == ["n", "0"]


def test_query_formats_and_params(empty_graph) -> None:  # noqa: ANN001
    out = run("query", "RETURN $x + 1 AS y, $name AS name", "--param", "x=41",
              "--param", "name=ENISA", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [{"y": 42, "name": "ENISA"}]
    table = run("query", "RETURN 1 AS one")
    assert "one" in table.stdout and "1" in table.stdout


def test_extract_json_without_database() -> None:
    out = run("extract", str(FOUNDING), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    names = {e["name"]: e for e in data["entities"]}
    assert names["ENISA"]["type"] == "Actor"
    text = load_document(FOUNDING).text
    for m in names["ENISA"]["mentions"]:
        assert text[m["start"]:m["end"]] == "ENISA"
    assert data["document"]["id"] and data["relations"]


def test_bench_on_a_fresh_machine_starts_its_own_neo4j(tmp_path: Path) -> None:
    """`policykg bench --json` with no server running: the suite starts a scratch Neo4j, runs,
    prints the contract's JSON and deletes what it started."""
    from dashboard_fixtures import free_port

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / FOUNDING.name).write_text(FOUNDING.read_text(encoding="utf-8"), encoding="utf-8")
    home = tmp_path / "home"
    env = {**os.environ, "POLICYKG_HOME": str(home), "NEO4J_PASSWORD": "unused-password",
           "NEO4J_URI": f"bolt://127.0.0.1:{free_port()}"}
    out = subprocess.run([POLICYKG, "bench", "--quick", "--scale", "2000", "--json",
                          "--corpus", str(corpus)], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=900, check=False)
    assert out.returncode == 0, out.stderr
    assert "no Neo4j answers at" in out.stderr
    figures = json.loads(out.stdout)["figures"]
    assert any(f["name"].startswith("shortest path p95") for f in figures)
    assert all(isinstance(f["met"], bool) and f["ratio"] > 0 for f in figures)
    assert not list(home.glob("*/neo4j/data"))  # the scratch and small servers are deleted
