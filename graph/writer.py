"""The one writer: turns extraction records into rows and sends each document in a few
`UNWIND` batches inside one transaction, so a crash leaves either all of a document or none.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from neo4j import Driver, ManagedTransaction

from graph import queries
from graph.ontology import Ontology
from ingest.records import Document, Extraction

ROWS_PER_STATEMENT = 10_000  # keeps one statement's parameters and transaction state modest


@dataclass(frozen=True, slots=True)
class WriteResult:
    document: str
    written: bool  # False when the same content was already in the graph
    replaced: tuple[str, ...] = ()  # ids of earlier versions of the same path
    entities: int = 0
    relations: int = 0
    # What this write changed in the graph (graph/history.py reads them back from the run):
    # entity keys and relation ids ("source|TYPE|target") that did not exist before, and those
    # that a replaced document alone had supported and that are now gone.
    added_entities: tuple[str, ...] = ()
    added_relations: tuple[str, ...] = ()
    retracted_entities: tuple[str, ...] = ()
    retracted_relations: tuple[str, ...] = ()


@dataclass
class RunChanges:
    """Changes accumulated by a writer since its last recorded run."""

    added_entities: set[str] = field(default_factory=set)
    added_relations: set[str] = field(default_factory=set)
    retracted_entities: set[str] = field(default_factory=set)
    retracted_relations: set[str] = field(default_factory=set)

    def add(self, added: tuple[Iterable[str], Iterable[str]],
            retracted: tuple[Iterable[str], Iterable[str]]) -> None:
        """Fold one write in; a fact added then retracted in the same run (or the reverse)
        cancels out, so the run records its net change."""
        pairs = ((self.added_entities, self.retracted_entities),
                 (self.added_relations, self.retracted_relations))
        for (plus, minus), gone in zip(pairs, retracted, strict=True):
            for item in gone:
                if item in plus:
                    plus.discard(item)
                else:
                    minus.add(item)
        for (plus, minus), new in zip(pairs, added, strict=True):
            for item in new:
                if item in minus:
                    minus.discard(item)
                else:
                    plus.add(item)

    def as_run_properties(self) -> dict[str, list[str]]:
        return {
            "addedEntities": sorted(self.added_entities),
            "addedRelations": sorted(self.added_relations),
            "retractedEntities": sorted(self.retracted_entities),
            "retractedRelations": sorted(self.retracted_relations),
        }


def relation_id(source: str, rel_type: str, target: str) -> str:
    """How a run records a relation: its two entity keys and its type."""
    return f"{source}|{rel_type}|{target}"


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
    slot = queries.marking_slot(ex.document.tlp)
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
                "counts": [len(e.mentions) if i == slot else 0  # its mentions, by marking
                           for i in range(queries.MARKING_SLOTS)],
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
    slot = queries.marking_slot(ex.document.tlp)
    marking = ex.document.tlp or ""  # no marking: no clearance reads it
    for r in ex.relations:
        by_type[r.type].append(
            {
                "source": r.source,
                "target": r.target,
                "documents": [doc_id],
                "evidence": sorted({passage_key(doc_id, ev.passage) for ev in r.evidence}),
                "weight": r.weight,
                "method": r.method,
                "slot": slot,
                "markings": [marking],
            }
        )
    return by_type


def pool_entity_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per entity key from the rows of several documents, in first-seen order, as if
    they were written one document after the other: the first row names and creates the
    entity, aliases are united, counts summed, facets overlaid, `curated` if any row is."""
    pooled: dict[str, dict[str, Any]] = {}
    for row in rows:
        have = pooled.get(row["key"])
        if have is None:
            pooled[row["key"]] = {**row, "aliases": list(dict.fromkeys(row["aliases"])),
                                  "facets": dict(row["facets"]), "counts": list(row["counts"])}
            continue
        have["aliases"] = list(dict.fromkeys([*have["aliases"], *row["aliases"]]))
        have["facets"].update(row["facets"])
        have["curated"] = have["curated"] or row["curated"]
        have["wikidata"] = have["wikidata"] or row["wikidata"]
        have["counts"] = [a + b for a, b in zip(have["counts"], row["counts"], strict=True)]
    return list(pooled.values())


def pool_relation_rows(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (source, target) pair of one relation type from the rows of several
    documents, their evidence, documents and markings concatenated in input order, weights
    summed, the lowest slot kept: what writing them one document after the other leaves."""
    pooled: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        pair = (row["source"], row["target"])
        have = pooled.get(pair)
        if have is None:
            pooled[pair] = {**row, "evidence": list(row["evidence"]),
                            "documents": list(row["documents"]), "markings": list(row["markings"])}
            continue
        have["evidence"] += row["evidence"]
        have["documents"] += row["documents"]
        have["markings"] += row["markings"]
        have["weight"] += row["weight"]
        have["slot"] = min(have["slot"], row["slot"])
        have["method"] = row["method"]
    return list(pooled.values())


class GraphWriter:
    """Owns every write to the graph; the driver is passed in."""

    def __init__(self, driver: Driver, ontology: Ontology, database: str | None = None) -> None:
        self.driver = driver
        self.ontology = ontology
        self.database = database
        self.changes = RunChanges()
        # one text each for every document, so the server plans them once
        self._merge_entities = queries.merge_all_entities(ontology)
        self._merge_relations = queries.merge_all_relations(ontology)

    def ensure_schema(self) -> None:
        for statement in queries.schema_statements(self.ontology):
            self.driver.execute_query(statement, database_=self.database)
        # entities written before the writer kept their counts get them now (none after that)
        for statement in (queries.BACKFILL_RELATIONS, queries.BACKFILL_ENTITIES):
            self.driver.execute_query(statement, database_=self.database)

    def write(self, extraction: Extraction) -> WriteResult:
        with self.driver.session(database=self.database) as session:
            result = session.execute_write(self._write_tx, extraction)
        self.changes.add((result.added_entities, result.added_relations),
                         (result.retracted_entities, result.retracted_relations))
        return result

    def write_batch(self, extractions: Sequence[Extraction], *,
                    rows_per_statement: int = ROWS_PER_STATEMENT,
                    audit: bool = True) -> list[WriteResult]:
        """Several documents in one transaction, their rows pooled into `UNWIND` statements of
        up to `rows_per_statement` rows: the bulk path (synthetic graphs, large corpora).

        Each document is still all-or-nothing (the batch is one transaction). Documents
        already in the graph are skipped as in `write`; one that replaces an earlier version
        of its path, or repeats another document of the batch, goes through `write` on its own.
        `audit=False` skips the added-facts bookkeeping of `changes`, for builds that record
        no ingest run.
        """
        done = self._commit_batch(extractions, rows_per_statement, audit)
        return [r for r in self._one_by_one(extractions, done, isolate=False)
                if isinstance(r, WriteResult)]

    def write_isolated(self, extractions: Sequence[Extraction]) -> list[WriteResult | Exception]:
        """Ingest's path: the documents waiting for the writer in one batch transaction (one
        commit instead of one each), yet a bad document costs only itself. When the batch
        transaction fails, nothing of it is in the graph and each document is written on its
        own; a document that still fails has its exception in its place of the result."""
        try:
            done = self._commit_batch(extractions, ROWS_PER_STATEMENT, True)
        except Exception:  # noqa: BLE001 - rolled back whole; each document retried alone
            done = {}
        return self._one_by_one(extractions, done, isolate=True)

    def _commit_batch(self, extractions: Sequence[Extraction], rows_per_statement: int,
                      audit: bool) -> dict[str, WriteResult]:
        with self.driver.session(database=self.database) as session:
            done = session.execute_write(
                self._write_batch_tx, list(extractions), rows_per_statement, audit)
        if audit:
            for r in done.values():
                self.changes.add((r.added_entities, r.added_relations), ((), ()))
        return done

    def _one_by_one(self, extractions: Sequence[Extraction], done: dict[str, WriteResult], *,
                    isolate: bool) -> list[WriteResult | Exception]:
        """Results in input order; what the batch left out goes through `write`, one by one."""
        out: list[WriteResult | Exception] = []
        seen: set[str] = set()
        for ex in extractions:
            doc_id = ex.document.id
            if doc_id in seen:
                out.append(WriteResult(doc_id, written=False))
                continue
            seen.add(doc_id)
            if doc_id in done:
                out.append(done[doc_id])
                continue
            try:
                out.append(self.write(ex))
            except Exception as exc:
                if not isolate:
                    raise
                out.append(exc)
        return out

    def _write_batch_tx(
        self, tx: ManagedTransaction, extractions: list[Extraction], rows_per_statement: int,
        audit: bool,
    ) -> dict[str, WriteResult]:
        state = tx.run(queries.BATCH_DOCUMENT_STATE, docs=[
            {"id": ex.document.id, "path": ex.document.path} for ex in extractions
        ]).single(strict=True)
        present, others = set(state["present"]), set(state["replacing"])
        results: dict[str, WriteResult] = {
            ex.document.id: WriteResult(ex.document.id, written=False)
            for ex in extractions if ex.document.id in present}
        # documents left out here (replacing an earlier version, or repeating an id or a path
        # of the batch) have no result yet: `_one_by_one` writes them afterwards
        fresh: list[Extraction] = []
        seen: set[str] = set()
        for ex in extractions:
            doc = ex.document
            if doc.id in present:
                continue
            if doc.id not in others and doc.id not in seen and doc.path not in seen:
                fresh.append(ex)
            seen.update((doc.id, doc.path))
        if not fresh:
            return results
        new_keys, new_rels = self._write_rows(tx, fresh, rows_per_statement)
        for ex in fresh:
            added_entities: tuple[str, ...] = ()
            added_relations: tuple[str, ...] = ()
            if audit:
                added_entities = tuple(sorted({e.key for e in ex.entities} & new_keys))
                added_relations = tuple(sorted(
                    {relation_id(r.source, r.type, r.target) for r in ex.relations}
                    & new_rels))
                # a fact is new to the graph once: credit it to the first document that brings it
                new_keys.difference_update(added_entities)
                new_rels.difference_update(added_relations)
            results[ex.document.id] = WriteResult(
                ex.document.id, True, (), len(ex.entities), len(ex.relations),
                added_entities=added_entities, added_relations=added_relations)
        return results

    def remove(self, doc_id: str) -> bool:
        """Withdraw a document and every fact that rested on it alone."""
        with self.driver.session(database=self.database) as session:
            removed, gone = session.execute_write(self._remove_and_audit_tx, doc_id)
        self.changes.add(((), ()), gone)
        return removed

    def record_run(self, run: dict[str, Any], documents: Sequence[str]) -> None:
        """Record an ingest run, with the net changes of the writes and removals since the
        last recorded run (entity keys and relation ids added and retracted)."""
        run = {**self.changes.as_run_properties(), **run}
        self.driver.execute_query(
            queries.RECORD_RUN, run=run, documents=list(documents), database_=self.database
        )
        self.changes = RunChanges()

    def _facts_of(self, tx: ManagedTransaction,
                  doc_ids: Sequence[str]) -> tuple[set[str], dict[str, dict[str, str]]]:
        """Entity keys a document mentions and the relations it supports, before it goes."""
        keys: set[str] = set()
        rels: dict[str, dict[str, str]] = {}
        for doc_id in doc_ids:
            row = tx.run(queries.DOCUMENT_FACTS, docId=doc_id).single()
            if row is None:
                continue
            keys.update(row["keys"])
            for r in row["rels"]:
                rels[relation_id(r["source"], r["type"], r["target"])] = r
        return keys, rels

    @staticmethod
    def _present(tx: ManagedTransaction, keys: Iterable[str],
                 rels: dict[str, dict[str, str]]) -> tuple[set[str], set[str]]:
        found = tx.run(queries.ENTITIES_PRESENT, keys=sorted(keys)).single()
        rows = [{"id": rid, **r} for rid, r in rels.items()]
        found_rels = tx.run(queries.RELATIONS_PRESENT, rels=rows).single()
        return (set(found["keys"]) if found else set(),
                set(found_rels["ids"]) if found_rels else set())

    def _remove_and_audit_tx(self, tx: ManagedTransaction,
                             doc_id: str) -> tuple[bool, tuple[list[str], list[str]]]:
        keys, rels = self._facts_of(tx, [doc_id])
        removed = self._remove_tx(tx, doc_id, keys)
        left_keys, left_rels = self._present(tx, keys, rels)
        return removed, (sorted(keys - left_keys), sorted(set(rels) - left_rels))

    def _remove_tx(self, tx: ManagedTransaction, doc_id: str, keys: Iterable[str]) -> bool:
        """Withdraw a document; `keys` are the entities it mentions (`_facts_of`)."""
        if tx.run(queries.DOCUMENT_BY_ID, id=doc_id).single() is None:
            return False
        fallback = self.ontology.fallback_relation
        tx.run(queries.WITHDRAW_RELATIONS, docId=doc_id, fallback=fallback).consume()
        tx.run(queries.UNCOUNT_MENTIONS, docId=doc_id).consume()
        tx.run(queries.DELETE_PASSAGES, docId=doc_id).consume()
        registry = self.ontology.by_key()
        tx.run(queries.PRUNE_ALIASES, rows=[
            {"key": k, "keep": list(registry[k].surface_forms) if k in registry else []}
            for k in sorted(keys)]).consume()
        tx.run(queries.DELETE_DOCUMENT, docId=doc_id).consume()
        return True

    def _write_tx(self, tx: ManagedTransaction, ex: Extraction) -> WriteResult:
        doc = ex.document
        state = tx.run(queries.DOCUMENT_STATE, id=doc.id, path=doc.path).single(strict=True)
        if state["present"]:
            return WriteResult(doc.id, written=False)
        replaced = tuple(state["replaced"])
        if not replaced:  # the merge statements say what is new; nothing can be retracted
            added_keys, added_rels = self._write_rows(tx, [ex])
            return WriteResult(
                doc.id, True, (), len(ex.entities), len(ex.relations),
                added_entities=tuple(sorted(added_keys)),
                added_relations=tuple(sorted(added_rels)),
            )
        new_keys = {e.key for e in ex.entities}
        new_rels = {relation_id(r.source, r.type, r.target):
                    {"source": r.source, "type": r.type, "target": r.target}
                    for r in ex.relations}
        old_keys, old_rels = self._facts_of(tx, replaced)
        before_keys, before_rels = self._present(tx, new_keys | old_keys, {**old_rels, **new_rels})
        for old in replaced:
            self._remove_tx(tx, old, old_keys)
        self._write_rows(tx, [ex])
        after_keys, after_rels = self._present(tx, new_keys | old_keys, {**old_rels, **new_rels})
        return WriteResult(
            doc.id, True, replaced, len(ex.entities), len(ex.relations),
            added_entities=tuple(sorted(after_keys - before_keys)),
            added_relations=tuple(sorted(after_rels - before_rels)),
            retracted_entities=tuple(sorted(before_keys - after_keys)),
            retracted_relations=tuple(sorted(before_rels - after_rels)),
        )

    def _write_rows(self, tx: ManagedTransaction, extractions: Sequence[Extraction],
                    rows_per_statement: int = ROWS_PER_STATEMENT) -> tuple[set[str], set[str]]:
        """The documents' rows, pooled (one row per entity, one per relation): every entity
        type in one statement; the documents with their passages and mentions in one; every
        relation type in one; each split when it would exceed `rows_per_statement` rows.
        Returns the entity keys and relation ids created."""
        entities: dict[str, list[dict[str, Any]]] = defaultdict(list)
        relations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ex in extractions:
            for label, rows in entity_rows(ex).items():
                entities[self.ontology.check_label(label)].extend(rows)
            for rel_type, rows in relation_rows(ex).items():
                relations[self.ontology.check_relation(rel_type)].extend(rows)
        created_keys: set[str] = set()
        for chunk in _chunks({k: pool_entity_rows(v) for k, v in entities.items()},
                             rows_per_statement):
            created_keys.update(
                tx.run(self._merge_entities, rows=chunk).single(strict=True)["created"])
        documents = [document_payload(ex) for ex in extractions]
        for part in _chunks({"docs": documents}, rows_per_statement, size=_payload_rows):
            tx.run(queries.WRITE_DOCUMENTS, docs=part["docs"]).consume()
        created_rels: set[str] = set()
        for chunk in _chunks({k: pool_relation_rows(v) for k, v in relations.items()},
                             rows_per_statement):
            created_rels.update(
                tx.run(self._merge_relations, rows=chunk).single(strict=True)["created"])
        return created_keys, created_rels


def document_payload(ex: Extraction) -> dict[str, Any]:
    """A document's row for `WRITE_DOCUMENTS`: its properties, its passages, their mentions."""
    mentions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in mention_rows(ex):
        mentions[row["passage"]].append(row)
    return {"doc": document_row(ex.document),
            "rows": [{"passage": row, "mentions": mentions.get(row["key"], [])}
                     for row in passage_rows(ex)]}


def _payload_rows(payload: dict[str, Any]) -> int:
    return 1 + sum(1 + len(row["mentions"]) for row in payload["rows"])


def _chunks(groups: dict[str, list[Any]], limit: int, *,
            size: Callable[[Any], int] = lambda _: 1) -> Iterator[dict[str, list[Any]]]:
    """`groups` split into consecutive parts of at most `limit` rows (`size` counts a row's;
    a row larger than `limit` goes alone), in order; nothing when every group is empty."""
    part: dict[str, list[Any]] = defaultdict(list)
    used = 0
    for name, rows in groups.items():
        for row in rows:
            n = size(row)
            if used and used + n > limit:
                yield dict(part)
                part, used = defaultdict(list), 0
            part[name].append(row)
            used += n
    if used:
        yield dict(part)
