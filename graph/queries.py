"""Every Cypher statement policykg sends, as named builders.

Values are always parameters; labels and relationship types are interpolated only after the
ontology's whitelist has checked them (`Ontology.check_label` / `check_relation`).
"""

from __future__ import annotations

from functools import cache

from graph.ontology import ENTITY_LABEL, Ontology
from ingest.records import TLP_LEVELS

FULLTEXT_INDEX = "entitySearch"

# --- derived properties ----------------------------------------------------------------------
# The writer keeps, on every entity and relation, what the reads rank and filter on, so that a
# read costs the same however many mentions and relations a hub has:
#   entity.mentionCounts  its mentions, by the TLP marking of the mentioning document
#   entity.degreeCounts   its relations to entities (each end counts one), by the lowest
#                         marking among the documents supporting the relation
#   relation.markings     the marking of each document of relation.documents, in that order
# Counts are lists with one slot per marking of TLP_LEVELS (lowest first) and a last slot for
# documents without a known marking, which no clearance reads. A clearance reads a prefix of
# TLP_LEVELS, so a relation is visible to it exactly when its lowest marking is readable.
# The writer updates them in the statements that add or withdraw the facts they count, for the
# touched entities and relations only, in the same transaction.
MARKING_SLOTS = len(TLP_LEVELS) + 1
_LEVELS = "[" + ", ".join(f"'{level}'" for level in TLP_LEVELS) + "]"
_ZEROS = "[" + ", ".join("0" for _ in range(MARKING_SLOTS)) + "]"
_SLOTS = f"range(0, {MARKING_SLOTS - 1})"


def marking_slot(tlp: str | None) -> int:
    """The slot of a document's marking in an entity's count lists."""
    return TLP_LEVELS.index(tlp) if tlp in TLP_LEVELS else len(TLP_LEVELS)  # type: ignore[arg-type]


def _slot(marking: str) -> str:
    """Cypher: the slot of a marking (a string expression)."""
    whens = " ".join(f"WHEN '{level}' THEN {i}" for i, level in enumerate(TLP_LEVELS))
    return f"CASE {marking} {whens} ELSE {len(TLP_LEVELS)} END"


def _lowest_slot(markings: str) -> str:
    """Cypher: the lowest slot among a list of markings; null for an empty list."""
    return (f"reduce(lo = null, m IN {markings} | CASE WHEN lo IS NULL OR {_slot('m')} < lo "
            f"THEN {_slot('m')} ELSE lo END)")


def _shift(counts: str, minus: str, plus: str) -> str:
    """Cypher: a count list with one taken from slot `minus` and one added to slot `plus`
    (either may be null: nothing moves there)."""
    return (f"[i IN {_SLOTS} | coalesce({counts}[i], 0) "
            f"- CASE WHEN i = {minus} THEN 1 ELSE 0 END + CASE WHEN i = {plus} THEN 1 ELSE 0 END]")


def _visible_sum(counts: str) -> str:
    """Cypher: the sum of the count slots of the markings in `$allowed`."""
    return (f"reduce(s = 0, i IN range(0, {len(TLP_LEVELS) - 1}) | s + CASE WHEN "
            f"{_LEVELS}[i] IN $allowed THEN coalesce({counts}[i], 0) ELSE 0 END)")


def _total(counts: str) -> str:
    return f"reduce(s = 0, c IN coalesce({counts}, []) | s + c)"

# --- schema ---------------------------------------------------------------------------------


def schema_statements(onto: Ontology) -> list[str]:
    """Constraints and indexes, each idempotent (IF NOT EXISTS)."""
    statements = [
        "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
        "CREATE INDEX document_path IF NOT EXISTS FOR (d:Document) ON (d.path)",
        "CREATE CONSTRAINT passage_key IF NOT EXISTS FOR (p:Passage) REQUIRE p.key IS UNIQUE",
        f"CREATE CONSTRAINT entity_key IF NOT EXISTS "
        f"FOR (e:{ENTITY_LABEL}) REQUIRE e.key IS UNIQUE",
        "CREATE CONSTRAINT ingest_run_id IF NOT EXISTS FOR (r:IngestRun) REQUIRE r.id IS UNIQUE",
    ]
    for label in onto.labels:
        onto.check_label(label)
        statements.append(
            f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS "
            f"FOR (e:{label}) REQUIRE e.key IS UNIQUE"
        )
    statements.append(
        f"CREATE FULLTEXT INDEX {FULLTEXT_INDEX} IF NOT EXISTS "
        f"FOR (e:{ENTITY_LABEL}) ON EACH [e.name, e.searchText]"
    )
    return statements


# --- writes (sent by graph/writer.py only) ----------------------------------------------------

DOCUMENT_BY_ID = "MATCH (d:Document {id: $id}) RETURN d.id AS id"

# The statements that merge entities and relations plan to unique-index seeks whatever the
# graph's size, and the per-document ones are long (a subquery per type: a second or two to
# plan), so they keep their first plan instead of being replanned whenever the statistics move.
_KEEP_PLAN = "CYPHER replan=skip\n"


def _entity_rows(label: str, rows: str) -> str:
    """Entities of one type from the rows `rows` (one row per entity): created once, then
    their facets accumulate, their mention counts grow by `row.counts` (mentions by marking
    slot) and new aliases are appended; name, aliases and the full-text `searchText` are only
    written when an alias is new, so a hub entity named by every document does not rewrite
    its index entry each time. Ends with `created`, the keys this statement created."""
    return f"""
UNWIND {rows} AS row
MERGE (e:{label} {{key: row.key}})
ON CREATE SET e:{ENTITY_LABEL}, e.name = row.name, e.type = row.type, e.aliases = [],
              e.searchText = row.name, e.curated = false, e.method = row.method,
              e.mentionCounts = [], e.degreeCounts = {_ZEROS}
WITH e, row, e.mentionCounts = [] AS created,
     [a IN row.aliases WHERE a <> e.name AND NOT a IN coalesce(e.aliases, [])] AS fresh
SET e += row.facets,
    e.curated = e.curated OR row.curated,
    e.wikidata = coalesce(e.wikidata, row.wikidata),
    e.mentionCounts = [i IN {_SLOTS} | coalesce(e.mentionCounts[i], 0) + row.counts[i]]
FOREACH (_ IN CASE WHEN size(fresh) > 0 THEN [1] ELSE [] END |
  SET e.aliases = coalesce(e.aliases, []) + fresh,
      e.searchText = reduce(s = coalesce(e.searchText, e.name), a IN fresh | s + ' | ' + a))
WITH created, row WHERE created
RETURN collect(row.key) AS created"""


def merge_entities(label: str, onto: Ontology) -> str:
    """Entities of one type (`$rows`); returns the keys it created. The writer sends every
    type at once (`merge_all_entities`); the bench's row-by-row baseline sends this."""
    onto.check_label(label)
    return _KEEP_PLAN + _entity_rows(label, "$rows")


def merge_all_entities(onto: Ontology) -> str:
    """Entities of every type in one statement: `$rows` maps each label to its rows (a label
    without rows may be absent). One text for every document, so it is planned once."""
    parts = []
    for i, label in enumerate(onto.labels):
        onto.check_label(label)
        body = _entity_rows(label, f"$rows.{label}").replace(
            "RETURN collect(row.key) AS created", f"RETURN collect(row.key) AS c{i}")
        parts.append(f"CALL () {{{body}\n}}")
    total = " + ".join(f"c{i}" for i in range(len(parts))) or "[]"
    return _KEEP_PLAN + "\n".join(parts) + f"\nRETURN {total} AS created\n"


def _relation_rows(rel_type: str, rows: str) -> str:
    """Relations of one type from the rows `rows`: one edge per pair, evidence, documents and
    their markings grow with each document; when the edge's lowest marking changes (a new
    edge, or a document of a lower marking) the two ends' degree counts follow. Ends with
    `created`, the relations this statement created."""
    lowest = ("CASE WHEN r.lowestSlot IS NULL OR row.slot < r.lowestSlot "
              "THEN row.slot ELSE r.lowestSlot END")
    return f"""
UNWIND {rows} AS row
MATCH (a:{ENTITY_LABEL} {{key: row.source}})
MATCH (b:{ENTITY_LABEL} {{key: row.target}})
MERGE (a)-[r:{rel_type}]->(b)
ON CREATE SET r.evidence = [], r.documents = [], r.markings = [], r.weight = 0
WITH a, b, r, row, r.documents = [] AS created
FOREACH (_ IN CASE WHEN r.lowestSlot IS NULL OR row.slot < r.lowestSlot THEN [1] ELSE [] END |
  SET a.degreeCounts = {_shift("a.degreeCounts", "r.lowestSlot", lowest)}
  SET b.degreeCounts = CASE WHEN a = b THEN b.degreeCounts  // a loop counts once
                       ELSE {_shift("b.degreeCounts", "r.lowestSlot", lowest)} END
  SET r.lowestSlot = row.slot)
SET r.evidence = r.evidence + row.evidence,
    r.documents = r.documents + row.documents,
    r.markings = r.markings + row.markings,
    r.weight = r.weight + row.weight,
    r.method = row.method
WITH created, row WHERE created
RETURN collect(row.source + '|{rel_type}|' + row.target) AS created"""


def merge_relations(rel_type: str, onto: Ontology) -> str:
    """Relations of one type (`$rows`); returns the ids (`source|TYPE|target`) it created.
    The writer sends every type at once (`merge_all_relations`); the bench's baseline sends
    this."""
    onto.check_relation(rel_type)
    return _KEEP_PLAN + _relation_rows(rel_type, "$rows")


def merge_all_relations(onto: Ontology) -> str:
    """Relations of every type in one statement: `$rows` maps each type to its rows."""
    parts = []
    for i, rel in enumerate(onto.relation_types):
        onto.check_relation(rel)
        body = _relation_rows(rel, f"$rows.{rel}").rsplit(" AS created", 1)[0] + f" AS c{i}"
        parts.append(f"CALL () {{{body}\n}}")
    total = " + ".join(f"c{i}" for i in range(len(parts))) or "[]"
    return _KEEP_PLAN + "\n".join(parts) + f"\nRETURN {total} AS created\n"


# One round trip before a document goes in: is it already there, and which earlier versions
# of its path does it replace.
DOCUMENT_STATE = """
OPTIONAL MATCH (d:Document {id: $id})
RETURN d IS NOT NULL AS present,
       COLLECT { MATCH (o:Document {path: $path}) WHERE o.id <> $id RETURN o.id } AS replaced
"""

# The same for a batch: the documents already there, and those replacing another version.
BATCH_DOCUMENT_STATE = """
UNWIND $docs AS doc
OPTIONAL MATCH (d:Document {id: doc.id})
WITH doc, d IS NOT NULL AS present,
     EXISTS { MATCH (o:Document {path: doc.path}) WHERE o.id <> doc.id } AS replacing
RETURN collect(CASE WHEN present THEN doc.id END) AS present,  // collect skips the nulls
       collect(CASE WHEN replacing THEN doc.id END) AS replacing
"""

# Documents, their passages and their mentions in one statement (after the entities): each
# mention is created from the passage just made, without looking the passage up again.
WRITE_DOCUMENTS = f"""
UNWIND $docs AS doc
MERGE (d:Document {{id: doc.doc.id}})
SET d += doc.doc, d.ingestedAt = datetime()
WITH d, doc
UNWIND doc.rows AS row
CREATE (p:Passage {{key: row.passage.key}})
SET p += row.passage
CREATE (d)-[:HAS_PASSAGE]->(p)
WITH p, row
UNWIND row.mentions AS m
MATCH (e:{ENTITY_LABEL} {{key: m.entity}})
CREATE (p)-[:MENTIONS {{start: m.start, end: m.end, text: m.text}}]->(e)
"""

# The derived properties recomputed from the facts, for entities written before the writer
# kept them (graph/writer.py runs these from `ensure_schema`, for those entities only) and
# for checking them (`DERIVED_MISMATCHES`, the tests).
_DOCUMENT_SLOT = _slot("coalesce(d.tlp, '')")
_MENTION_COUNTS = (f"[i IN {_SLOTS} | COUNT {{ (e)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-"
                   f"(d:Document) WHERE {_DOCUMENT_SLOT} = i }}]")
_RELATION_MARKINGS = ("[x IN coalesce(r.documents, []) | coalesce(head(COLLECT { "
                      "MATCH (d:Document {id: x}) RETURN coalesce(d.tlp, '') }), '')]")
_DEGREE_COUNTS = (f"[i IN {_SLOTS} | COUNT {{ MATCH (e)-[r]-(:{ENTITY_LABEL}) "
                  f"WHERE r.lowestSlot = i }}]")

BACKFILL_RELATIONS = f"""
MATCH (e:{ENTITY_LABEL}) WHERE e.degreeCounts IS NULL
MATCH (e)-[r]-(:{ENTITY_LABEL})
WHERE r.markings IS NULL OR r.lowestSlot IS NULL
WITH DISTINCT r
SET r.markings = {_RELATION_MARKINGS}
SET r.lowestSlot = {_lowest_slot("r.markings")}
"""

BACKFILL_ENTITIES = f"""
MATCH (e:{ENTITY_LABEL}) WHERE e.degreeCounts IS NULL OR e.mentionCounts IS NULL
SET e.mentionCounts = {_MENTION_COUNTS}, e.degreeCounts = {_DEGREE_COUNTS}
"""

DERIVED_MISMATCHES = f"""
CALL () {{
  MATCH (e:{ENTITY_LABEL})
  WITH e, {_MENTION_COUNTS} AS mentions, {_DEGREE_COUNTS} AS degrees
  WHERE e.mentionCounts <> mentions OR e.degreeCounts <> degrees
  RETURN collect({{key: e.key, mentionCounts: [e.mentionCounts, mentions],
                  degreeCounts: [e.degreeCounts, degrees]}}) AS entities
}}
CALL () {{
  MATCH (a:{ENTITY_LABEL})-[r]->(b:{ENTITY_LABEL})
  WITH a, r, b, {_RELATION_MARKINGS} AS markings
  WHERE r.markings IS NULL OR r.markings <> markings
     OR coalesce(r.lowestSlot, -1) <> coalesce({_lowest_slot("markings")}, -1)
  RETURN collect(a.key + '|' + type(r) + '|' + b.key) AS relations
}}
RETURN entities, relations
"""


# Withdrawing a document keeps every fact that another document still supports.
# The relations a document supports start at entities it mentions (extraction only relates
# entities it found), so they are reached from the document rather than by scanning all.
WITHDRAW_RELATIONS = f"""
MATCH (:Document {{id: $docId}})-[:HAS_PASSAGE]->(:Passage)-[:MENTIONS]->(e:Entity)
WITH DISTINCT e
MATCH (e)-[r]->(b:Entity)
WHERE $docId IN r.documents
WITH DISTINCT e, r, b
WITH e, r, b, [i IN range(0, size(r.documents) - 1) WHERE r.documents[i] <> $docId] AS keep
WITH e, r, b, keep, [k IN r.evidence WHERE NOT k STARTS WITH $docId + ':'] AS kept,
     {_lowest_slot("[i IN keep | r.markings[i]]")} AS lowest
FOREACH (_ IN CASE WHEN lowest IS NULL OR lowest <> r.lowestSlot THEN [1] ELSE [] END |
  SET e.degreeCounts = {_shift("e.degreeCounts", "r.lowestSlot", "lowest")}
  SET b.degreeCounts = CASE WHEN e = b THEN b.degreeCounts
                       ELSE {_shift("b.degreeCounts", "r.lowestSlot", "lowest")} END)
SET r.evidence = kept,
    r.markings = [i IN keep | r.markings[i]],
    r.documents = [i IN keep | r.documents[i]],
    r.lowestSlot = lowest,
    r.weight = CASE WHEN type(r) = $fallback THEN size(kept) ELSE r.weight END
WITH r WHERE size(r.documents) = 0
DELETE r
"""

# The mentions a withdrawn document made no longer count.
UNCOUNT_MENTIONS = f"""
MATCH (d:Document {{id: $docId}})-[:HAS_PASSAGE]->(:Passage)-[:MENTIONS]->(e:{ENTITY_LABEL})
WITH e, {_slot("coalesce(d.tlp, '')")} AS slot, count(*) AS n
SET e.mentionCounts = [i IN {_SLOTS} | coalesce(e.mentionCounts[i], 0)
                       - CASE WHEN i = slot THEN n ELSE 0 END]
"""

# After a document's passages go, the aliases of the entities it mentioned that no remaining
# mention uses, and that are not the registry's own forms (`row.keep`), go too: a withdrawn
# document leaves no name behind in the aliases or the full-text index.
PRUNE_ALIASES = f"""
UNWIND $rows AS row
MATCH (e:{ENTITY_LABEL} {{key: row.key}})
WITH e, row, [a IN coalesce(e.aliases, []) WHERE a IN row.keep OR EXISTS {{
       MATCH (e)<-[m:MENTIONS]-(:Passage) WHERE toLower(m.text) = toLower(a) }}] AS kept
WHERE size(kept) < size(coalesce(e.aliases, []))
SET e.aliases = kept, e.searchText = reduce(s = e.name, a IN kept | s + ' | ' + a)
"""

DELETE_PASSAGES = """
MATCH (:Document {id: $docId})-[:HAS_PASSAGE]->(p:Passage)
WITH p, [(p)-[:MENTIONS]->(e) | e] AS entities
DETACH DELETE p
WITH entities
UNWIND entities AS e
WITH DISTINCT e
WHERE NOT (e)<-[:MENTIONS]-()
DETACH DELETE e
"""

DELETE_DOCUMENT = "MATCH (d:Document {id: $docId}) DETACH DELETE d"

# `seq` orders runs recorded within the same second (`at` has seconds only; element ids of
# deleted nodes are reused, so they cannot).
RECORD_RUN = """
CREATE (r:IngestRun {id: $run.id})
SET r += $run, r.seq = COUNT { MATCH (:IngestRun) }
WITH r
UNWIND $documents AS docId
MATCH (d:Document {id: docId})
MERGE (r)-[:INGESTED]->(d)
"""

COUNTS = """
RETURN COUNT { MATCH (:Document) } AS documents,
       COUNT { MATCH (:Entity) } AS entities,
       COUNT { MATCH (:Entity)-[]->(:Entity) } AS relations
"""


# --- reads (graph/reader.py) -----------------------------------------------------------------
# Read-only statements for the dashboard. Filters arrive as parameters that may be null, so one
# statement serves every combination; labels and relation types in the text come from the
# ontology whitelist.

# TLP: every read takes `$allowed`, the markings the reader's clearance may see. A document
# is visible when its marking is allowed (a document without one is not); an entity when a
# visible document mentions it; a relation when a visible document supports it. Projections
# count and list only what is visible, so no hidden document leaks through a number.


def visible_entity(n: str) -> str:
    """An entity is visible when a readable document mentions it (its stored counts)."""
    return (f"any(i IN range(0, {len(TLP_LEVELS) - 1}) WHERE {_LEVELS}[i] IN $allowed "
            f"AND coalesce({n}.mentionCounts[i], 0) > 0)")


def visible_relation(r: str) -> str:
    """A relation is visible when a readable document supports it (its stored markings). Its
    lowest marking answers first without reading the list: a clearance reads a prefix of
    TLP_LEVELS, so that is the whole answer; the list keeps it exact for any `$allowed`."""
    return (f"({_LEVELS}[{r}.lowestSlot] IN $allowed "
            f"OR any(vm IN coalesce({r}.markings, []) WHERE vm IN $allowed))")


# The projection every read uses for an entity: its facets, and two importance measures.
# Aliases are those a visible passage uses (an alias seen only in a hidden document stays
# hidden); when every mention of the entity is visible, all of them, without a walk.
_NODE = (
    "{key: n.key, name: n.name, type: n.type, "
    f"aliases: CASE WHEN {_visible_sum('n.mentionCounts')} = {_total('n.mentionCounts')} "
    "THEN coalesce(n.aliases, []) "
    "ELSE [a IN coalesce(n.aliases, []) WHERE EXISTS { "
    "MATCH (n)<-[am:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(ad:Document) "
    "WHERE ad.tlp IN $allowed AND toLower(am.text) = toLower(a) }] END, "
    "sphere: n.sphere, status: n.status, kind: n.kind, curated: n.curated, "
    "wikidata: n.wikidata, "
    f"mentions: {_visible_sum('n.mentionCounts')}, "
    f"degree: {_visible_sum('n.degreeCounts')}}}"
)

# A relation's evidence and documents, only the visible ones; the weight of a relation that
# hidden documents also support is its visible evidence count.
_ALL_VISIBLE = "all(am IN coalesce(r.markings, []) WHERE am IN $allowed)"
_VISIBLE_EVIDENCE = (f"CASE WHEN {_ALL_VISIBLE} THEN coalesce(r.evidence, []) ELSE "
                     "COLLECT { UNWIND coalesce(r.evidence, []) AS ek "
                     "MATCH (ed:Document)-[:HAS_PASSAGE]->(:Passage {key: ek}) "
                     "WHERE ed.tlp IN $allowed RETURN ek } END")
_EDGE = (
    "{source: startNode(r).key, target: endNode(r).key, type: type(r), "
    f"weight: CASE WHEN {_ALL_VISIBLE} THEN r.weight "
    f"ELSE size({_VISIBLE_EVIDENCE}) END, "
    f"evidence: {_VISIBLE_EVIDENCE}, "
    "documents: [di IN range(0, size(coalesce(r.documents, [])) - 1) "
    "WHERE r.markings[di] IN $allowed | r.documents[di]]}"
)

# An edge passes the evidence filters when one of its evidence passages does: in the chosen
# document, tagged with the chosen theme, from a document dated inside the range.
_EVIDENCE_FILTER = """
($evidenceFiltered = false OR any(k IN coalesce(r.evidence, []) WHERE EXISTS {
    MATCH (d:Document)-[:HAS_PASSAGE]->(p:Passage {key: k})
    WHERE ($document IS NULL OR d.id = $document)
      AND ($theme IS NULL OR $theme IN coalesce(p.themes, []))
      AND ($dateFrom IS NULL OR d.date >= $dateFrom)
      AND ($dateTo IS NULL OR d.date <= $dateTo)
}))
"""

# Candidates are ranked and cut on stored properties; only the kept ones are projected.
# Candidates the full-text index hands over for ranking: the best `SEARCH_CANDIDATES` by
# Lucene score (whole-word matches are boosted over prefixes; among equal scores, the oldest
# entries first), so a three-letter prefix costs the same on a million relationships as on
# ten thousand: on the synthetic graph, "cyb" matches about 40 names at 10,000 relationships
# and 3,900 at 1,000,000, and ranking each candidate reads its stored counts.
SEARCH_CANDIDATES = 100

SEARCH_ENTITIES = f"""
CALL db.index.fulltext.queryNodes($index, $query, {{limit: {SEARCH_CANDIDATES}}})
YIELD node AS n, score
WHERE {visible_entity("n")}
WITH n, score, {_visible_sum("n.mentionCounts")} AS mentions
ORDER BY score DESC, mentions DESC, n.name
LIMIT $limit
RETURN {_NODE} AS node, score
ORDER BY score DESC, node.mentions DESC, node.name
"""

NODES_BY_KEYS = f"""
UNWIND $keys AS key
MATCH (n:{ENTITY_LABEL} {{key: key}})
WHERE {visible_entity("n")}
RETURN {_NODE} AS node
"""

# Neighbours rank by their degree as the reader counts it (the stored counts of the markings it
# may read: a relation only a higher marking states neither lifts a neighbour nor shows).
# An expansion ranks at most `NEIGHBOUR_SCAN` neighbours passing the filters, the first the
# store hands over (for a hub, its latest relations of each type); about as many as the
# largest hub has at 10,000 relationships. Below that, the page is the most connected
# neighbours of all and `total` is exact; above it, `capped` says there are more, and an
# expansion costs the same on a million relationships as on ten thousand.
NEIGHBOUR_SCAN = 200

_NEIGHBOURS = f"""
MATCH (e:{ENTITY_LABEL} {{key: $key}})-[r:__RELATIONS__]-(n:{ENTITY_LABEL})
WHERE n.key <> $key
  AND ($types IS NULL OR n.type IN $types)
  AND ($relations IS NULL OR type(r) IN $relations)
  AND {visible_relation("r")} AND {visible_entity("n")}
  AND {_EVIDENCE_FILTER}
WITH DISTINCT n LIMIT {NEIGHBOUR_SCAN + 1}
WITH collect(n) AS ns
CALL (ns) {{
  UNWIND ns[..{NEIGHBOUR_SCAN}] AS n
  WITH n ORDER BY {_visible_sum("n.degreeCounts")} DESC, n.name
  SKIP $skip LIMIT $limit
  RETURN collect(n.key) AS page
}}
RETURN CASE WHEN size(ns) > {NEIGHBOUR_SCAN} THEN {NEIGHBOUR_SCAN} ELSE size(ns) END AS total,
       size(ns) > {NEIGHBOUR_SCAN} AS capped, page
"""


@cache
def neighbours(onto: Ontology) -> str:
    """An entity's neighbours, a page at a time (`NEIGHBOUR_SCAN`). The pattern names the
    ontology's relation types, so a hub's passages (its `MENTIONS`, stored apart from its
    relations by type) are never walked: the cost does not grow with how often it is named."""
    return _NEIGHBOURS.replace("__RELATIONS__", "|".join(
        onto.check_relation(r) for r in onto.relation_types))

EDGES_AMONG = f"""
MATCH (n:{ENTITY_LABEL})-[r]->(m:{ENTITY_LABEL})
WHERE n.key IN $keys AND m.key IN $keys
  AND (n.key IN $touching OR m.key IN $touching)
  AND ($relations IS NULL OR type(r) IN $relations)
  AND {_EVIDENCE_FILTER}
  AND {visible_relation("r")}
RETURN {_EDGE} AS edge
ORDER BY edge.source, edge.type, edge.target
"""

ENTITY_QUOTES = f"""
MATCH (n:{ENTITY_LABEL} {{key: $key}})<-[m:MENTIONS]-(p:Passage)<-[:HAS_PASSAGE]-(d:Document)
WHERE d.tlp IN $allowed
WITH p, d, collect({{start: m.start - p.start, end: m.end - p.start}}) AS marks
RETURN p.key AS passage, p.text AS text, p.page AS page, p.index AS index,
       d.id AS docId, d.title AS title, d.issuer AS issuer, d.date AS date, d.source AS source,
       marks
ORDER BY d.date DESC, d.title, p.index
LIMIT $limit
"""

RELATION = f"""
MATCH (a:{ENTITY_LABEL} {{key: $source}})-[r]->(b:{ENTITY_LABEL} {{key: $target}})
WHERE type(r) = $type AND {visible_relation("r")}
RETURN {_EDGE} AS edge, r.method AS method
"""

EVIDENCE_QUOTES = f"""
UNWIND $passages AS k
MATCH (d:Document)-[:HAS_PASSAGE]->(p:Passage {{key: k}})
WHERE d.tlp IN $allowed
OPTIONAL MATCH (p)-[m:MENTIONS]->(x:{ENTITY_LABEL})
WHERE x.key IN $keys
WITH p, d, [mark IN collect({{start: m.start - p.start, end: m.end - p.start}})
            WHERE mark.start IS NOT NULL] AS marks
RETURN p.key AS passage, p.text AS text, p.page AS page, p.index AS index,
       d.id AS docId, d.title AS title, d.issuer AS issuer, d.date AS date, d.source AS source,
       marks
ORDER BY d.date DESC, d.title, p.index
LIMIT $limit
"""

DOCUMENTS = """
MATCH (d:Document)
WHERE d.tlp IN $allowed
RETURN d.id AS id, d.title AS title, d.issuer AS issuer, d.date AS date, d.source AS source,
       d.path AS path, d.tlp AS tlp,
       COUNT { (d)-[:HAS_PASSAGE]->(:Passage) } AS passages
ORDER BY d.date DESC, d.title
"""

DOCUMENT = """
MATCH (d:Document {id: $id})
WHERE d.tlp IN $allowed
RETURN d {.id, .title, .issuer, .date, .source, .path, .tlp, .format, .text, .pages} AS document
"""

DOCUMENT_MENTIONS = f"""
MATCH (d:Document {{id: $id}})-[:HAS_PASSAGE]->(:Passage)-[m:MENTIONS]->(e:{ENTITY_LABEL})
WHERE d.tlp IN $allowed
RETURN m.start AS start, m.end AS end, e.key AS key, e.name AS name, e.type AS type
ORDER BY m.start, m.end DESC
"""

# A document's place in ingest order: when it was ingested, as the writer (`ingestedAt`) or
# the earliest ingest run that took it in (`IngestRun.at`) recorded it; documents of the
# same run, or without a record, compare by publication date, then id.
def _ingest_order(d: str) -> str:
    runs = f"[(r:IngestRun)-[:INGESTED]->({d}) | datetime(r.at).epochMillis]"
    first = f"reduce(m = null, x IN {runs} | CASE WHEN m IS NULL OR x < m THEN x ELSE m END)"
    # epoch milliseconds as 13-digit strings sort like the instants (an ISO string drops a
    # zero fraction, which would sort it after the same second's other instants)
    when = f"toString(coalesce({d}.ingestedAt.epochMillis, {first}))"
    return f"[coalesce({when}, ''), coalesce({d}.date, ''), {d}.id]"


NEW_ENTITIES = f"""
MATCH (d:Document {{id: $id}})
WHERE d.tlp IN $allowed
WITH d, {_ingest_order("d")} AS mine
MATCH (d)-[:HAS_PASSAGE]->(:Passage)-[:MENTIONS]->(n:{ENTITY_LABEL})
WITH DISTINCT d, mine, n
WHERE NOT EXISTS {{
    MATCH (n)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(o:Document)
    WHERE o.id <> d.id AND o.tlp IN $allowed
    WITH o, {_ingest_order("o")} AS theirs
    WHERE theirs < mine
}}
RETURN {_NODE} AS node
ORDER BY node.type, node.name
"""

FACET_VALUES = """
MATCH (d:Document) WHERE d.date IS NOT NULL AND d.tlp IN $allowed
RETURN min(d.date) AS first, max(d.date) AS last
"""

# The subgraph of a lens: each body collects `nodes` and `rels`, which are made distinct
# here (an empty list of relations still yields one row) and returned as `keys` and `edges`.
_SUBGRAPH_RETURN = f"""
UNWIND nodes AS n WITH collect(DISTINCT n) AS nodes, rels
UNWIND CASE WHEN rels = [] THEN [null] ELSE rels END AS r
WITH nodes, collect(DISTINCT r) AS rels
WITH [x IN nodes WHERE x IS NOT NULL] AS nodes, [x IN rels WHERE x IS NOT NULL] AS rels
RETURN [n IN nodes | n.key] AS keys, [r IN rels | {_EDGE}] AS edges
"""


def lens_query(lens: str, onto: Ontology) -> str:
    """The statement of one lens (a theme id of the ontology); labels and relation types are
    checked against the ontology, facet values and theme ids arrive as parameters."""
    label = onto.check_label
    rel = onto.check_relation
    if lens == "civil-military":
        actor, ini = label("Actor"), label("Initiative")
        body = f"""
MATCH (m:{actor}) WHERE m.sphere IN $militarySpheres
OPTIONAL MATCH (m)-[r1]-(x)-[r2]-(c:{actor})
WHERE (x:{ini} OR x:{actor}) AND c <> m AND coalesce(c.sphere, $civil) = $civil
  AND type(r1) <> $fallback AND type(r2) <> $fallback
OPTIONAL MATCH (m)-[r3]-(c2:{actor})
WHERE coalesce(c2.sphere, $civil) = $civil AND type(r3) <> $fallback
WITH collect(m) + collect(x) + collect(c) + collect(c2) AS nodes,
     collect(r1) + collect(r2) + collect(r3) AS rels
"""
    elif lens == "actors":
        actor, threat = label("Actor"), label("Threat")
        body = f"""
MATCH (a:{actor})
WHERE a.status IN $statuses
  AND (a.status <> $state
       OR EXISTS {{ MATCH (a)-[x]-(:{threat}) WHERE type(x) <> $fallback }}
       OR EXISTS {{ (a)-[:{rel("TARGETS")}|{rel("CAUSED")}]->() }})
OPTIONAL MATCH (a)-[r1]-(t:{threat}) WHERE type(r1) <> $fallback
OPTIONAL MATCH (a)-[r2:{rel("TARGETS")}|{rel("CAUSED")}]->(v)
WITH collect(a) + collect(t) + collect(v) AS nodes, collect(r1) + collect(r2) AS rels
"""
    elif lens == "it-disruptions":
        event, sector = label("Event"), label("Sector")
        body = f"""
MATCH (ev:{event})
WHERE EXISTS {{ (ev)<-[:{rel("CAUSED")}]-() }}
   OR EXISTS {{ (ev)<-[:MENTIONS]-(p:Passage)<-[:HAS_PASSAGE]-(d:Document)
               WHERE $theme IN coalesce(p.themes, []) AND d.tlp IN $allowed }}
OPTIONAL MATCH (cause)-[r1:{rel("CAUSED")}]->(ev)
OPTIONAL MATCH (resp)-[r2:{rel("RESPONDS_TO")}]->(ev)
OPTIONAL MATCH (ev)-[r3]-(s:{sector})
OPTIONAL MATCH (cause)-[r4:{rel("TARGETS")}]->(s2:{sector})
WITH collect(ev) + collect(cause) + collect(resp) + collect(s) + collect(s2) AS nodes,
     collect(r1) + collect(r2) + collect(r3) + collect(r4) AS rels
"""
    elif lens == "healthcare":
        ini, fund = label("Initiative"), label("FundingInstrument")
        body = f"""
MATCH (h:{ENTITY_LABEL}) WHERE h.key IN $anchors
OPTIONAL MATCH (t)-[r1:{rel("TARGETS")}]->(h)
OPTIONAL MATCH (i:{ini})-[r2:{rel("COVERS")}]->(h)
OPTIONAL MATCH (f:{fund})-[r3:{rel("FUNDS")}]->(i)
OPTIONAL MATCH (i2:{ini})-[r4:{rel("ADDRESSES")}]->(t)
WITH collect(h) + collect(t) + collect(i) + collect(f) + collect(i2) AS nodes,
     collect(r1) + collect(r2) + collect(r3) + collect(r4) AS rels
"""
    elif lens == "skills":
        ini, fund = label("Initiative"), label("FundingInstrument")
        body = f"""
MATCH (s:{ENTITY_LABEL}) WHERE s.key IN $anchors
OPTIONAL MATCH (i:{ini})-[r1:{rel("ADDRESSES")}]->(s)
OPTIONAL MATCH (f:{fund})-[r2:{rel("FUNDS")}]->(i)
OPTIONAL MATCH (a)-[r3:{rel("LEADS")}|{rel("PARTICIPATES_IN")}]->(i)
WITH collect(s) + collect(i) + collect(f) + collect(a) AS nodes,
     collect(r1) + collect(r2) + collect(r3) AS rels
"""
    else:
        raise ValueError(f"unknown lens {lens!r}")
    return body + _SUBGRAPH_RETURN


# Fallback of a lens: the entities most mentioned in passages tagged with its theme.
THEME_ENTITIES = f"""
MATCH (d:Document)-[:HAS_PASSAGE]->(p:Passage)-[:MENTIONS]->(n:{ENTITY_LABEL})
WHERE $theme IN coalesce(p.themes, []) AND d.tlp IN $allowed
WITH n, count(*) AS hits
ORDER BY hits DESC, n.name
LIMIT $limit
RETURN collect(n.key) AS keys
"""


def shortest_paths(onto: Ontology, max_length: int, include_fallback: bool) -> str:
    """All shortest paths between two entities over the ontology's relation types only (never
    through passages), up to `max_length` hops; the fallback relation is optional."""
    if not 1 <= int(max_length) <= 10:
        raise ValueError("max_length must be between 1 and 10")
    types = [
        onto.check_relation(r.name)
        for r in onto.relation_types.values()
        if include_fallback or not r.fallback
    ]
    return f"""
MATCH (a:{ENTITY_LABEL} {{key: $source}}), (b:{ENTITY_LABEL} {{key: $target}})
MATCH p = allShortestPaths((a)-[:{"|".join(types)}*..{int(max_length)}]-(b))
WHERE all(r IN relationships(p) WHERE {visible_relation("r")})
WITH p LIMIT $limit
RETURN [n IN nodes(p) | n.key] AS keys, [r IN relationships(p) | {_EDGE}] AS edges
"""


# --- analytics, templates, export, history ---------------------------------------------------
# Reads for graph/analytics.py, graph/templates.py, graph/export.py and graph/history.py, and
# the few reads graph/writer.py needs to record what each ingest run changed.

# The writer asks, before and after a document goes in, which facts exist, so a run can record
# what it added and what it retracted (a replaced or removed document's orphaned facts).
ENTITIES_PRESENT = f"""
UNWIND $keys AS k
MATCH (e:{ENTITY_LABEL} {{key: k}})
RETURN collect(DISTINCT k) AS keys
"""

RELATIONS_PRESENT = f"""
UNWIND $rels AS rel
MATCH (a:{ENTITY_LABEL} {{key: rel.source}})-[r]->(b:{ENTITY_LABEL} {{key: rel.target}})
WHERE type(r) = rel.type
RETURN collect(DISTINCT rel.id) AS ids
"""

DOCUMENT_FACTS = f"""
OPTIONAL MATCH (:Document {{id: $docId}})-[:HAS_PASSAGE]->(:Passage)-[:MENTIONS]->(e:{ENTITY_LABEL})
WITH collect(DISTINCT e) AS entities
UNWIND CASE WHEN entities = [] THEN [null] ELSE entities END AS a
OPTIONAL MATCH (a)-[r]->(b:{ENTITY_LABEL})
WHERE $docId IN coalesce(r.documents, [])
RETURN [x IN entities | x.key] AS keys, collect(DISTINCT CASE WHEN r IS NULL THEN null ELSE
       {{source: a.key, type: type(r), target: b.key}} END) AS rels
"""

# What the analytics cache is keyed on: it changes whenever an ingest run or a removal does.
GRAPH_STAMP = """
OPTIONAL MATCH (run:IngestRun)
WITH run ORDER BY run.at DESC, coalesce(run.seq, -1) DESC,
         toInteger(last(split(elementId(run), ':'))) DESC LIMIT 1
RETURN run.id AS run,
       COUNT { MATCH (:Document) } AS documents,
       COUNT { MATCH (:Entity) } AS entities,
       COUNT { MATCH ()-[]->() } AS relationships
"""

# The entity graph for networkx: every entity, every relation between entities; `$keys`
# (null for the whole graph) narrows it to a view, `$relations` to some relation types.
SNAPSHOT_NODES = f"""
MATCH (n:{ENTITY_LABEL})
WHERE $keys IS NULL OR n.key IN $keys
RETURN n.key AS key, n.name AS name, n.type AS type,
       n.sphere AS sphere, n.status AS status, n.kind AS kind
ORDER BY key
"""

SNAPSHOT_EDGES = f"""
MATCH (a:{ENTITY_LABEL})-[r]->(b:{ENTITY_LABEL})
WHERE ($keys IS NULL OR (a.key IN $keys AND b.key IN $keys))
  AND ($relations IS NULL OR type(r) IN $relations)
RETURN a.key AS source, b.key AS target, type(r) AS type,
       coalesce(r.weight, 1) AS weight, size(coalesce(r.evidence, [])) AS evidence
ORDER BY source, type, target
"""

# Export: the same graph with every property; filters are null when unused.
EXPORT_NODES = f"""
MATCH (n:{ENTITY_LABEL})
WHERE ($types IS NULL OR n.type IN $types)
  AND ($document IS NULL OR EXISTS {{
        (n)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(:Document {{id: $document}}) }})
RETURN n.key AS key, n.name AS name, n.type AS type, coalesce(n.aliases, []) AS aliases,
       n.sphere AS sphere, n.status AS status, n.kind AS kind, n.curated AS curated,
       n.wikidata AS wikidata,
       COUNT {{ (n)<-[:MENTIONS]-(:Passage) }} AS mentions,
       COLLECT {{ MATCH (n)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(d:Document)
                 RETURN DISTINCT d.id ORDER BY d.id }} AS documents
ORDER BY key
"""

EXPORT_EDGES = f"""
MATCH (a:{ENTITY_LABEL})-[r]->(b:{ENTITY_LABEL})
WHERE ($relations IS NULL OR type(r) IN $relations)
  AND ($types IS NULL OR (a.type IN $types AND b.type IN $types))
  AND ($document IS NULL OR $document IN coalesce(r.documents, []))
RETURN a.key AS source, b.key AS target, type(r) AS type, r.weight AS weight,
       r.method AS method, coalesce(r.evidence, []) AS evidence,
       coalesce(r.documents, []) AS documents
ORDER BY source, type, target
"""

# Choices for typed template parameters.
ENTITY_CHOICES = f"""
MATCH (n:{ENTITY_LABEL})
WHERE $types IS NULL OR n.type IN $types
RETURN n.key AS value, n.name AS label, n.type AS type,
       COUNT {{ (n)<-[:MENTIONS]-(:Passage) }} AS mentions
ORDER BY mentions DESC, label
LIMIT $limit
"""

DOCUMENT_CHOICES = """
MATCH (d:Document)
RETURN d.id AS value, coalesce(d.title, d.path) AS label, d.date AS date
ORDER BY d.date DESC, label
"""

# History: every ingest run with what it recorded; the order is the order of the runs.
INGEST_RUNS = """
MATCH (r:IngestRun)
RETURN r.id AS id, r.at AS at, r.documents AS documents, r.failed AS failed,
       r.seconds AS seconds,
       r.addedEntities AS addedEntities, r.addedRelations AS addedRelations,
       r.retractedEntities AS retractedEntities, r.retractedRelations AS retractedRelations,
       [(r)-[:INGESTED]->(d:Document) | {id: d.id, title: coalesce(d.title, d.path)}] AS ingested
ORDER BY r.at, coalesce(r.seq, -1), toInteger(last(split(elementId(r), ':')))
"""

ENTITY_NAMES = f"""
UNWIND $keys AS k
MATCH (n:{ENTITY_LABEL} {{key: k}})
RETURN n.key AS key, n.name AS name, n.type AS type
"""


def template_queries(onto: Ontology) -> dict[str, str]:
    """The Cypher of the question templates (graph/templates.py), by template id. The text is
    shown in the console's library and must run as written there; labels and relation types
    come from the ontology's whitelist."""
    lab, rel = onto.check_label, onto.check_relation
    actor, ini, fund = lab("Actor"), lab("Initiative"), lab("FundingInstrument")
    sector, threat, event = lab("Sector"), lab("Threat"), lab("Event")
    funds, leads, part = rel("FUNDS"), rel("LEADS"), rel("PARTICIPATES_IN")
    targets, addresses, covers = rel("TARGETS"), rel("ADDRESSES"), rel("COVERS")
    coop, member, responds, caused = (rel("COOPERATES_WITH"), rel("MEMBER_OF"),
                                      rel("RESPONDS_TO"), rel("CAUSED"))
    typed = "|".join(rel(r.name) for r in onto.relation_types.values() if not r.fallback)
    e = ENTITY_LABEL
    return {
        "who-funds": f"""
MATCH (x:{e} {{key: $entity}}), (f:{fund})-[r:{funds}]->(t:{e})
WHERE t = x OR EXISTS {{ (x)-[:{leads}|{part}]->(t:{ini}) }}
RETURN f.name AS funder,
       CASE WHEN t = x THEN 'directly' ELSE 'through ' + t.name END AS route,
       size(r.evidence) AS evidence, f.key AS key
ORDER BY evidence DESC, funder""",
        "bodies-on-threat-in-sector": f"""
MATCH (t:{threat} {{key: $threat}}), (s:{sector} {{key: $sector}})
MATCH (a:{actor})-[role:{leads}|{part}]->(i:{ini})
WHERE EXISTS {{ (i)-[:{addresses}]->(t) }} OR EXISTS {{ (i)-[:{covers}]->(s) }}
WITH a, i, type(role) AS role,
     EXISTS {{ (i)-[:{addresses}]->(t) }} AS onThreat, EXISTS {{ (i)-[:{covers}]->(s) }} AS inSector
RETURN a.name AS body, role, i.name AS initiative, onThreat, inSector, a.sphere AS sphere,
       a.key AS key
ORDER BY (onThreat AND inSector) DESC, body, initiative""",
        "what-links": f"""
MATCH (a:{e} {{key: $source}}), (b:{e} {{key: $target}})
MATCH p = allShortestPaths((a)-[:{typed}*..4]-(b))
RETURN [n IN nodes(p) | n.name] AS chain, [r IN relationships(p) | type(r)] AS relations, p
LIMIT 25""",
        "introduced-by-document": f"""
MATCH (d:Document {{id: $document}})-[:HAS_PASSAGE]->(:Passage)-[:MENTIONS]->(i:{ini})
WITH d, i, count(*) AS mentions
WHERE NOT EXISTS {{
  MATCH (i)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(o:Document)
  WHERE o.id <> d.id AND o.date < d.date }}
RETURN i.name AS initiative, i.kind AS kind, mentions,
       size(COLLECT {{ MATCH (i)<-[:MENTIONS]-(:Passage)<-[:HAS_PASSAGE]-(o:Document)
                      WHERE o.id <> d.id RETURN DISTINCT o.id }}) AS laterDocuments,
       i.key AS key
ORDER BY mentions DESC, initiative""",
        "who-runs-initiative": f"""
MATCH (a:{actor})-[r:{leads}|{part}]->(i:{ini} {{key: $initiative}})
RETURN a.name AS body, type(r) AS role, a.sphere AS sphere, a.status AS status,
       size(r.evidence) AS evidence, a.key AS key
ORDER BY role, evidence DESC, body""",
        "threats-to-sector": f"""
MATCH (t)-[r:{targets}]->(s:{sector} {{key: $sector}})
RETURN t.name AS threat, t.type AS type, size(r.evidence) AS evidence,
       COLLECT {{ MATCH (i:{ini})-[:{addresses}]->(t) WHERE (i)-[:{covers}]->(s)
                 RETURN i.name ORDER BY i.name }} AS answeredBy,
       t.key AS key
ORDER BY evidence DESC, threat""",
        "initiatives-for-sector": f"""
MATCH (i:{ini})-[r:{covers}]->(s:{sector} {{key: $sector}})
RETURN i.name AS initiative, i.kind AS kind,
       COLLECT {{ MATCH (i)-[:{addresses}]->(t:{threat}) RETURN t.name ORDER BY t.name }}
         AS threats,
       COLLECT {{ MATCH (f:{fund})-[:{funds}]->(i) RETURN f.name ORDER BY f.name }} AS funders,
       size(r.evidence) AS evidence, i.key AS key
ORDER BY evidence DESC, initiative""",
        "initiatives-on-threat": f"""
MATCH (i:{ini})-[r:{addresses}]->(t:{threat} {{key: $threat}})
RETURN i.name AS initiative, i.kind AS kind,
       COLLECT {{ MATCH (a:{actor})-[:{leads}|{part}]->(i) RETURN a.name ORDER BY a.name }}
         AS bodies,
       COLLECT {{ MATCH (f:{fund})-[:{funds}]->(i) RETURN f.name ORDER BY f.name }} AS funders,
       size(r.evidence) AS evidence, i.key AS key
ORDER BY evidence DESC, initiative""",
        "civil-military-links": f"""
MATCH (m:{actor})-[r:{coop}|{member}]-(c:{actor})
WHERE m.sphere = 'military' AND coalesce(c.sphere, 'civil') IN ['civil', 'civil-military']
RETURN m.name AS military, type(r) AS relation, c.name AS civil, size(r.evidence) AS evidence,
       m.key AS key, c.key AS otherKey
ORDER BY evidence DESC, military, civil""",
        "hostile-actors": f"""
MATCH (a:{actor})
WHERE a.status IN ['criminal', 'state-sponsored']
RETURN a.name AS actor, a.status AS status,
       COLLECT {{ MATCH (a)-[:{targets}]->(v) RETURN v.name ORDER BY v.name }} AS targets,
       COLLECT {{ MATCH (a)-[:{caused}]->(ev:{event}) RETURN ev.name ORDER BY ev.name }} AS caused,
       COUNT {{ (a)<-[:MENTIONS]-(:Passage) }} AS mentions, a.key AS key
ORDER BY mentions DESC, actor""",
        "responses-to-event": f"""
MATCH (ev:{event} {{key: $event}})-[r:{responds}|{caused}]-(x:{e})
RETURN x.name AS party, x.type AS type,
       CASE type(r) WHEN '{caused}' THEN 'caused' ELSE 'responded' END AS role,
       size(r.evidence) AS evidence, x.key AS key
ORDER BY role, evidence DESC, party""",
        "documents-mentioning": f"""
MATCH (d:Document)-[:HAS_PASSAGE]->(p:Passage)-[:MENTIONS]->(x:{e} {{key: $entity}})
WITH d, p ORDER BY p.index
WITH d, count(p) AS mentions, head(collect(p.text)) AS firstPassage
RETURN d.title AS document, d.date AS date, mentions, firstPassage, d.id AS docId
ORDER BY mentions DESC, date DESC""",
    }


# --- backup and restore ----------------------------------------------------------------------
# graph/backup.py: a dump of every node and relationship, and its restore into an empty
# database. Nodes are found again by their constraint-backed key, so a restore needs no
# temporary ids; labels and relationship types in restore statements are whitelisted first.

# The key property of each structural label; an entity carries the Entity label with `key`.
BACKUP_NODE_KEYS = {"Document": "id", "Passage": "key", "IngestRun": "id", ENTITY_LABEL: "key"}
BACKUP_STRUCTURE_RELATIONS = ("HAS_PASSAGE", "MENTIONS", "INGESTED")

BACKUP_NODES = "MATCH (n) RETURN elementId(n) AS id, labels(n) AS labels, properties(n) AS props"

BACKUP_RELATIONSHIPS = """
MATCH (a)-[r]->(b)
RETURN elementId(a) AS start, elementId(b) AS end, type(r) AS type, properties(r) AS props
"""

DATABASE_IS_EMPTY = "RETURN NOT EXISTS { MATCH (n) } AS empty"

WIPE_BATCH = "MATCH (n) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"


def restore_nodes(labels: list[str], allowed: set[str]) -> str:
    """Create nodes of one label set, each with its dumped properties."""
    for label in labels:
        if label not in allowed:
            raise ValueError(f"label {label!r} is not in the whitelist")
    return f"UNWIND $rows AS row CREATE (n:{':'.join(labels)}) SET n = row RETURN count(n) AS n"


def restore_relationships(rel_type: str, start: str, end: str, allowed: set[str]) -> str:
    """Create relationships of one type between nodes found by their key labels."""
    for name in (rel_type, start, end):
        if name not in allowed:
            raise ValueError(f"{name!r} is not in the whitelist")
    start_key, end_key = BACKUP_NODE_KEYS[start], BACKUP_NODE_KEYS[end]
    return f"""
UNWIND $rows AS row
MATCH (a:{start} {{{start_key}: row.start}})
MATCH (b:{end} {{{end_key}: row.end}})
CREATE (a)-[r:{rel_type}]->(b)
SET r = row.props
RETURN count(r) AS n
"""


# `policykg remove`: a document by id, id prefix or path.
DOCUMENTS_MATCHING = """
MATCH (d:Document)
WHERE d.id = $ref OR d.id STARTS WITH $prefix OR d.path IN $paths
RETURN d.id AS id, d.path AS path, d.title AS title
ORDER BY d.path, d.id
"""


# --- bench -----------------------------------------------------------------------------------
# The row-by-row baseline graph/bench.py judges the writer against sends these (with
# `merge_entities` and `merge_relations`), one row per statement.

MERGE_DOCUMENT = """
MERGE (d:Document {id: $doc.id})
SET d += $doc, d.ingestedAt = datetime()
"""

CREATE_PASSAGES = """
MATCH (d:Document {id: $docId})
UNWIND $rows AS row
CREATE (p:Passage {key: row.key})
SET p += row
CREATE (d)-[:HAS_PASSAGE]->(p)
"""

CREATE_MENTIONS = f"""
UNWIND $rows AS row
MATCH (p:Passage {{key: row.passage}})
MATCH (e:{ENTITY_LABEL} {{key: row.entity}})
CREATE (p)-[:MENTIONS {{start: row.start, end: row.end, text: row.text}}]->(e)
"""

BENCH_GRAPH_SIZE = """
CALL () { MATCH ()-[r]->() RETURN count(r) AS relationships }
CALL () { MATCH (n) RETURN count(n) AS nodes }
RETURN nodes, relationships
"""

# Entities to start a search, an expansion or a path from, spread over the degree range.
BENCH_SAMPLE_ENTITIES = f"""
MATCH (e:{ENTITY_LABEL})
WITH e, COUNT {{ (e)--(:{ENTITY_LABEL}) }} AS degree
WHERE degree > 0
RETURN e.key AS key, e.name AS name, degree
ORDER BY degree DESC, e.key
"""

# Relationships first, then nodes, each in small transactions: a hub's thousands of
# relationships never land in one transaction.
BENCH_WIPE_RELATIONSHIPS = """
MATCH ()-[r]->()
CALL (r) { DELETE r } IN TRANSACTIONS OF 10000 ROWS
"""

BENCH_WIPE_NODES = """
MATCH (n)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
"""

# Canonical content of the graph (every node but ingest runs, every relationship between
# them), for checking that different ways of ingesting give the same graph.
BENCH_DUMP_NODES = """
MATCH (n) WHERE NOT n:IngestRun
RETURN labels(n) AS labels, properties(n) AS properties
"""

BENCH_DUMP_RELATIONSHIPS = """
MATCH (a)-[r]->(b) WHERE NOT a:IngestRun AND NOT b:IngestRun
RETURN coalesce(a.key, a.id) AS source, type(r) AS type, coalesce(b.key, b.id) AS target,
       properties(r) AS properties
"""


# --- accounts --------------------------------------------------------------------------------
# Dashboard accounts are not in the graph (graph/accounts.py keeps them in a file owned by the
# app server, out of reach of the Cypher console, backups and wipes).

# The TLP markings present in the graph: the console and the analytics page, which cannot be
# filtered, open only to users cleared for all of them (a document without a marking counts
# as RED).
MARKINGS_PRESENT = """
MATCH (d:Document)
RETURN collect(DISTINCT coalesce(d.tlp, 'RED')) AS markings
"""
