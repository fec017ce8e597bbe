"""The one reader: every query the dashboard sends, with read routing, returning typed records.

The dashboard's callbacks call these methods and never write Cypher; the statements live in
`graph/queries.py`. Records are frozen dataclasses so pure builders can turn them into
Cytoscape elements, tables and briefing packs.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import READ_ACCESS, Driver
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph import queries
from graph.ontology import Ontology, entity_key
from ingest.records import TLP_LEVELS

# Characters with a meaning in Lucene's query syntax; user text never reaches the parser raw.
_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
_TOKEN = re.compile(r"\w+", re.UNICODE)
FACETS: tuple[str, ...] = ("sphere", "status", "kind")


class ReaderError(RuntimeError):
    """A read could not be answered (for example an unknown lens)."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """An entity as the dashboard shows it: identity, facets and two measures of importance."""

    key: str
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    facets: Mapping[str, str] = field(default_factory=dict)
    mentions: int = 0
    degree: int = 0
    curated: bool = False
    wikidata: str | None = None


@dataclass(frozen=True, slots=True)
class EdgeRecord:
    """A relation between two entities and the passages that state it."""

    source: str
    type: str
    target: str
    weight: float = 0
    evidence: tuple[str, ...] = ()
    documents: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return edge_id(self.source, self.type, self.target)


@dataclass(frozen=True, slots=True)
class Quote:
    """A passage quoted as evidence, with where it comes from and the spans to highlight
    (offsets relative to the passage text)."""

    passage: str
    text: str
    doc_id: str
    title: str | None
    issuer: str | None = None
    date: str | None = None
    source: str | None = None
    page: int | None = None
    marks: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Subgraph:
    """Entities and relations to draw; `total` counts what matched before any cap."""

    nodes: tuple[NodeRecord, ...] = ()
    edges: tuple[EdgeRecord, ...] = ()
    total: int = 0
    capped: bool = False  # more matched than `total` counts (see queries.NEIGHBOUR_SCAN)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(n.key for n in self.nodes)


@dataclass(frozen=True, slots=True)
class Path:
    """One shortest path: its entities in order and the relations between them."""

    keys: tuple[str, ...]
    edges: tuple[EdgeRecord, ...]


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    id: str
    title: str | None
    issuer: str | None = None
    date: str | None = None
    source: str | None = None
    path: str | None = None
    tlp: str | None = None
    passages: int = 0
    text: str = ""
    pages: int | None = None


@dataclass(frozen=True, slots=True)
class MentionSpan:
    """A mention in a document's text (document offsets) and the entity it names."""

    start: int
    end: int
    key: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class Filters:
    """What the user narrowed the graph to; empty means no restriction."""

    types: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()
    theme: str | None = None
    document: str | None = None
    date_from: str | None = None
    date_to: str | None = None

    def parameters(self, onto: Ontology) -> dict[str, Any]:
        """Query parameters; unknown type names are dropped by the ontology whitelist."""
        types = [t for t in self.types if t in onto.entity_types]
        relations = [r for r in self.relations if r in onto.relation_types]
        evidence = any((self.theme, self.document, self.date_from, self.date_to))
        return {
            "types": types or None,
            "relations": relations or None,
            "theme": self.theme or None,
            "document": self.document or None,
            "dateFrom": self.date_from or None,
            "dateTo": self.date_to or None,
            "evidenceFiltered": evidence,
        }


NO_FILTERS = Filters()


def edge_id(source: str, type_: str, target: str) -> str:
    return f"{source}|{type_}|{target}"


def lucene_escape(text: str) -> str:
    """Escape every Lucene special character, so the text is read as plain terms."""
    return _LUCENE_SPECIAL.sub(r"\\\1", text)


def search_query(text: str) -> str | None:
    """A Lucene query for what the user typed: every word must match, as a whole word
    (boosted) or as the start of one (prefix), so `enis` finds ENISA and `european union
    agency` finds it by its long name. None when the text holds no word at all."""
    tokens = [t.lower() for t in _TOKEN.findall(text)][:12]
    if not tokens:
        return None
    clauses = []
    for token in tokens:
        term = lucene_escape(token)
        clauses.append(f"({term}^3 OR {term}*)")
    return " AND ".join(clauses)


def _node(row: Mapping[str, Any]) -> NodeRecord:
    return NodeRecord(
        key=row["key"],
        name=row["name"],
        type=row["type"],
        aliases=tuple(row.get("aliases") or ()),
        facets={f: row[f] for f in FACETS if row.get(f)},
        mentions=int(row.get("mentions") or 0),
        degree=int(row.get("degree") or 0),
        curated=bool(row.get("curated")),
        wikidata=row.get("wikidata"),
    )


def _edge(row: Mapping[str, Any]) -> EdgeRecord:
    return EdgeRecord(
        source=row["source"],
        type=row["type"],
        target=row["target"],
        weight=row.get("weight") or 0,
        evidence=tuple(row.get("evidence") or ()),
        documents=tuple(dict.fromkeys(row.get("documents") or ())),
    )


def _quote(row: Mapping[str, Any]) -> Quote:
    marks = sorted({(int(m["start"]), int(m["end"])) for m in row["marks"] or ()})
    return Quote(
        passage=row["passage"],
        text=row["text"] or "",
        doc_id=row["docId"],
        title=row["title"],
        issuer=row["issuer"],
        date=row["date"],
        source=row["source"],
        page=row["page"],
        marks=tuple(marks),
    )


Clearance = str | Callable[[], str]


def allowed_markings(clearance: str) -> list[str]:
    """The TLP markings a clearance may read (its own and the lower ones); an unknown
    clearance reads nothing."""
    if clearance not in TLP_LEVELS:
        return []
    return list(TLP_LEVELS[: TLP_LEVELS.index(clearance) + 1])  # type: ignore[arg-type]


class GraphReader:
    """Owns every read the dashboard makes; the driver is passed in.

    `clearance` is a TLP marking, or a function returning one at each read (the dashboard
    passes the logged-in user's); every statement receives the allowed markings as
    `$allowed`, so entities, relations, quotes, documents and counts only come from documents
    the clearance covers. The default, RED, sees everything: it is for the command line and
    tests, which hold the database credentials anyway. `retry_seconds` bounds how long a read
    retries while the database is away (the driver's default is 30 s)."""

    def __init__(self, driver: Driver, ontology: Ontology, database: str | None = None, *,
                 clearance: Clearance = "RED", retry_seconds: float | None = None) -> None:
        self.driver = driver
        self.ontology = ontology
        self.database = database
        self.clearance = clearance
        self.retry_seconds = retry_seconds
        self._health: tuple[float, bool] = (0.0, True)
        self._health_lock = threading.Lock()

    def for_clearance(self, clearance: Clearance) -> GraphReader:
        """The same reader seen with another clearance."""
        return GraphReader(self.driver, self.ontology, self.database, clearance=clearance,
                           retry_seconds=self.retry_seconds)

    def allowed(self) -> list[str]:
        clearance = self.clearance() if callable(self.clearance) else self.clearance
        return allowed_markings(clearance)

    def _read(self, statement: str, **params: Any) -> list[Any]:
        # A read session (routed to a reader in a cluster). Notifications are off because the
        # statements name optional properties (`wikidata`, `ingestedAt`) that a young graph
        # may not hold yet, and the server warns about each on every call.
        params["allowed"] = self.allowed()
        extra: dict[str, Any] = {}
        if self.retry_seconds is not None:
            extra["max_transaction_retry_time"] = self.retry_seconds
        with self.driver.session(
            database=self.database,
            default_access_mode=READ_ACCESS,
            notifications_min_severity="OFF",
            **extra,
        ) as session:
            return session.execute_read(lambda tx: list(tx.run(statement, params)))

    def reachable(self, cache_seconds: float = 2.0) -> bool:
        """Does the database answer? Cached briefly: every open page asks periodically."""
        now = time.monotonic()
        with self._health_lock:
            checked, up = self._health
            if now - checked < cache_seconds:
                return up
        try:
            self.driver.verify_connectivity()
            up = True
        except (ServiceUnavailable, SessionExpired, OSError):
            up = False
        with self._health_lock:
            self._health = (time.monotonic(), up)
        return up

    # --- entities ----------------------------------------------------------------------------

    def search(self, text: str, limit: int = 10) -> list[NodeRecord]:
        """Entities whose name, acronym or alias matches what the user typed (any input)."""
        query = search_query(text or "")
        if query is None:
            return []
        tokens = [t.lower() for t in _TOKEN.findall(text)][:12]
        rows = self._read(
            queries.SEARCH_ENTITIES, index=queries.FULLTEXT_INDEX, query=query,
            limit=limit * 3,
        )
        found = [n for n in map(_node, (r["node"] for r in rows)) if _matches(n, tokens, all)]
        if not found and " AND " in query:  # no entity has every word: take any word
            rows = self._read(
                queries.SEARCH_ENTITIES, index=queries.FULLTEXT_INDEX,
                query=query.replace(" AND ", " OR "), limit=limit * 3,
            )
            found = [n for n in map(_node, (r["node"] for r in rows))
                     if _matches(n, tokens, any)]
        return found[:limit]

    def nodes(self, keys: Iterable[str]) -> list[NodeRecord]:
        """The entities with these keys, in the order given; unknown keys are skipped."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        found = {r["node"]["key"]: _node(r["node"]) for r in self._read(
            queries.NODES_BY_KEYS, keys=wanted
        )}
        return [found[k] for k in wanted if k in found]

    def node(self, key: str) -> NodeRecord | None:
        found = self.nodes([key])
        return found[0] if found else None

    def quotes(self, key: str, limit: int = 50) -> list[Quote]:
        """The sentences that mention an entity, the mention words marked."""
        return [_quote(r) for r in self._read(queries.ENTITY_QUOTES, key=key, limit=limit)]

    # --- neighbourhoods ------------------------------------------------------------------------

    def neighbours(
        self,
        key: str,
        *,
        filters: Filters = NO_FILTERS,
        skip: int = 0,
        limit: int = 25,
        known: Sequence[str] = (),
    ) -> Subgraph:
        """A page of an entity's neighbours (most connected first) and every relation that
        joins them to the entity, to each other or to the `known` entities already drawn.
        `total` is the number of neighbours passing the filters, up to `queries.NEIGHBOUR_SCAN`
        (`capped` when there are more)."""
        params = filters.parameters(self.ontology)
        rows = self._read(queries.neighbours(self.ontology), key=key, skip=skip, limit=limit,
                          **params)
        total = int(rows[0]["total"]) if rows else 0
        capped = bool(rows[0]["capped"]) if rows else False
        page = list(rows[0]["page"]) if rows else []
        nodes = self.nodes(page)
        edges = self.edges_among([key, *known, *page], touching=page, filters=filters)
        return Subgraph(tuple(nodes), tuple(edges), total, capped)

    def edges_among(
        self, keys: Sequence[str], *, touching: Sequence[str], filters: Filters = NO_FILTERS
    ) -> list[EdgeRecord]:
        """Relations between entities of `keys` with at least one end in `touching`."""
        if not keys or not touching:
            return []
        rows = self._read(
            queries.EDGES_AMONG,
            keys=list(dict.fromkeys(keys)),
            touching=list(touching),
            **filters.parameters(self.ontology),
        )
        return [_edge(r["edge"]) for r in rows]

    # --- relations -----------------------------------------------------------------------------

    def relation(self, source: str, type_: str, target: str) -> EdgeRecord | None:
        rows = self._read(queries.RELATION, source=source, type=type_, target=target)
        return _edge(rows[0]["edge"]) if rows else None

    def evidence(self, edge: EdgeRecord, limit: int = 50) -> list[Quote]:
        """The sentences that state a relation, the names of both ends marked."""
        if not edge.evidence:
            return []
        rows = self._read(
            queries.EVIDENCE_QUOTES,
            passages=list(edge.evidence),
            keys=[edge.source, edge.target],
            limit=limit,
        )
        return [_quote(r) for r in rows]

    # --- lenses and paths ------------------------------------------------------------------------

    def lens(self, theme: str, limit: int = 25) -> Subgraph:
        """The subgraph answering one of the founding document's questions. When the graph
        holds none of the relations a lens looks for, the entities most mentioned in
        passages of that theme stand in, with the relations between them."""
        if theme not in self.ontology.themes:
            raise ReaderError(f"unknown lens {theme!r}")
        statement = queries.lens_query(theme, self.ontology)
        anchors = [entity_key(e.type, e.name) for e in self._theme_anchors(theme)]
        facets = self.ontology.facets
        rows = self._read(
            statement,
            militarySpheres=[s for s in facets.get("sphere", ()) if "military" in s],
            civil="civil",
            statuses=list(facets.get("status", ())),
            state="state",
            fallback=self.ontology.fallback_relation,
            theme=theme,
            anchors=anchors,
        )
        keys = list(rows[0]["keys"]) if rows else []
        raw = [_edge(e) for e in rows[0]["edges"]] if rows else []
        edges = [e for e in raw if e.documents]
        # A node reached only through relations the clearance cannot see is dropped.
        reached = {k for e in raw for k in (e.source, e.target)}
        shown = {k for e in edges for k in (e.source, e.target)}
        keys = [k for k in keys if k in shown or k not in reached]
        if not edges:
            themed = self._read(queries.THEME_ENTITIES, theme=theme, limit=limit)
            keys = list(dict.fromkeys([*keys, *(themed[0]["keys"] if themed else [])]))
            edges = self.edges_among(keys, touching=keys)
        nodes = self.nodes(keys)
        return Subgraph(tuple(nodes), tuple(_dedupe(edges)), len(nodes))

    def _theme_anchors(self, theme: str) -> list[Any]:
        names = set(self.ontology.themes[theme].entities)
        return [e for e in self.ontology.registry if e.name in names]

    def paths(
        self,
        source: str,
        target: str,
        *,
        max_length: int = 6,
        include_fallback: bool = False,
        limit: int = 20,
    ) -> list[Path]:
        """All shortest paths between two entities (capped in length and number)."""
        if source == target:
            return []
        statement = queries.shortest_paths(self.ontology, max_length, include_fallback)
        rows = self._read(statement, source=source, target=target, limit=limit)
        found = [Path(tuple(r["keys"]), tuple(_edge(e) for e in r["edges"])) for r in rows]
        return [p for p in found if all(e.documents for e in p.edges)]

    # --- documents ---------------------------------------------------------------------------

    def documents(self) -> list[DocumentRecord]:
        return [
            DocumentRecord(
                id=r["id"], title=r["title"], issuer=r["issuer"], date=r["date"],
                source=r["source"], path=r["path"], tlp=r["tlp"], passages=r["passages"],
            )
            for r in self._read(queries.DOCUMENTS)
        ]

    def document(self, doc_id: str) -> DocumentRecord | None:
        rows = self._read(queries.DOCUMENT, id=doc_id)
        if not rows:
            return None
        d = rows[0]["document"]
        return DocumentRecord(
            id=d["id"], title=d.get("title"), issuer=d.get("issuer"), date=d.get("date"),
            source=d.get("source"), path=d.get("path"), tlp=d.get("tlp"),
            text=d.get("text") or "", pages=d.get("pages"),
        )

    def document_mentions(self, doc_id: str) -> list[MentionSpan]:
        return [
            MentionSpan(r["start"], r["end"], r["key"], r["name"], r["type"])
            for r in self._read(queries.DOCUMENT_MENTIONS, id=doc_id)
        ]

    def new_entities(self, doc_id: str) -> list[NodeRecord]:
        """The entities this document brought to the graph: no earlier-ingested document
        mentions them."""
        return [_node(r["node"]) for r in self._read(queries.NEW_ENTITIES, id=doc_id)]

    def date_range(self) -> tuple[str | None, str | None]:
        rows = self._read(queries.FACET_VALUES)
        return (rows[0]["first"], rows[0]["last"]) if rows else (None, None)


def _matches(node: NodeRecord, tokens: Sequence[str],
             combine: Callable[[Iterable[bool]], bool]) -> bool:
    """Does the entity match by its name or an alias the clearance may see? The full-text
    index also holds aliases that only hidden documents use; a hit on those is dropped."""
    words = {w.lower() for s in (node.name, *node.aliases) for w in _TOKEN.findall(s)}
    return combine(any(w.startswith(t) for w in words) for t in tokens)


def _dedupe(edges: Iterable[EdgeRecord]) -> list[EdgeRecord]:
    return list({e.id: e for e in edges}.values())
