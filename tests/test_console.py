"""Analysts' Cypher on the real Neo4j: reads run with a row cap; writes are refused and
change nothing."""

from __future__ import annotations

import pytest

from graph.console import QueryFailed, QueryRefused, run_read_only


@pytest.fixture
def seeded(empty_graph, neo4j_driver):  # noqa: ANN001, ANN201
    neo4j_driver.execute_query("UNWIND range(1, 30) AS i CREATE (:Probe {i: i})")
    return neo4j_driver


def total(driver) -> int:  # noqa: ANN001
    records, _, _ = driver.execute_query("MATCH (n) RETURN count(n) AS n")
    return records[0]["n"]


def test_read_with_parameters_and_row_cap(seeded) -> None:  # noqa: ANN001
    result = run_read_only(seeded, "MATCH (p:Probe) WHERE p.i > $min RETURN p.i AS i ORDER BY i",
                           {"min": 5}, row_cap=10)
    assert result.columns == ["i"]
    assert [r[0] for r in result.rows] == list(range(6, 16))
    assert result.truncated


@pytest.mark.parametrize("cypher", [
    "CREATE (n) RETURN n",
    "MATCH (p:Probe) SET p.x = 1",
    "MATCH (p:Probe) DETACH DELETE p",
    "MERGE (n:Probe {i: 99})",
    "MATCH (p:Probe) REMOVE p:Probe",
    "CREATE INDEX probe_i IF NOT EXISTS FOR (p:Probe) ON (p.i)",
])
def test_writes_are_refused(seeded, cypher: str) -> None:  # noqa: ANN001
    before = total(seeded)
    with pytest.raises(QueryRefused):
        run_read_only(seeded, cypher)
    assert total(seeded) == before


def test_syntax_error_is_a_plain_message(seeded) -> None:  # noqa: ANN001
    with pytest.raises(QueryFailed) as info:
        run_read_only(seeded, "MATCH (n RETURN n")
    assert "Syntax" in str(info.value)
