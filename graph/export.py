"""Export of the entity graph, whole or filtered, for Gephi, Excel and networkx: GraphML, CSV
(one table of nodes, one of edges) and JSON.

GraphML has no list type, so list properties (aliases, evidence, documents) are written as
strings joined with "; "; properties without a value are left out rather than written empty.

An export is of everything (what the database credentials reach), or, given a TLP clearance,
of what a dashboard user of that clearance may see: the dashboard reader's statements decide
(`graph.analytics.visible_parts`), and the clearance is recorded in the GraphML graph data, the
JSON object and a `clearance.txt` in the CSV zip.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

import networkx as nx
from neo4j import Driver

from graph import queries
from graph.analytics import read, visible_parts
from graph.ontology import Ontology
from graph.reader import GraphReader, allowed_markings, edge_id

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
    clearance: str | None = None  # the TLP clearance it was made for; None: unfiltered


# What an entity or relation is, whoever reads it (the dashboard shows these to any clearance
# that sees the entity or relation at all); every other column is the clearance's view.
_ENTITY_COLUMNS = ("key", "name", "type", "sphere", "status", "kind", "curated", "wikidata")
_RELATION_COLUMNS = ("source", "target", "type", "method")


def load_export(driver: Driver, onto: Ontology, flt: ExportFilter | None = None, *,
                database: str | None = None, clearance: str | None = None) -> ExportData:
    """Read the chosen part of the graph with every property. With a `clearance` (a TLP
    marking) only what documents within it support: see `within_clearance`."""
    flt = (flt or ExportFilter()).checked(onto)
    params = {"types": list(flt.types) or None, "relations": list(flt.relations) or None,
              "document": flt.document}
    nodes = read(driver, queries.EXPORT_NODES, database, **params)
    edges = read(driver, queries.EXPORT_EDGES, database, **params)
    if clearance is None:
        return select(flt, nodes, edges)
    reader = GraphReader(driver, onto, database, clearance=clearance)
    nodes, edges = within_clearance(reader, flt, nodes, edges)
    return replace(select(flt, nodes, edges), clearance=clearance)


def within_clearance(reader: GraphReader, flt: ExportFilter, nodes: list[dict[str, Any]],
                     edges: list[dict[str, Any]]
                     ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The export rows as the reader's clearance sees them, by the dashboard reader's own
    statements: only entities and relations a readable document supports, with only the
    aliases, mention counts, evidence, weights and documents such documents give. A filter on
    a document the clearance may not read keeps nothing."""
    if flt.document is not None and reader.document(flt.document) is None:
        return [], []
    readable = {d.id for d in reader.documents()}
    shown, shown_edges = visible_parts(reader, [n["key"] for n in nodes])
    kept_nodes = [
        {**{c: n.get(c) for c in _ENTITY_COLUMNS}, "aliases": list(shown[n["key"]].aliases),
         "mentions": shown[n["key"]].mentions,
         "documents": [d for d in n.get("documents") or () if d in readable]}
        for n in nodes if n["key"] in shown
    ]
    kept_edges = []
    for e in edges:
        seen = shown_edges.get(edge_id(e["source"], e["type"], e["target"]))
        if seen is None:
            continue
        kept_edges.append({**{c: e.get(c) for c in _RELATION_COLUMNS}, "weight": seen.weight,
                           "evidence": list(seen.evidence), "documents": list(seen.documents)})
    return kept_nodes, kept_edges


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
    if data.clearance is not None:
        g.graph["clearance"] = data.clearance
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
        if data.clearance is not None:
            z.writestr("clearance.txt", clearance_note(data.clearance) + "\n")
    return buf.getvalue()


def clearance_note(clearance: str) -> str:
    return (f"made for clearance {clearance}: only what documents marked "
            f"{' or '.join(allowed_markings(clearance)) or 'nothing'} support")


def to_json(data: ExportData) -> str:
    head = {} if data.clearance is None else {"clearance": data.clearance}
    return json.dumps({**head, "nodes": data.nodes, "edges": data.edges}, ensure_ascii=False,
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
