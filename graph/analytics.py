"""Network analytics over a snapshot of the entity graph: who is central, who brokers between
the civil and military sides, which communities form, which initiatives duplicate each other,
and which stated threats to a sector nothing answers.

The analytics are pure networkx functions over a `networkx.MultiDiGraph` (entity keys as nodes,
one edge per relation, keyed by its type); `load_snapshot` reads that graph from Neo4j through
`graph.queries`. `AnalyticsService` runs them in a background thread and caches each result
until the graph changes (the key is the latest ingest run and the counts of the graph).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import networkx as nx
from neo4j import READ_ACCESS, Driver

from graph import queries
from graph.ontology import Ontology
from graph.reader import EdgeRecord, GraphReader, NodeRecord, edge_id

AnalysisName = Literal["pagerank", "betweenness", "communities", "brokers", "duplicates", "gaps"]
ANALYSES: tuple[AnalysisName, ...] = (
    "pagerank", "betweenness", "communities", "brokers", "duplicates", "gaps",
)

# The entity types and relations the analytics reason about, by their ontology names; the
# loader and the functions check them against the ontology before use.
ACTOR, INITIATIVE, FUNDING, SECTOR, THREAT = (
    "Actor", "Initiative", "FundingInstrument", "Sector", "Threat",
)
TARGETS, COVERS, ADDRESSES, FUNDS = "TARGETS", "COVERS", "ADDRESSES", "FUNDS"
CIVIL, MILITARY = "civil", "military"


@dataclass(frozen=True, slots=True)
class AnalysisTable:
    """One analytic's answer as a table; `links` names the columns that hold entity keys, so
    the dashboard can open those entities in the explorer."""

    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    links: Mapping[str, str] = field(default_factory=dict)  # key column -> label column
    note: str = ""

    def matrix(self) -> list[list[Any]]:
        return [[row.get(c) for c in self.columns] for row in self.rows]


# --- loading ---------------------------------------------------------------------------------


def read(driver: Driver, statement: str, database: str | None = None,
         **params: Any) -> list[dict[str, Any]]:
    """A read in a read session (routed to a reader in a cluster); notifications are off since
    the statements name optional properties (`kind`, `sphere`) a young graph may not hold."""
    with driver.session(database=database, default_access_mode=READ_ACCESS,
                        notifications_min_severity="OFF") as session:
        return session.execute_read(lambda tx: [dict(r) for r in tx.run(statement, params)])


def load_snapshot(
    driver: Driver,
    ontology: Ontology,
    *,
    database: str | None = None,
    keys: Collection[str] | None = None,
    include_fallback: bool = False,
    clearance: str | None = None,
) -> nx.MultiDiGraph:
    """The entity graph (or the view made of `keys`) as networkx. Co-occurrence (the fallback
    relation) is left out unless asked for: it links everything named in one sentence and
    would drown the stated relations the analytics are about.

    With a `clearance` (a TLP marking) only what documents within it support is kept, and a
    relation weighs its visible evidence, as `visible_parts` says; None reads everything."""
    relations = None if include_fallback else [
        ontology.check_relation(r.name) for r in ontology.relation_types.values() if not r.fallback
    ]
    key_list = sorted(keys) if keys is not None else None
    nodes = read(driver, queries.SNAPSHOT_NODES, database, keys=key_list)
    edges = read(driver, queries.SNAPSHOT_EDGES, database, keys=key_list, relations=relations)
    if clearance is not None:
        reader = GraphReader(driver, ontology, database, clearance=clearance)
        shown, shown_edges = visible_parts(reader, [n["key"] for n in nodes])
        nodes = [n for n in nodes if n["key"] in shown]
        edges = [{**e, "weight": shown_edges[i].weight or 1,
                  "evidence": len(shown_edges[i].evidence)}
                 for e in edges
                 if (i := edge_id(e["source"], e["type"], e["target"])) in shown_edges]
    return build_snapshot(nodes, edges)


def visible_parts(reader: GraphReader, keys: Iterable[str]
                  ) -> tuple[dict[str, NodeRecord], dict[str, EdgeRecord]]:
    """Of the entities `keys`, those the reader's clearance may see, and the relations among
    them it may see (by edge id), with only their visible evidence, documents and weight.

    The dashboard's reader answers (`GraphReader.nodes` and `edges_among`, the same statements
    and the same TLP rule as every page), so the command line's analyses and exports for a
    clearance show exactly what a user of that clearance would see."""
    shown = {n.key: n for n in reader.nodes(keys)}
    among = list(shown)
    return shown, {e.id: e for e in reader.edges_among(among, touching=among)}


def build_snapshot(nodes: Iterable[Mapping[str, Any]],
                   edges: Iterable[Mapping[str, Any]]) -> nx.MultiDiGraph:
    """Rows as returned by SNAPSHOT_NODES / SNAPSHOT_EDGES to a graph; pure, for tests."""
    g = nx.MultiDiGraph()
    for n in nodes:
        g.add_node(n["key"], **{k: v for k, v in n.items() if k != "key"})
    for e in edges:
        if e["source"] in g and e["target"] in g:
            g.add_edge(e["source"], e["target"], key=e["type"], type=e["type"],
                       weight=float(e.get("weight") or 1))
    return g


def graph_stamp(driver: Driver, database: str | None = None) -> tuple[Any, ...]:
    """What identifies the current state of the graph: the latest run and the counts."""
    r = read(driver, queries.GRAPH_STAMP, database)[0]
    return (r["run"], r["documents"], r["entities"], r["relationships"])


# --- helpers ---------------------------------------------------------------------------------


def _label(g: nx.MultiDiGraph, key: str) -> str:
    return str(g.nodes[key].get("name") or key)


def _of_type(g: nx.MultiDiGraph, type_: str) -> list[str]:
    return [n for n, d in g.nodes(data=True) if d.get("type") == type_]


def undirected(g: nx.MultiDiGraph) -> nx.Graph:
    """A simple undirected graph whose edge weight sums the relations between two entities:
    centrality here is about being connected, whichever way the sentence ran."""
    h = nx.Graph()
    h.add_nodes_from(g.nodes(data=True))
    for a, b, data in g.edges(data=True):
        if a == b:
            continue
        w = float(data.get("weight") or 1)
        if h.has_edge(a, b):
            h[a][b]["weight"] += w
        else:
            h.add_edge(a, b, weight=w)
    return h


def _neighbours(g: nx.MultiDiGraph, key: str, rel: str | None = None,
                direction: Literal["out", "in", "any"] = "any") -> set[str]:
    found: set[str] = set()
    if direction in ("out", "any"):
        found.update(t for _, t, k in g.out_edges(key, keys=True) if rel is None or k == rel)
    if direction in ("in", "any"):
        found.update(s for s, _, k in g.in_edges(key, keys=True) if rel is None or k == rel)
    found.discard(key)
    return found


# --- the analytics ---------------------------------------------------------------------------


def pagerank(g: nx.MultiDiGraph, types: Collection[str] = (ACTOR,),
             top: int | None = 50) -> AnalysisTable:
    """Actors ranked by PageRank on the undirected, weighted graph: important when linked to
    important entities."""
    h = undirected(g)
    return _ranking("pagerank", "PageRank of actors", g, h, weighted_pagerank(h), types, top)


def weighted_pagerank(h: nx.Graph, damping: float = 0.85, tol: float = 1e-10,
                      max_iter: int = 200) -> dict[str, float]:
    """PageRank by power iteration in pure Python (networkx's own needs scipy, which the
    project does not ship); isolated nodes spread their rank evenly, as networkx does."""
    nodes = list(h)
    n = len(nodes)
    if n == 0:
        return {}
    strength = {v: sum(d.get("weight", 1.0) for _, _, d in h.edges(v, data=True)) for v in nodes}
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(max_iter):
        dangling = sum(rank[v] for v in nodes if strength[v] == 0)
        base = (1.0 - damping) / n + damping * dangling / n
        new = dict.fromkeys(nodes, base)
        for v in nodes:
            if strength[v] == 0:
                continue
            share = damping * rank[v] / strength[v]
            for _, u, d in h.edges(v, data=True):
                new[u] += share * d.get("weight", 1.0)
        if sum(abs(new[v] - rank[v]) for v in nodes) < n * tol:
            return new
        rank = new
    return rank


def betweenness(g: nx.MultiDiGraph, types: Collection[str] = (ACTOR,),
                top: int | None = 50) -> AnalysisTable:
    """Actors ranked by betweenness: how many shortest paths between others run through them."""
    h = undirected(g)
    scores = nx.betweenness_centrality(h, normalized=True) if h.number_of_nodes() else {}
    return _ranking("betweenness", "Betweenness of actors", g, h, scores, types, top)


def _ranking(name: str, title: str, g: nx.MultiDiGraph, h: nx.Graph,
             scores: Mapping[str, float], types: Collection[str],
             top: int | None) -> AnalysisTable:
    chosen = sorted((k for k in scores if g.nodes[k].get("type") in types),
                    key=lambda k: (-scores[k], _label(g, k)))
    rows = [
        {"rank": i + 1, "entity": _label(g, k), "type": g.nodes[k].get("type"),
         "sphere": g.nodes[k].get("sphere"), "score": round(scores[k], 6),
         "degree": h.degree(k), "key": k}
        for i, k in enumerate(chosen[:top] if top else chosen)
    ]
    return AnalysisTable(name, title, ["rank", "entity", "type", "sphere", "score", "degree"],
                         rows, {"key": "entity"})


def communities(g: nx.MultiDiGraph, seed: int = 7) -> AnalysisTable:
    """Communities by Louvain modularity (seeded, so the answer is stable); each is named after
    its best-connected member."""
    h = undirected(g)
    h.remove_nodes_from([n for n in list(h) if h.degree(n) == 0])
    if h.number_of_edges() == 0:
        groups: list[set[str]] = []
    else:
        groups = [set(c) for c in nx.community.louvain_communities(h, weight="weight", seed=seed)]
    groups.sort(key=lambda c: (-len(c), min(c)))
    rows = []
    for i, members in enumerate(groups):
        ordered = sorted(members, key=lambda k: (-h.degree(k, weight="weight"), _label(g, k)))
        types: dict[str, int] = {}
        for k in members:
            t = str(g.nodes[k].get("type"))
            types[t] = types.get(t, 0) + 1
        rows.append({
            "community": i + 1, "size": len(members), "hub": _label(g, ordered[0]),
            "members": [_label(g, k) for k in ordered[:12]],
            "types": ", ".join(f"{t} {n}" for t, n in sorted(types.items())),
            "key": ordered[0], "memberKeys": ordered,
        })
    return AnalysisTable("communities", "Communities (Louvain modularity)",
                         ["community", "size", "hub", "types", "members"], rows, {"key": "hub"})


def _sphere_sets(g: nx.MultiDiGraph) -> tuple[set[str], set[str]]:
    civil = {k for k in _of_type(g, ACTOR) if g.nodes[k].get("sphere") == CIVIL}
    military = {k for k in _of_type(g, ACTOR) if g.nodes[k].get("sphere") == MILITARY}
    return civil, military


def _connected_pairs(h: nx.Graph, civil: set[str], military: set[str]) -> int:
    """Civil-military pairs that can reach each other in `h`."""
    total = 0
    for comp in nx.connected_components(h):
        total += len(comp & civil) * len(comp & military)
    return total


def brokers(g: nx.MultiDiGraph, top: int | None = 25) -> AnalysisTable:
    """Entities whose removal most disconnects civil-sphere from military-sphere actors.

    For each entity v: how many civil-military pairs (not counting v itself) are connected
    now and would no longer be without v; ties are broken by betweenness restricted to paths
    from civil to military actors."""
    h = undirected(g)
    civil, military = _sphere_sets(g)
    rows: list[dict[str, Any]] = []
    if civil and military:
        subset = nx.betweenness_centrality_subset(h, sources=civil, targets=military,
                                                  normalized=False)
        by_component = {n: comp for comp in nx.connected_components(h) for n in comp}
        for v in h:
            comp = by_component[v]
            c_civ, c_mil = (comp & civil) - {v}, (comp & military) - {v}
            if not c_civ or not c_mil:
                continue
            before = len(c_civ) * len(c_mil)
            rest = h.subgraph(comp - {v})
            after = _connected_pairs(rest, c_civ, c_mil)
            lost = before - after
            if lost == 0 and subset.get(v, 0) == 0:
                continue
            rows.append({
                "entity": _label(g, v), "type": g.nodes[v].get("type"),
                "sphere": g.nodes[v].get("sphere"), "pairsCut": lost,
                "share": round(lost / before, 4), "civilMilitaryBetweenness":
                round(subset.get(v, 0.0), 4), "key": v,
            })
    rows.sort(key=lambda r: (-r["pairsCut"], -r["civilMilitaryBetweenness"], r["entity"]))
    rows = rows[:top] if top else rows
    for i, r in enumerate(rows):
        r["rank"] = i + 1
    if not (civil and military):
        note = "brokers need actors of both the civil and the military sphere"
    elif not rows:
        note = (f"no chain of relations joins the {len(civil)} civil and {len(military)} "
                "military actors; counting co-occurrence links may find one")
    else:
        note = f"{len(civil)} civil and {len(military)} military actors"
    return AnalysisTable(
        "brokers", "Brokers between the civil and military sides",
        ["rank", "entity", "type", "sphere", "pairsCut", "share", "civilMilitaryBetweenness"],
        rows, {"key": "entity"}, note)


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def duplicates(g: nx.MultiDiGraph, threshold: float = 0.5, min_shared: int = 2,
               top: int | None = 50) -> AnalysisTable:
    """Pairs of initiatives whose actors, threats and sectors overlap heavily (Jaccard over
    their neighbour sets of those types): candidates for duplicated effort."""
    kinds = (ACTOR, THREAT, SECTOR)
    profile = {
        i: {n for n in _neighbours(g, i) if g.nodes[n].get("type") in kinds}
        for i in _of_type(g, INITIATIVE)
    }
    rows: list[dict[str, Any]] = []
    for a, b in combinations(sorted(profile), 2):
        shared = profile[a] & profile[b]
        if len(shared) < min_shared:
            continue
        score = jaccard(profile[a], profile[b])
        if score < threshold:
            continue

        def names(t: str, keys: set[str] = shared) -> list[str]:
            return sorted(_label(g, k) for k in keys if g.nodes[k].get("type") == t)

        rows.append({
            "initiative": _label(g, a), "other": _label(g, b), "jaccard": round(score, 4),
            "sharedActors": names(ACTOR), "sharedThreats": names(THREAT),
            "sharedSectors": names(SECTOR), "key": a, "otherKey": b,
        })
    rows.sort(key=lambda r: (-r["jaccard"], r["initiative"], r["other"]))
    return AnalysisTable(
        "duplicates", "Duplication candidates among initiatives",
        ["initiative", "other", "jaccard", "sharedActors", "sharedThreats", "sharedSectors"],
        rows[:top] if top else rows, {"key": "initiative", "otherKey": "other"},
        f"Jaccard >= {threshold} over actors, threats and sectors, at least {min_shared} shared")


def gaps(g: nx.MultiDiGraph) -> AnalysisTable:
    """Every threat-to-sector pair the text states (a Threat TARGETS a Sector) with the
    initiatives that answer it: one that COVERS the sector and ADDRESSES the threat. A pair
    with none is a gap; `funded` says whether any funding reaches an initiative that at least
    covers the sector or addresses the threat (a partial answer that could be extended)."""
    rows: list[dict[str, Any]] = []
    for t in _of_type(g, THREAT):
        for s in sorted(_neighbours(g, t, TARGETS, "out")):
            if g.nodes[s].get("type") != SECTOR:
                continue
            covering = _neighbours(g, s, COVERS, "in")
            addressing = _neighbours(g, t, ADDRESSES, "in")
            answering = covering & addressing
            partial = (covering | addressing) - answering
            reach = answering or partial
            funders = sorted({_label(g, f) for i in reach
                              for f in _neighbours(g, i, FUNDS, "in")})
            rows.append({
                "threat": _label(g, t), "sector": _label(g, s), "gap": not answering,
                "answeredBy": sorted(_label(g, i) for i in answering),
                "partly": sorted(_label(g, i) for i in partial),
                "funded": bool(funders), "funders": funders, "key": t, "sectorKey": s,
            })
    rows.sort(key=lambda r: (not r["gap"], r["funded"], r["sector"], r["threat"]))
    return AnalysisTable(
        "gaps", "Coverage gaps: threats to sectors that no initiative answers",
        ["threat", "sector", "gap", "answeredBy", "partly", "funded", "funders"],
        rows, {"key": "threat", "sectorKey": "sector"})


ANALYTICS: dict[str, Callable[[nx.MultiDiGraph], AnalysisTable]] = {
    "pagerank": pagerank,
    "betweenness": betweenness,
    "communities": communities,
    "brokers": brokers,
    "duplicates": duplicates,
    "gaps": gaps,
}


def analyse(g: nx.MultiDiGraph, name: str) -> AnalysisTable:
    try:
        return ANALYTICS[name](g)
    except KeyError:
        raise ValueError(f"unknown analysis {name!r}; choose from {', '.join(ANALYSES)}") from None


def run_analysis(driver: Driver, ontology: Ontology, name: str, *,
                 database: str | None = None, keys: Collection[str] | None = None,
                 include_fallback: bool = False, clearance: str | None = None) -> AnalysisTable:
    """Load the snapshot and run one analytic (what `policykg analyse` calls); with a
    `clearance`, on what a user of that clearance may see only."""
    if name not in ANALYTICS:
        raise ValueError(f"unknown analysis {name!r}; choose from {', '.join(ANALYSES)}")
    g = load_snapshot(driver, ontology, database=database, keys=keys,
                      include_fallback=include_fallback, clearance=clearance)
    return analyse(g, name)


# --- background computation and cache --------------------------------------------------------


class AnalyticsService:
    """Runs analytics in a background thread and keeps each answer until the graph changes.

    `result()` never blocks: it returns the cached table, or starts the computation and
    returns None, so a page can show "computing" and poll."""

    def __init__(self, driver: Driver, ontology: Ontology, database: str | None = None,
                 workers: int = 1) -> None:
        self.driver = driver
        self.ontology = ontology
        self.database = database
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="analytics")
        self._lock = threading.Lock()
        self._jobs: dict[tuple[Any, ...], Future[AnalysisTable]] = {}

    def cache_key(self, name: str, keys: Collection[str] | None = None,
                  include_fallback: bool = False) -> tuple[Any, ...]:
        view = tuple(sorted(keys)) if keys is not None else None
        return (graph_stamp(self.driver, self.database), name, view, include_fallback)

    def submit(self, name: str, keys: Collection[str] | None = None,
               include_fallback: bool = False) -> Future[AnalysisTable]:
        if name not in ANALYTICS:
            raise ValueError(f"unknown analysis {name!r}")
        key = self.cache_key(name, keys, include_fallback)
        with self._lock:
            job = self._jobs.get(key)
            if job is None or (job.done() and job.exception() is not None):
                stale = [k for k in self._jobs if k[0] != key[0]]
                for k in stale:  # the graph changed: older answers are of no further use
                    del self._jobs[k]
                job = self._pool.submit(run_analysis, self.driver, self.ontology, name,
                                        database=self.database, keys=keys,
                                        include_fallback=include_fallback)
                self._jobs[key] = job
            return job

    def result(self, name: str, keys: Collection[str] | None = None,
               include_fallback: bool = False) -> AnalysisTable | None:
        job = self.submit(name, keys, include_fallback)
        if not job.done():
            return None
        return job.result()  # re-raises the computation's error for the caller to show

    def compute(self, name: str, keys: Collection[str] | None = None,
                include_fallback: bool = False, timeout: float | None = None) -> AnalysisTable:
        return self.submit(name, keys, include_fallback).result(timeout=timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
