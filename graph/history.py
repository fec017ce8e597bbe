"""What changed: the ingest runs recorded in the graph, and for each the entities and
relations it added or retracted compared with the graph before it.

The writer records each run's net changes on the `IngestRun` node (entity keys and relation
ids "source|TYPE|target"); this module reads them back and names them. Runs recorded before
the writer kept changes say so rather than guessing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from neo4j import Driver

from graph import queries
from graph.analytics import read

Change = Literal["added", "retracted"]
_REL_ID = re.compile(r"^(?P<source>.+)\|(?P<type>[A-Z][A-Z_]*)\|(?P<target>.+)$")


class UnknownRun(LookupError):
    """No ingest run has that id (or none has been recorded)."""


@dataclass(frozen=True, slots=True)
class IngestRun:
    id: str
    at: str | None
    documents: int
    failed: int
    seconds: float | None
    ingested: list[dict[str, str]]
    added_entities: list[str] | None  # None: recorded before changes were kept
    added_relations: list[str] | None
    retracted_entities: list[str] | None
    retracted_relations: list[str] | None

    @property
    def recorded(self) -> bool:
        return self.added_entities is not None

    def summary(self) -> dict[str, Any]:
        def n(x: list[str] | None) -> int | None:
            return None if x is None else len(x)

        return {"run": self.id, "at": self.at, "documents": self.documents,
                "failed": self.failed, "entitiesAdded": n(self.added_entities),
                "entitiesRetracted": n(self.retracted_entities),
                "relationsAdded": n(self.added_relations),
                "relationsRetracted": n(self.retracted_relations)}


@dataclass(frozen=True, slots=True)
class ChangeRow:
    change: Change
    kind: Literal["entity", "relation"]
    type: str
    name: str
    key: str
    source: str | None = None
    target: str | None = None


@dataclass(frozen=True, slots=True)
class RunDiff:
    run: IngestRun
    previous: str | None  # the run before it, if any
    rows: list[ChangeRow] = field(default_factory=list)

    COLUMNS = ["change", "kind", "type", "name", "key"]

    def matrix(self) -> list[list[Any]]:
        return [[r.change, r.kind, r.type, r.name, r.key] for r in self.rows]


def list_runs(driver: Driver, database: str | None = None) -> list[IngestRun]:
    """Every recorded run, oldest first."""
    records = read(driver, queries.INGEST_RUNS, database)
    return [
        IngestRun(
            id=r["id"], at=r["at"], documents=int(r["documents"] or 0),
            failed=int(r["failed"] or 0), seconds=r["seconds"],
            ingested=sorted(r["ingested"], key=lambda d: str(d["title"])),
            added_entities=r["addedEntities"], added_relations=r["addedRelations"],
            retracted_entities=r["retractedEntities"],
            retracted_relations=r["retractedRelations"],
        )
        for r in records
    ]


def split_relation_id(rid: str) -> tuple[str, str, str]:
    m = _REL_ID.match(rid)
    if not m:
        raise ValueError(f"not a relation id: {rid!r}")
    return m["source"], m["type"], m["target"]


def _name_from_key(key: str) -> tuple[str, str]:
    """Type and name of an entity key; for an entity no longer in the graph, the normalised
    name in its key is all there is."""
    type_, _, name = key.partition(":")
    return type_, name


def run_diff(driver: Driver, run_id: str | None = None,
             database: str | None = None) -> RunDiff:
    """What one run (default: the last) added and retracted, compared with the graph before it."""
    runs = list_runs(driver, database)
    if not runs:
        raise UnknownRun("no ingest run has been recorded yet")
    if run_id is None:
        index = len(runs) - 1
    else:
        matches = [i for i, r in enumerate(runs) if r.id == run_id or r.id.startswith(run_id)]
        if len(matches) != 1:
            raise UnknownRun(f"no single ingest run matches {run_id!r}")
        index = matches[0]
    run = runs[index]
    previous = runs[index - 1].id if index else None
    if not run.recorded:
        return RunDiff(run, previous)
    rel_ends = [split_relation_id(rid) for rid in
                (run.added_relations or []) + (run.retracted_relations or [])]
    keys = sorted(set(run.added_entities or []) | set(run.retracted_entities or [])
                  | {k for s, _, t in rel_ends for k in (s, t)})
    records = read(driver, queries.ENTITY_NAMES, database, keys=keys)
    names = {r["key"]: r["name"] for r in records}

    def name_of(key: str) -> str:
        return names.get(key) or _name_from_key(key)[1]

    rows: list[ChangeRow] = []
    sides: tuple[tuple[Change, list[str] | None, list[str] | None], ...] = (
        ("added", run.added_entities, run.added_relations),
        ("retracted", run.retracted_entities, run.retracted_relations))
    for change, ents, rels in sides:
        for key in ents or []:
            rows.append(ChangeRow(change, "entity", _name_from_key(key)[0], name_of(key), key))
        for rid in rels or []:
            s, t_, t = split_relation_id(rid)
            rows.append(ChangeRow(change, "relation", t_, f"{name_of(s)} {t_} {name_of(t)}",
                                  rid, s, t))
    rows.sort(key=lambda r: (r.change, r.kind, r.type, r.name))
    return RunDiff(run, previous, rows)
