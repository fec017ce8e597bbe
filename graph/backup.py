"""Backup and restore of the whole graph through the driver, and a canonical dump to compare
two graphs.

A backup is JSON lines, gzip-compressed when the file name ends in `.gz`: a header, one line
per node (labels and properties), one per relationship (type, endpoints by their key,
properties) and a footer with the counts, so a truncated file is detected before anything is
written. Restore reads the file twice: once to validate every line (labels and relationship
types against the ontology's whitelist plus the structural ones), then to write in
parameterised `UNWIND` batches into an empty database; `force` wipes the database first.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from neo4j import Driver
from neo4j.time import Date, DateTime

from graph import queries
from graph.ontology import Ontology
from graph.writer import GraphWriter

FORMAT = "policykg-backup"
VERSION = 1
BATCH = 1000

NodeRef = tuple[str, Any]  # (key label, key value)


class BackupError(RuntimeError):
    """A backup that cannot be written or restored; the message says why."""


@dataclass(frozen=True, slots=True)
class BackupStats:
    nodes: int
    relationships: int


# --------------------------------------------------------------------------- values


def encode_value(value: Any) -> Any:
    """A property value as JSON; dates and date-times are tagged so they come back typed."""
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, DateTime):
        return {"$datetime": value.iso_format()}
    if isinstance(value, Date):
        return {"$date": value.iso_format()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise BackupError(f"cannot back up a property of type {type(value).__name__}")


def decode_value(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return DateTime.from_iso_format(value["$datetime"])
        if set(value) == {"$date"}:
            return Date.from_iso_format(value["$date"])
        raise BackupError(f"unexpected map as property value: {value!r}")
    return value


def _props(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: encode_value(v) for k, v in sorted(raw.items())}


def node_ref(labels: Collection[str], props: dict[str, Any]) -> NodeRef | None:
    """How a node is found again: its structural label and the key that label is unique on."""
    for label, key in queries.BACKUP_NODE_KEYS.items():
        if label in labels and props.get(key) is not None:
            return label, props[key]
    return None


# --------------------------------------------------------------------------- reading the graph


def _graph_lines(driver: Driver, database: str | None) -> Iterator[dict[str, Any]]:
    """Nodes then relationships, read in one read transaction."""
    refs: dict[str, NodeRef | list[str]] = {}
    with (driver.session(database=database, default_access_mode="READ") as session,
          session.begin_transaction() as tx):
        for rec in tx.run(queries.BACKUP_NODES):
            labels = sorted(rec["labels"])
            props = dict(rec["props"])
            refs[rec["id"]] = node_ref(labels, props) or ["?", rec["id"]]
            yield {"node": {"labels": labels, "props": _props(props)}}
        for rec in tx.run(queries.BACKUP_RELATIONSHIPS):
            yield {"rel": {"type": rec["type"], "start": list(refs[rec["start"]]),
                           "end": list(refs[rec["end"]]), "props": _props(dict(rec["props"]))}}


@contextmanager
def _open(path: Path, mode: str) -> Iterator[IO[str]]:
    if path.suffix == ".gz":
        with gzip.open(path, mode + "t", encoding="utf-8") as fh:
            yield fh  # type: ignore[misc]  # text mode: a TextIOWrapper
    else:
        with path.open(mode, encoding="utf-8") as fh:
            yield fh


def backup(driver: Driver, path: Path | str, database: str | None = None) -> BackupStats:
    """Write every node and relationship to `path`; the file appears only when complete."""
    path = Path(path)
    tmp = path.with_name(path.name + ".partial" + (".gz" if path.suffix == ".gz" else ""))
    nodes = rels = 0
    try:
        with _open(tmp, "w") as fh:
            header = {"format": FORMAT, "version": VERSION,
                      "created": datetime.now(UTC).isoformat(timespec="seconds")}
            fh.write(json.dumps(header) + "\n")
            for line in _graph_lines(driver, database):
                nodes += "node" in line
                rels += "rel" in line
                fh.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
            fh.write(json.dumps({"end": {"nodes": nodes, "relationships": rels}}) + "\n")
        with tmp.open("rb") as done:  # on disk before it takes the final name
            os.fsync(done.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BackupStats(nodes, rels)


# --------------------------------------------------------------------------- restore


def allowed_labels(onto: Ontology) -> set[str]:
    return set(onto.labels) | set(queries.BACKUP_NODE_KEYS)


def allowed_relations(onto: Ontology) -> set[str]:
    return set(onto.relation_types) | set(queries.BACKUP_STRUCTURE_RELATIONS)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        with _open(path, "r") as fh:
            for number, raw in enumerate(fh, 1):
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise BackupError(f"{path}:{number}: not JSON ({exc.msg})") from None
                if not isinstance(line, dict):
                    raise BackupError(f"{path}:{number}: expected an object")
                yield number, line
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise BackupError(f"{path}: cannot read ({exc})") from None


def validate(path: Path | str, onto: Ontology) -> BackupStats:
    """Check a whole backup before anything is written; every problem is named."""
    path = Path(path)
    labels, relations = allowed_labels(onto), allowed_relations(onto)
    problems: list[str] = []
    nodes = rels = 0
    footer: dict[str, Any] | None = None
    for number, line in _lines(path):
        where = f"line {number}"
        if number == 1:
            if line.get("format") != FORMAT or line.get("version") != VERSION:
                raise BackupError(f"{path}: not a {FORMAT} file of version {VERSION}")
            continue
        if footer is not None:
            problems.append(f"{where}: data after the end marker")
        if "end" in line:
            footer = line["end"]
        elif "node" in line:
            nodes += 1
            node = line["node"]
            bad = sorted(set(node.get("labels", [])) - labels)
            if bad:
                problems.append(f"{where}: labels not in the whitelist: {', '.join(bad)}")
            if node_ref(node.get("labels", []), node.get("props", {})) is None:
                problems.append(f"{where}: node without a key label and key property")
        elif "rel" in line:
            rels += 1
            rel = line["rel"]
            if rel.get("type") not in relations:
                problems.append(f"{where}: relationship type {rel.get('type')!r} not allowed")
            for end in ("start", "end"):
                ref = rel.get(end)
                if not (isinstance(ref, list) and len(ref) == 2
                        and ref[0] in queries.BACKUP_NODE_KEYS):
                    problems.append(f"{where}: {end} node {ref!r} cannot be found by key")
        else:
            problems.append(f"{where}: neither node, relationship nor end marker")
        if len(problems) > 20:
            break
    if footer is None and not problems:
        problems.append("no end marker: the backup is truncated")
    elif footer is not None and footer != {"nodes": nodes, "relationships": rels}:
        problems.append(f"end marker says {footer}, file holds {nodes} nodes, {rels} relationships")
    if problems:
        raise BackupError(f"{path}: invalid backup:\n  " + "\n  ".join(problems))
    return BackupStats(nodes, rels)


def is_empty(driver: Driver, database: str | None = None) -> bool:
    records, _, _ = driver.execute_query(queries.DATABASE_IS_EMPTY, database_=database)
    return bool(records[0]["empty"])


def wipe(driver: Driver, database: str | None = None) -> int:
    """Delete every node and relationship, in batches small enough for the memory limit."""
    total = 0
    while True:
        records, _, _ = driver.execute_query(queries.WIPE_BATCH, limit=10_000, database_=database)
        deleted = int(records[0]["deleted"])
        total += deleted
        if not deleted:
            return total


def restore(
    driver: Driver,
    onto: Ontology,
    path: Path | str,
    *,
    database: str | None = None,
    force: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> BackupStats:
    """Restore a backup into an empty database (`force` wipes a non-empty one first)."""
    path = Path(path)
    expected = validate(path, onto)
    if not is_empty(driver, database):
        if not force:
            raise BackupError("the database is not empty; restore with --force to wipe it first")
        wipe(driver, database)
    GraphWriter(driver, onto, database).ensure_schema()
    labels, relations = allowed_labels(onto), allowed_relations(onto)
    done = 0

    def send(statement: str, rows: list[dict[str, Any]]) -> None:
        nonlocal done
        records, _, _ = driver.execute_query(statement, rows=rows, database_=database)
        if int(records[0]["n"]) != len(rows):
            raise BackupError(f"restore wrote {records[0]['n']} of {len(rows)} rows; an "
                              "endpoint is missing. The database is partly restored: "
                              "fix the file and restore again with --force")
        done += len(rows)
        if on_progress:
            on_progress(done)

    node_rows: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    rel_rows: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for _, line in _lines(path):
        if "node" in line:
            group = tuple(line["node"]["labels"])
            node_rows[group].append({k: decode_value(v) for k, v in line["node"]["props"].items()})
            if len(node_rows[group]) >= BATCH:
                send(queries.restore_nodes(list(group), labels), node_rows.pop(group))
        elif "rel" in line:
            for group, rows in node_rows.items():  # nodes come first; flush before edges
                send(queries.restore_nodes(list(group), labels), rows)
            node_rows.clear()
            rel = line["rel"]
            key = (rel["type"], rel["start"][0], rel["end"][0])
            rel_rows[key].append({"start": rel["start"][1], "end": rel["end"][1],
                                  "props": {k: decode_value(v)
                                            for k, v in rel["props"].items()}})
            if len(rel_rows[key]) >= BATCH:
                send(queries.restore_relationships(*key, labels | relations),
                     rel_rows.pop(key))
    for group, rows in node_rows.items():
        send(queries.restore_nodes(list(group), labels), rows)
    for key, rows in rel_rows.items():
        send(queries.restore_relationships(*key, labels | relations), rows)
    return expected


# --------------------------------------------------------------------------- comparison


def canonical_dump(
    driver: Driver,
    database: str | None = None,
    *,
    skip_labels: Collection[str] = (),
    skip_relations: Collection[str] = (),
    skip_properties: Collection[str] = (),
) -> dict[str, list[str]]:
    """The graph as sorted JSON strings, independent of internal ids and creation order:
    nodes with labels and properties, relationships with type, endpoint keys and properties.
    Nodes with a skipped label, their relationships, and skipped properties are left out."""
    skip_l, skip_r, skip_p = set(skip_labels), set(skip_relations), set(skip_properties)
    nodes: list[str] = []
    rels: list[str] = []
    skipped_refs: set[str] = set()
    for line in _graph_lines(driver, database):
        if "node" in line:
            node = line["node"]
            if skip_l & set(node["labels"]):
                ref = node_ref(node["labels"], node["props"])
                skipped_refs.add(json.dumps(list(ref) if ref else None))
                continue
            props = {k: v for k, v in node["props"].items() if k not in skip_p}
            nodes.append(json.dumps([node["labels"], props], sort_keys=True, ensure_ascii=False))
        else:
            rel = line["rel"]
            if rel["type"] in skip_r or {json.dumps(rel["start"]),
                                         json.dumps(rel["end"])} & skipped_refs:
                continue
            props = {k: v for k, v in rel["props"].items() if k not in skip_p}
            rels.append(json.dumps([rel["start"], rel["type"], rel["end"], props],
                                   sort_keys=True, ensure_ascii=False))
    return {"nodes": sorted(nodes), "relationships": sorted(rels)}
