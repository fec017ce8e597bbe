"""Finding stored documents by what a user types: a full id, an id prefix or a file path."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from neo4j import Driver, RoutingControl

from graph import queries

MIN_PREFIX = 6  # shorter hex prefixes match too much to be a deliberate choice


@dataclass(frozen=True, slots=True)
class StoredDocument:
    id: str
    path: str
    title: str | None


def path_forms(ref: str) -> list[str]:
    """The spellings a path may have been stored under: as typed, normalised, absolute and
    relative to the working folder (ingest stores the path as given on its command line)."""
    path = Path(ref)
    forms = {ref, str(path), os.path.normpath(ref), str(path.resolve())}
    with contextlib.suppress(ValueError):
        forms.add(str(path.resolve().relative_to(Path.cwd())))
    return sorted(forms)


def find_documents(driver: Driver, ref: str, database: str | None = None) -> list[StoredDocument]:
    """Documents whose id is `ref`, whose id starts with `ref` (at least six characters), or
    whose stored path is `ref` in one of its spellings."""
    ref = ref.strip()
    if not ref:
        return []
    prefix = ref.lower() if len(ref) >= MIN_PREFIX else "\x00"  # never a prefix of an id
    records, _, _ = driver.execute_query(
        queries.DOCUMENTS_MATCHING, ref=ref, prefix=prefix, paths=path_forms(ref),
        database_=database, routing_=RoutingControl.READ,
    )
    found = [StoredDocument(r["id"], r["path"], r["title"]) for r in records]
    exact = [d for d in found if d.id == ref]
    return exact or found
