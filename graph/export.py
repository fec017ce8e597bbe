"""Export of the entity graph, whole or filtered, for Gephi, Excel and networkx: GraphML, CSV
(one table of nodes, one of edges) and JSON.

GraphML has no list type, so list properties (aliases, evidence, documents) are written as
strings joined with "; "; properties without a value are left out rather than written empty.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
from neo4j import Driver

from graph import queries
from graph.analytics import read
from graph.ontology import Ontology

ExportFormat = Literal["graphml", "csv", "json"]
FORMATS: tuple[ExportFormat, ...] = ("graphml", "csv", "json")
LIST_SEPARATOR = "; "
NODE_COLUMNS = ["key", "name", "type", "aliases", "sphere", "status", "kind", "curated",
                "wikidata", "mentions", "documents"]
EDGE_COLUMNS = ["source", "target", "type", "weight", "method", "evidence", "documents"]


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which part of the graph to export; empty means everything.

    `types` keeps entities of those types (and edges between them), `relations` keeps edges
    of those types (and, unless `types` says otherwise, only the entities they touch),
    `document` keeps what that document mentions and the relations it supports."""

    types: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    document: str | None = None

    def checked(self, onto: Ontology) -> ExportFilter:
        for t in self.types:
            onto.check_label(t)
        for r in self.relations:
            onto.check_relation(r)
        return self


@dataclass(frozen=True, slots=True)
class ExportData:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]


def load_export(driver: Driver, onto: Ontology, flt: ExportFilter | None = None, *,
                database: str | None = None) -> ExportData:
    """Read the chosen part of the graph with every property."""
    flt = (flt or ExportFilter()).checked(onto)
    params = {"types": list(flt.types) or None, "relations": list(flt.relations) or None,
              "document": flt.document}
    nodes = read(driver, queries.EXPORT_NODES, database, **params)
    edges = read(driver, queries.EXPORT_EDGES, database, **params)
    return select(flt, nodes, edges)


def select(flt: ExportFilter, nodes: list[dict[str, Any]],
           edges: list[dict[str, Any]]) -> ExportData:
    """Keep only edges whose two ends are exported; with a relation filter and no type
    filter, keep only the entities those edges touch."""
    keys = {n["key"] for n in nodes}
    kept_edges = [e for e in edges if e["source"] in keys and e["target"] in keys]
    if flt.relations and not flt.types:
        touched = {e["source"] for e in kept_edges} | {e["target"] for e in kept_edges}
        nodes = [n for n in nodes if n["key"] in touched]
    return ExportData(nodes, kept_edges)


def _flat(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return LIST_SEPARATOR.join(str(v) for v in value)
    return value


def to_networkx(data: ExportData) -> nx.MultiDiGraph:
    """Nodes keyed by entity key, edges keyed by relation type; list values kept as lists."""
    g = nx.MultiDiGraph()
    for n in data.nodes:
        g.add_node(n["key"], **{k: v for k, v in n.items() if k != "key" and v is not None})
    for e in data.edges:
        attrs = {k: v for k, v in e.items() if k not in ("source", "target") and v is not None}
        g.add_edge(e["source"], e["target"], key=e["type"], **attrs)
    return g


def to_graphml(data: ExportData) -> str:
    """GraphML text: lists become "; "-joined strings, absent values are omitted."""
    g = to_networkx(data)
    for _, attrs in g.nodes(data=True):
        for k, v in list(attrs.items()):
            attrs[k] = _flat(v)
    for _, _, attrs in g.edges(data=True):
        for k, v in list(attrs.items()):
            attrs[k] = _flat(v)
    g.graph["name"] = "policykg"
    return "\n".join(nx.generate_graphml(g, prettyprint=True)) + "\n"


def _csv(rows: Iterable[Mapping[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else _flat(r.get(c)) for c in columns])
    return buf.getvalue()


def to_csv(data: ExportData) -> tuple[str, str]:
    """Two CSV tables, nodes and edges (Gephi's import takes `source`/`target` edges)."""
    return _csv(data.nodes, NODE_COLUMNS), _csv(data.edges, EDGE_COLUMNS)


def to_csv_zip(data: ExportData) -> bytes:
    """nodes.csv and edges.csv in one zip, for a single download."""
    nodes, edges = to_csv(data)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("nodes.csv", nodes)
        z.writestr("edges.csv", edges)
    return buf.getvalue()


def to_json(data: ExportData) -> str:
    return json.dumps({"nodes": data.nodes, "edges": data.edges}, ensure_ascii=False,
                      indent=1, default=str)


def render(data: ExportData, fmt: ExportFormat) -> str:
    """One text for formats that have one (CSV: nodes, a blank line, then edges)."""
    if fmt == "graphml":
        return to_graphml(data)
    if fmt == "json":
        return to_json(data)
    if fmt == "csv":
        nodes, edges = to_csv(data)
        return nodes + "\n" + edges
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
