"""The one writer: turns extraction records into rows and sends each document in a few
`UNWIND` batches inside one transaction, so a crash leaves either all of a document or none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from neo4j import Driver, ManagedTransaction

from graph import queries
from graph.ontology import Ontology
from ingest.records import Document, Extraction


@dataclass(frozen=True, slots=True)
class WriteResult:
    document: str
    written: bool  # False when the same content was already in the graph
    replaced: tuple[str, ...] = ()  # ids of earlier versions of the same path
    entities: int = 0
    relations: int = 0


def passage_key(doc_id: str, index: int) -> str:
    return f"{doc_id}:{index}"


def document_row(doc: Document) -> dict[str, Any]:
    return {
        "id": doc.id,
        "path": doc.path,
        "title": doc.title,
        "format": doc.format,
        "issuer": doc.issuer,
        "date": doc.date,
        "source": doc.source,
        "tlp": doc.tlp,
        "text": doc.text,
        "pages": len(doc.page_starts) or None,
    }


def passage_rows(ex: Extraction) -> list[dict[str, Any]]:
    doc_id = ex.document.id
    return [
        {
            "key": passage_key(doc_id, p.index),
            "docId": doc_id,
            "index": p.index,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "page": p.page,
            "themes": list(p.themes),
        }
        for p in ex.passages
    ]


def entity_rows(ex: Extraction) -> dict[str, list[dict[str, Any]]]:
    """Rows grouped by label, since a label cannot be a parameter."""
    by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in ex.entities:
        by_label[e.type].append(
            {
                "key": e.key,
                "name": e.name,
                "type": e.type,
                "aliases": list(e.aliases),
                "facets": dict(e.facets),
                "curated": e.curated,
                "method": e.method,
                "wikidata": e.wikidata,
            }
        )
    return by_label


def mention_rows(ex: Extraction) -> list[dict[str, Any]]:
    doc_id = ex.document.id
    return [
        {
            "passage": passage_key(doc_id, m.passage),
            "entity": e.key,
            "start": m.start,
            "end": m.end,
            "text": m.text,
        }
        for e in ex.entities
        for m in e.mentions
    ]


def relation_rows(ex: Extraction) -> dict[str, list[dict[str, Any]]]:
    doc_id = ex.document.id
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in ex.relations:
        by_type[r.type].append(
            {
                "source": r.source,
                "target": r.target,
                "docId": doc_id,
                "evidence": sorted({passage_key(doc_id, ev.passage) for ev in r.evidence}),
                "weight": r.weight,
                "method": r.method,
            }
        )
    return by_type


class GraphWriter:
    """Owns every write to the graph; the driver is passed in."""

    def __init__(self, driver: Driver, ontology: Ontology, database: str | None = None) -> None:
        self.driver = driver
        self.ontology = ontology
        self.database = database

    def ensure_schema(self) -> None:
        for statement in queries.schema_statements(self.ontology):
            self.driver.execute_query(statement, database_=self.database)

    def write(self, extraction: Extraction) -> WriteResult:
        with self.driver.session(database=self.database) as session:
            return session.execute_write(self._write_tx, extraction)

    def write_many(self, extractions: Iterable[Extraction]) -> list[WriteResult]:
        return [self.write(ex) for ex in extractions]

    def remove(self, doc_id: str) -> bool:
        """Withdraw a document and every fact that rested on it alone."""
        with self.driver.session(database=self.database) as session:
            return session.execute_write(self._remove_tx, doc_id)

    def record_run(self, run: dict[str, Any], documents: Sequence[str]) -> None:
        self.driver.execute_query(
            queries.RECORD_RUN, run=run, documents=list(documents), database_=self.database
        )

    def _remove_tx(self, tx: ManagedTransaction, doc_id: str) -> bool:
        if tx.run(queries.DOCUMENT_BY_ID, id=doc_id).single() is None:
            return False
        fallback = self.ontology.fallback_relation
        tx.run(queries.WITHDRAW_RELATIONS, docId=doc_id, fallback=fallback).consume()
        tx.run(queries.DELETE_PASSAGES, docId=doc_id).consume()
        tx.run(queries.DELETE_DOCUMENT, docId=doc_id).consume()
        return True

    def _write_tx(self, tx: ManagedTransaction, ex: Extraction) -> WriteResult:
        doc = ex.document
        if tx.run(queries.DOCUMENT_BY_ID, id=doc.id).single() is not None:
            return WriteResult(doc.id, written=False)
        replaced = tuple(
            r["id"] for r in tx.run(queries.DOCUMENTS_BY_PATH, path=doc.path, id=doc.id)
        )
        for old in replaced:
            self._remove_tx(tx, old)
        tx.run(queries.MERGE_DOCUMENT, doc=document_row(doc)).consume()
        tx.run(queries.CREATE_PASSAGES, docId=doc.id, rows=passage_rows(ex)).consume()
        for label, rows in entity_rows(ex).items():
            tx.run(queries.merge_entities(label, self.ontology), rows=rows).consume()
        tx.run(queries.CREATE_MENTIONS, rows=mention_rows(ex)).consume()
        for rel_type, rows in relation_rows(ex).items():
            tx.run(queries.merge_relations(rel_type, self.ontology), rows=rows).consume()
        return WriteResult(doc.id, True, replaced, len(ex.entities), len(ex.relations))
