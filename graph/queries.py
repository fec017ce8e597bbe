"""Every Cypher statement policykg sends, as named builders.

Values are always parameters; labels and relationship types are interpolated only after the
ontology's whitelist has checked them (`Ontology.check_label` / `check_relation`).
"""

from __future__ import annotations

from graph.ontology import ENTITY_LABEL, Ontology

FULLTEXT_INDEX = "entitySearch"

# --- schema ---------------------------------------------------------------------------------


def schema_statements(onto: Ontology) -> list[str]:
    """Constraints and indexes, each idempotent (IF NOT EXISTS)."""
    statements = [
        "CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE",
        "CREATE INDEX document_path IF NOT EXISTS FOR (d:Document) ON (d.path)",
        "CREATE CONSTRAINT passage_key IF NOT EXISTS FOR (p:Passage) REQUIRE p.key IS UNIQUE",
        f"CREATE CONSTRAINT entity_key IF NOT EXISTS FOR (e:{ENTITY_LABEL}) REQUIRE e.key IS UNIQUE",
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


# --- writes (used by graph/writer.py only) ---------------------------------------------------

DOCUMENT_BY_ID = "MATCH (d:Document {id: $id}) RETURN d.id AS id"

DOCUMENTS_BY_PATH = "MATCH (d:Document {path: $path}) WHERE d.id <> $id RETURN d.id AS id"

MERGE_DOCUMENT = """
MERGE (d:Document {id: $doc.id})
SET d += $doc
"""

CREATE_PASSAGES = """
MATCH (d:Document {id: $docId})
UNWIND $rows AS row
CREATE (p:Passage {key: row.key})
SET p += row
CREATE (d)-[:HAS_PASSAGE]->(p)
"""


def merge_entities(label: str, onto: Ontology) -> str:
    """Entities of one type: created once, then their aliases and facets accumulate."""
    onto.check_label(label)
    return f"""
UNWIND $rows AS row
MERGE (e:{label} {{key: row.key}})
ON CREATE SET e:{ENTITY_LABEL}, e.name = row.name, e.type = row.type, e.aliases = [],
              e.curated = false, e.method = row.method
WITH e, row,
     reduce(acc = coalesce(e.aliases, []), a IN row.aliases |
            CASE WHEN a IN acc OR a = e.name THEN acc ELSE acc + a END) AS aliases
SET e += row.facets,
    e.aliases = aliases,
    e.searchText = reduce(s = e.name, a IN aliases | s + ' | ' + a),
    e.curated = e.curated OR row.curated,
    e.wikidata = coalesce(e.wikidata, row.wikidata)
"""


CREATE_MENTIONS = f"""
UNWIND $rows AS row
MATCH (p:Passage {{key: row.passage}})
MATCH (e:{ENTITY_LABEL} {{key: row.entity}})
CREATE (p)-[:MENTIONS {{start: row.start, end: row.end, text: row.text}}]->(e)
"""


def merge_relations(rel_type: str, onto: Ontology) -> str:
    """Relations of one type: one edge per pair, evidence lists grow with each document."""
    onto.check_relation(rel_type)
    return f"""
UNWIND $rows AS row
MATCH (a:{ENTITY_LABEL} {{key: row.source}})
MATCH (b:{ENTITY_LABEL} {{key: row.target}})
MERGE (a)-[r:{rel_type}]->(b)
ON CREATE SET r.evidence = [], r.documents = [], r.weight = 0
SET r.evidence = r.evidence + row.evidence,
    r.documents = r.documents + [row.docId],
    r.weight = r.weight + row.weight,
    r.method = row.method
"""


# Withdrawing a document keeps every fact that another document still supports.
WITHDRAW_RELATIONS = """
MATCH (:Entity)-[r]->(:Entity)
WHERE $docId IN r.documents
WITH r, [k IN r.evidence WHERE NOT k STARTS WITH $docId + ':'] AS kept
SET r.evidence = kept,
    r.documents = [x IN r.documents WHERE x <> $docId],
    r.weight = CASE WHEN type(r) = $fallback THEN size(kept) ELSE r.weight END
WITH r WHERE size(r.documents) = 0
DELETE r
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

RECORD_RUN = """
CREATE (r:IngestRun {id: $run.id})
SET r += $run
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
