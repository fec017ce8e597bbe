"""Analysts' Cypher, run so that it cannot change anything: a planner check that refuses
anything but a read, then a read transaction with a time-out and a row cap.

The planner's verdict (`query_type`) is the main guard, and the rest closes what it lets
through as "reads": `LOAD CSV` (reads the server's files or fetches URLs), `USE` of another
database, transaction management (`SHOW`/`TERMINATE TRANSACTIONS`), procedures that are
declared READ but change server state, and more than one statement. The statement runs in a
single explicit read transaction (no driver retries, so the time-out is the wall clock), and
the server's per-transaction memory limit (see the Launcher) stops memory-hungry queries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, Query, RoutingControl
from neo4j.exceptions import DriverError, Neo4jError
from neo4j.graph import Node, Path, Relationship


class QueryRefused(ValueError):
    """The query would write, or is not a query an analyst may run."""


class QueryFailed(RuntimeError):
    """Neo4j rejected or stopped the query; the message is Neo4j's, without a stack trace."""


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def to_plain(value: Any) -> Any:
    """Driver values as JSON-friendly data (nodes and relationships as maps)."""
    if isinstance(value, Node):
        return {"id": value.element_id, "labels": sorted(value.labels), **dict(value)}
    if isinstance(value, Relationship):
        return {
            "id": value.element_id,
            "type": value.type,
            "start": value.start_node.element_id if value.start_node else None,
            "end": value.end_node.element_id if value.end_node else None,
            **dict(value),
        }
    if isinstance(value, Path):
        return {"nodes": [to_plain(n) for n in value.nodes],
                "relationships": [to_plain(r) for r in value.relationships]}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if hasattr(value, "iso_format"):
        return value.iso_format()
    return value


def _message(exc: Neo4jError) -> str:
    return f"{exc.code}: {exc.message}" if exc.code else str(exc.message or exc)


# Plan operators of statements that read but must not run here.
REFUSED_OPERATORS = {
    "LoadCSV": "LOAD CSV reads files or URLs from the server",
    "TerminateTransactions": "transaction management is not available here",
    "ShowTransactions": "transaction management is not available here",
    "TransactionForeach": "CALL ... IN TRANSACTIONS is not available here",
    "TransactionApply": "CALL ... IN TRANSACTIONS is not available here",
}
# Procedures declared READ that still change the server's state.
REFUSED_PROCEDURES = {
    "db.prepareForReplanning", "db.resampleIndex", "db.resampleOutdatedIndexes",
    "db.stats.clear", "db.stats.collect", "db.stats.stop",
}  # fmt: skip

# String literals, quoted names and comments, blanked before looking at the statement's text.
_LEXEMES = re.compile(
    r"""'(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|`[^`]*`?|//[^\n]*|/\*.*?(?:\*/|$)""",
    re.S,
)
# USE may only open a query, a subquery or a UNION branch.
_USE_CLAUSE = re.compile(
    r"(?:^\s*(?:CYPHER\b[\w\s=.]*?)?|\{|\bUNION(?:\s+ALL)?)\s*USE\b", re.I)
_LOAD_CSV = re.compile(r"\bLOAD\s+CSV\b", re.I)


def code_only(cypher: str) -> str:
    """The statement with literals, quoted names and comments blanked (same length)."""
    return _LEXEMES.sub(lambda m: " " * len(m.group(0)), cypher)


def check_text(cypher: str) -> None:
    """Refusals that need no server: several statements, `USE`, `LOAD CSV`."""
    code = code_only(cypher)
    if not code.strip():
        raise QueryRefused("empty query")
    if ";" in code.strip().rstrip(";"):
        raise QueryRefused("refused: one statement at a time (no ';' between statements)")
    if _USE_CLAUSE.search(code):
        raise QueryRefused("refused: USE is not allowed; the console reads its own database")
    if _LOAD_CSV.search(code):
        raise QueryRefused(f"refused: {REFUSED_OPERATORS['LoadCSV']}")


def _operators(plan: Mapping[str, Any]) -> Iterator[tuple[str, str | None, str]]:
    """(operator, database, details) of every step of a plan; Neo4j names the database an
    operator runs on as "Operator@database"."""
    name, _, db = str(plan.get("operatorType", "")).partition("@")
    details = str((plan.get("args") or {}).get("Details", ""))
    yield name, db or None, details
    for child in plan.get("children") or ():
        yield from _operators(child)


def check_plan(plan: Mapping[str, Any] | None, database: str | None) -> None:
    """Refuse a plan that touches another database, or uses a refused operator or procedure."""
    if not plan:
        raise QueryRefused("refused: the server returned no plan for this query")
    for name, db, details in _operators(plan):
        if database and db and db.lower() != database.lower():
            raise QueryRefused(f"refused: the query touches database {db!r}; "
                               f"the console reads {database!r} only")
        if name in REFUSED_OPERATORS:
            raise QueryRefused(f"refused: {REFUSED_OPERATORS[name]}")
        if name == "ProcedureCall":
            procedure = details.split("(", 1)[0].strip()
            if procedure in REFUSED_PROCEDURES:
                raise QueryRefused(f"refused: {procedure} changes the server's state")


def check_read_only(driver: Driver, cypher: str, params: Mapping[str, Any],
                    database: str | None = None) -> None:
    """Ask the planner what the query does; anything but a pure read is refused."""
    check_text(cypher)
    try:
        _, summary, _ = driver.execute_query(
            Query("EXPLAIN " + cypher, timeout=10), dict(params),  # type: ignore[arg-type]
            database_=database, routing_=RoutingControl.READ,
        )
    except Neo4jError as exc:
        if "write" in (exc.message or "").lower() or (exc.code or "").endswith("Forbidden"):
            raise QueryRefused(f"refused: this console is read-only ({_message(exc)})") from exc
        raise QueryFailed(_message(exc)) from exc
    if summary.query_type != "r":
        kind = {"rw": "reads and writes", "w": "writes", "s": "changes the schema"}.get(
            str(summary.query_type), str(summary.query_type))
        raise QueryRefused(f"refused: the query {kind}; this console is read-only")
    check_plan(summary.plan, database or summary.database)


def run_read_only(
    driver: Driver,
    cypher: str,
    params: Mapping[str, Any] | None = None,
    *,
    timeout: float = 15.0,
    row_cap: int = 1000,
    database: str | None = None,
) -> QueryResult:
    """Run an analyst's query in a read transaction; at most `row_cap` rows come back."""
    params = dict(params or {})
    check_read_only(driver, cypher, params, database)

    # One explicit transaction, not `execute_read`: its retries would rerun a query the
    # server stopped for memory (a transient error) and stretch the time-out several times.
    try:
        with (driver.session(database=database, default_access_mode="READ",
                             fetch_size=min(row_cap + 1, 1000)) as session,
              session.begin_transaction(timeout=timeout) as tx):
            result = tx.run(cypher, params)
            columns = list(result.keys())
            rows: list[list[Any]] = []
            truncated = False
            for record in result:
                if len(rows) >= row_cap:
                    truncated = True
                    break
                rows.append([to_plain(v) for v in record.values()])
            tx.rollback()
        return QueryResult(columns, rows, truncated)
    except Neo4jError as exc:
        raise QueryFailed(_message(exc)) from exc
    except DriverError as exc:
        raise QueryFailed(f"{type(exc).__name__}: {exc}") from exc
