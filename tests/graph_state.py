"""Helpers for the trust tests: a fingerprint of everything a hostile query could change
(graph, schema, tokens, users, databases) and a canonical dump for graph comparisons."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from graph.backup import canonical_dump

# Run history is a log of runs, not facts: a run killed mid-batch never records itself, so
# IngestRun nodes and their INGESTED edges differ between a clean and a crashed ingest.
VOLATILE_LABELS = ("IngestRun",)
VOLATILE_RELATIONS = ("INGESTED",)
VOLATILE_PROPERTIES = ("ingestedAt",)


def graph_dump(driver: Any, database: str | None = None) -> dict[str, list[str]]:
    """The canonical graph without run history and timestamps."""
    return canonical_dump(driver, database, skip_labels=VOLATILE_LABELS,
                          skip_relations=VOLATILE_RELATIONS, skip_properties=VOLATILE_PROPERTIES)


def _rows(driver: Any, cypher: str, database: str | None = None) -> list[str]:
    records, _, _ = driver.execute_query(cypher, database_=database)
    return sorted(json.dumps(r.data(), sort_keys=True, default=str) for r in records)


def fingerprint(driver: Any) -> dict[str, Any]:
    """Counts plus a checksum over the whole graph, the schema, the token sets, the users
    and the databases."""
    counts = driver.execute_query(
        "RETURN COUNT { MATCH (n) } AS nodes, COUNT { MATCH ()-[r]->() } AS relationships"
    )[0][0].data()
    parts = {
        "graph": canonical_dump(driver),
        "indexes": _rows(driver, "SHOW INDEXES YIELD name, type, labelsOrTypes, properties "
                                 "RETURN *"),
        "constraints": _rows(driver, "SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, "
                                     "properties RETURN *"),
        "labels": _rows(driver, "CALL db.labels()"),
        "types": _rows(driver, "CALL db.relationshipTypes()"),
        "keys": _rows(driver, "CALL db.propertyKeys()"),
        "users": _rows(driver, "SHOW USERS YIELD user, roles, passwordChangeRequired, suspended "
                               "RETURN *", "system"),
        "databases": _rows(driver, "SHOW DATABASES YIELD name, currentStatus, access RETURN *",
                           "system"),
    }
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return {**counts, "checksum": digest, "parts": parts}
