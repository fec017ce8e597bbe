"""Analysts' Cypher, run so that it cannot change anything: a planner check that refuses
anything but a read, then a read transaction with a time-out and a row cap."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, Query, RoutingControl, unit_of_work
from neo4j.exceptions import Neo4jError
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


def check_read_only(driver: Driver, cypher: str, params: Mapping[str, Any],
                    database: str | None = None) -> None:
    """Ask the planner what the query does; anything but a pure read is refused."""
    if not cypher.strip():
        raise QueryRefused("empty query")
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

    @unit_of_work(timeout=timeout)
    def work(tx: Any) -> QueryResult:
        result = tx.run(cypher, params)
        columns = list(result.keys())
        rows: list[list[Any]] = []
        truncated = False
        for record in result:
            if len(rows) >= row_cap:
                truncated = True
                break
            rows.append([to_plain(v) for v in record.values()])
        return QueryResult(columns, rows, truncated)

    try:
        with driver.session(database=database, default_access_mode="READ") as session:
            return session.execute_read(work)
    except Neo4jError as exc:
        raise QueryFailed(_message(exc)) from exc
