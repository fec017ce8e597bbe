"""Hostile Cypher against the real Neo4j through the analysts' console: every query is
refused or stopped within the time-out, and afterwards the graph, the schema, the token sets,
the users and the databases are exactly as before."""

from __future__ import annotations

import time

import pytest

from graph.console import QueryFailed, QueryRefused, check_text, run_read_only
from tests.graph_state import fingerprint

TIMEOUT = 3.0
SLACK = 15.0  # the server checks time-outs periodically; the machine is shared

# (query, what must happen): "refused" where the console itself must say no (the server
# alone would run it), "stopped" where either a refusal or a server error is right.
HOSTILE: list[tuple[str, str]] = [
    # plain writes
    ("CREATE (n:Probe {i: -1}) RETURN n", "refused"),
    ("MERGE (n:Probe {i: 999})", "refused"),
    ("MATCH (p:Probe) SET p.hacked = true", "refused"),
    ("MATCH (p:Probe) DELETE p", "refused"),
    ("MATCH (n) DETACH DELETE n", "refused"),
    ("MATCH (p:Probe) REMOVE p:Probe", "refused"),
    ("MATCH (p:Probe) REMOVE p.i", "refused"),
    ("FOREACH (i IN range(1, 3) | CREATE (:Probe {i: i}))", "refused"),
    # files and URLs
    ("LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line", "refused"),
    ("LOAD CSV WITH HEADERS FROM 'http://127.0.0.1:9/x.csv' AS row RETURN row", "refused"),
    ("load csv from 'https://example.org/x.csv' as l return l", "refused"),
    ("LOAD/**/CSV FROM 'file:///etc/hostname' AS l RETURN l", "refused"),
    # schema
    ("CREATE INDEX evil_idx IF NOT EXISTS FOR (p:Probe) ON (p.i)", "refused"),
    ("DROP INDEX document_path", "refused"),
    ("CREATE CONSTRAINT evil IF NOT EXISTS FOR (p:Probe) REQUIRE p.i IS UNIQUE", "refused"),
    ("DROP CONSTRAINT document_id", "refused"),
    # batched writes
    ("CALL { CREATE (:Probe {i: -2}) } IN TRANSACTIONS", "refused"),
    ("MATCH (p:Probe) CALL (p) { SET p.x = 1 } IN TRANSACTIONS OF 10 ROWS", "refused"),
    # procedures that change state
    ("CALL db.createLabel('Evil')", "refused"),
    ("CALL db.createProperty('evil')", "refused"),
    ("CALL db.createRelationshipType('EVIL')", "refused"),
    ("CALL dbms.setConfigValue('db.logs.query.enabled', 'OFF')", "stopped"),
    ("CALL db.clearQueryCaches()", "refused"),
    ("CALL apoc.create.node(['Evil'], {})", "stopped"),
    ("CALL apoc.cypher.runWrite('CREATE (:Evil)', {})", "stopped"),
    ("CALL db.stats.collect('QUERIES')", "refused"),
    ("CALL db.prepareForReplanning()", "refused"),
    ("CALL db.resampleOutdatedIndexes()", "refused"),
    ("CALL db.index.fulltext.drop('entitySearch')", "stopped"),
    # users, databases, transactions
    ("CALL dbms.security.createUser('mallory', 'mallory-pass', false)", "stopped"),
    ("CALL dbms.security.changePassword('mallory-pass')", "stopped"),
    ("CREATE USER mallory SET PASSWORD 'mallory-pass' CHANGE NOT REQUIRED", "refused"),
    ("ALTER USER neo4j SET PASSWORD 'mallory-pass'", "refused"),
    ("DROP USER neo4j", "refused"),
    ("GRANT ROLE admin TO mallory", "stopped"),
    ("CREATE DATABASE evil", "stopped"),
    ("STOP DATABASE neo4j", "stopped"),
    ("DROP DATABASE neo4j", "stopped"),
    ("ALTER DATABASE neo4j SET ACCESS READ ONLY", "stopped"),
    ("SHOW USERS", "refused"),
    ("TERMINATE TRANSACTIONS 'neo4j-transaction-1'", "refused"),
    ("SHOW TRANSACTIONS", "refused"),
    # another database
    ("USE system SHOW USERS", "refused"),
    ("USE system CALL dbms.components() YIELD name RETURN name", "refused"),
    ("CYPHER 5 USE system MATCH (n) RETURN n", "refused"),
    ("MATCH (p:Probe) CALL { USE system RETURN 1 AS x } RETURN x", "refused"),
    ("/* hello */ use system SHOW DATABASES", "refused"),
    # resource exhaustion: stopped by the time-out or the transaction memory limit
    ("UNWIND range(1, 100000000000) AS i WITH i WHERE i < 0 RETURN i", "stopped"),
    ("MATCH (a), (b), (c), (d), (e) WHERE a.i + b.i + c.i + d.i + e.i < 0 RETURN count(*)",
     "stopped"),
    ("UNWIND range(1, 100000000) AS i RETURN size(collect(i))", "stopped"),
    ("UNWIND range(1, 20000000) AS i WITH collect(toString(i)) AS c RETURN size(c)", "stopped"),
    # writes hidden behind reads, case and comments
    ("MATCH (p:Probe) WITH p CREATE (:Probe {i: p.i + 1000})", "refused"),
    ("MATCH (p:Probe) WITH count(p) AS n MERGE (:Probe {i: n})", "refused"),
    ("CALL { MATCH (p:Probe) RETURN p } WITH p SET p.y = 2", "refused"),
    ("RETURN 1 AS x UNION CREATE (q:Probe {i: -5}) RETURN 2 AS x", "refused"),
    ("cReAtE (:Probe {i: -3})", "refused"),
    ("MaTcH (p:Probe) DeTaCh DeLeTe p", "refused"),
    ("MATCH (p:Probe) /* read only */ SET p.i = 0 // harmless", "refused"),
    ("PROFILE CREATE (:Probe {i: -6})", "stopped"),
    # several statements
    ("// CREATE\nMATCH (n) RETURN n LIMIT 1; CREATE (:Probe {i: -4})", "refused"),
    ("RETURN 1; MATCH (n) DETACH DELETE n", "refused"),
    ("MATCH (n) RETURN n;;DROP CONSTRAINT document_id", "refused"),
]


@pytest.fixture(scope="module")
def hostile_graph(neo4j_driver, ontology):  # noqa: ANN001, ANN201
    """A small graph: schema, two entities with a relation, and 60 probes for the joins."""
    from graph.writer import GraphWriter
    from tests.conftest import wipe

    wipe(neo4j_driver)
    GraphWriter(neo4j_driver, ontology).ensure_schema()
    neo4j_driver.execute_query(
        "CREATE (:Entity:Actor {key: 'Actor:enisa', name: 'ENISA', type: 'Actor'})"
        "-[:COOPERATES_WITH {evidence: ['d:0'], documents: ['d'], weight: 1}]->"
        "(:Entity:Actor {key: 'Actor:cert-eu', name: 'CERT-EU', type: 'Actor'}) "
        "WITH 1 AS one UNWIND range(1, 60) AS i CREATE (:Probe {i: i})"
    )
    before = fingerprint(neo4j_driver)
    yield neo4j_driver, before
    wipe(neo4j_driver)


def test_at_least_thirty_hostile_queries() -> None:
    assert len(HOSTILE) >= 30


@pytest.mark.parametrize(("cypher", "expect"), HOSTILE, ids=[q[:50] for q, _ in HOSTILE])
def test_hostile_query_is_refused_or_stopped(hostile_graph, cypher: str, expect: str) -> None:  # noqa: ANN001
    driver, before = hostile_graph
    allowed = (QueryRefused,) if expect == "refused" else (QueryRefused, QueryFailed)
    started = time.monotonic()
    with pytest.raises(allowed):
        run_read_only(driver, cypher, timeout=TIMEOUT, row_cap=100)
    assert time.monotonic() - started < TIMEOUT + SLACK
    after = fingerprint(driver)
    assert (after["nodes"], after["relationships"]) == (before["nodes"], before["relationships"])
    assert after["parts"] == before["parts"]
    assert after["checksum"] == before["checksum"]
    driver.verify_authentication()  # the password is still the one the suite started with


def test_reads_that_look_suspicious_still_run(hostile_graph) -> None:  # noqa: ANN001
    driver, _ = hostile_graph
    result = run_read_only(
        driver,
        "// USE system; LOAD CSV\nMATCH (e:Entity) WHERE e.name <> 'x; USE system' "
        "RETURN e.name AS `use;`, 'LOAD CSV' AS use ORDER BY e.name;",
        timeout=TIMEOUT,
    )
    assert [r[0] for r in result.rows] == ["CERT-EU", "ENISA"]


def test_user_text_is_a_parameter(hostile_graph) -> None:  # noqa: ANN001
    driver, before = hostile_graph
    evil = "x'}) DETACH DELETE n //"
    result = run_read_only(driver, "MATCH (e:Entity) WHERE e.name = $name RETURN e",
                           {"name": evil}, timeout=TIMEOUT)
    assert result.rows == []
    assert fingerprint(driver)["checksum"] == before["checksum"]


def test_server_refuses_file_urls_even_without_the_console(hostile_graph) -> None:  # noqa: ANN001
    """The Launcher's setting: a LOAD CSV that reaches the server cannot read its files."""
    from neo4j.exceptions import ClientError

    driver, _ = hostile_graph
    with pytest.raises(ClientError, match="(?i)file"):
        driver.execute_query("LOAD CSV FROM 'file:///etc/hostname' AS l RETURN l")


def test_server_stops_a_memory_hungry_read(hostile_graph) -> None:  # noqa: ANN001
    """The Launcher's per-transaction memory limit stops a big collect() well before 60 s."""
    driver, _ = hostile_graph
    with pytest.raises(QueryFailed, match="MemoryPool"):
        run_read_only(driver, "UNWIND range(1, 40000000) AS i "
                              "WITH collect(toString(i)) AS c RETURN size(c)", timeout=60)


@pytest.mark.parametrize("cypher", [
    "RETURN 1; RETURN 2",
    "USE system SHOW USERS",
    "CALL { use other RETURN 1 AS x } RETURN x",
    "RETURN 1 AS x UNION ALL USE system RETURN 1 AS x",
    "load\n  csv FROM 'file:///x' AS l RETURN l",
    "   ",
    "/* only a comment */",
])
def test_text_checks_need_no_server(cypher: str) -> None:
    with pytest.raises(QueryRefused):
        check_text(cypher)


@pytest.mark.parametrize("cypher", [
    "RETURN 'a;b' AS x;",
    "MATCH (n) RETURN n.use AS use",
    "RETURN \"USE system\" AS `load csv`",
    "MATCH (n) // ; USE system\nRETURN n",
])
def test_text_checks_let_reads_through(cypher: str) -> None:
    check_text(cypher)
