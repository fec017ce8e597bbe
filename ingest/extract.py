"""Extraction: documents in, typed records out, through one spaCy pipeline built once.

`Extractor` loads the model, adds the policykg components (`ingest.components`) and streams
documents through `nlp.pipe`. Long texts are cut into chunks on paragraph boundaries so
`nlp.max_length` is never reached; offsets are mapped back to the document. `to_records`
is the one function that turns annotated `Doc`s into an `Extraction`; it is pure.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import re
import signal
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import combinations
from typing import Any, Protocol

from spacy.language import Language
from spacy.tokens import Doc

from graph.ontology import Ontology, default_ontology, entity_key, normalise
from ingest.components import METHOD_COREF, NESTED_KEY, add_components, registry_index
from ingest.nlp import load_nlp
from ingest.records import (
    Document,
    Entity,
    Evidence,
    Extraction,
    Mention,
    Passage,
    Relation,
)

CHUNK_CHARS = 100_000
_PARAGRAPH_RE = re.compile(r"\n\s*\n")


def split_text(text: str, limit: int = CHUNK_CHARS) -> list[tuple[int, str]]:
    """(offset, chunk) pieces of at most `limit` characters, cut at paragraph boundaries
    where possible, then at line ends or spaces; the pieces cover the whole text."""
    if len(text) <= limit:
        return [(0, text)]
    chunks: list[tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(start + limit, len(text))
        if end < len(text):
            window = text[start:end]
            cut = -1
            for m in _PARAGRAPH_RE.finditer(window):
                cut = m.end()
            if cut <= 0:
                cut = max(window.rfind("\n"), window.rfind(". "), window.rfind(" ")) + 1
            if cut > 0:
                end = start + cut
        chunks.append((start, text[start:end]))
        start = end
    return chunks


def _norm_surface(text: str) -> str:
    text = " ".join(text.split())
    if text.lower().startswith("the "):
        text = text[4:]
    for suffix in ("'s", "\u2019s"):
        if text.endswith(suffix):
            text = text[: -len(suffix)]
    return text


def to_records(doc: Doc, document: Document, ontology: Ontology | None = None,
               offset: int = 0) -> Extraction:
    """Turn one annotated Doc (the whole document, or its text from `offset`) into records."""
    return build_extraction([(offset, doc)], document, ontology or default_ontology())


def build_extraction(chunks: Sequence[tuple[int, Doc]], document: Document,
                     ontology: Ontology) -> Extraction:
    """Records from the annotated chunks of one document (offsets are chunk starts)."""
    index = registry_index(ontology)
    passages: list[Passage] = []
    sent_of_char: dict[int, int] = {}  # absolute sentence start -> passage index
    themes_at: dict[int, tuple[str, ...]] = {}
    mentions: dict[str, list[Mention]] = defaultdict(list)
    info: dict[str, tuple[str, str, str]] = {}  # key -> (name, type, method)
    surfaces: dict[str, dict[str, None]] = defaultdict(dict)
    span_key: dict[tuple[int, int], str] = {}
    sent_entities: dict[int, list[str]] = defaultdict(list)
    raw_relations: list[tuple[str, str, str, int, int, int, str]] = []

    for base, doc in chunks:
        for start_char, themes in doc._.policykg_themes or ():
            themes_at[base + start_char] = themes
        for sent in doc.sents:
            text = sent.text.strip()
            if not text:
                continue
            lead = len(sent.text) - len(sent.text.lstrip())
            start = base + sent.start_char + lead
            idx = len(passages)
            sent_of_char[base + sent.start_char] = idx
            passages.append(Passage(
                index=idx, start=start, end=start + len(text), text=text,
                page=document.page_at(start),
                themes=themes_at.get(base + sent.start_char, ()),
            ))
        for ent in doc.ents:
            name = ent.kb_id_ or _norm_surface(ent.text)
            if not name:
                continue
            key = entity_key(ent.label_, name)
            passage = sent_of_char.get(base + ent.sent.start_char)
            if passage is None:
                continue
            coref = ent.id_ == METHOD_COREF
            if key not in info:
                if coref:
                    continue  # a back-reference never introduces an entity
                info[key] = (name, ent.label_, ent.id_ or "ner")
            mentions[key].append(Mention(start=base + ent.start_char, end=base + ent.end_char,
                                         text=ent.text, passage=passage))
            if not coref:
                surfaces[key][_norm_surface(ent.text)] = None
            span_key[(base + ent.start_char, base + ent.end_char)] = key
            if key not in sent_entities[passage]:
                sent_entities[passage].append(key)
        for ent in doc.spans.get(NESTED_KEY, ()):
            key = entity_key(ent.label_, ent.kb_id_)
            passage = sent_of_char.get(base + ent.sent.start_char)
            if passage is None or not ent.kb_id_:
                continue
            info.setdefault(key, (ent.kb_id_, ent.label_, ent.id_ or "registry"))
            mentions[key].append(Mention(start=base + ent.start_char, end=base + ent.end_char,
                                         text=ent.text, passage=passage))
            surfaces[key][_norm_surface(ent.text)] = None
            span_key.setdefault((base + ent.start_char, base + ent.end_char), key)
        for s0, s1, rtype, t0, t1, method in doc._.policykg_relations or ():
            src = span_key.get((base + s0, base + s1))
            tgt = span_key.get((base + t0, base + t1))
            if src is None or tgt is None or src == tgt:
                continue
            source = doc.char_span(s0, s1, alignment_mode="expand")
            passage = (sent_of_char.get(base + source.sent.start_char) if source is not None
                       else None)
            if passage is None:
                continue
            raw_relations.append((src, rtype, tgt, passage, 0, 0, method))

    by_key = index.ontology.by_key()
    entities: list[Entity] = []
    for key, (name, etype, method) in info.items():
        entry = by_key.get(key)
        aliases: dict[str, None] = {}
        if entry is not None:
            for form in (*entry.acronyms, *entry.aliases):
                aliases[form] = None
        for surface in surfaces[key]:
            aliases[surface] = None
        aliases.pop(name, None)
        aliases = {a: None for a in aliases if normalise(a) != normalise(name)}
        entities.append(Entity(
            key=key, name=entry.name if entry else name, type=etype,
            aliases=tuple(aliases), facets=dict(entry.facets) if entry else {},
            curated=entry is not None, method=method,
            wikidata=entry.wikidata if entry else None, mentions=tuple(mentions[key]),
        ))

    symmetric = {r.name for r in ontology.relation_types.values() if r.symmetric}
    raw_relations = _one_role(raw_relations)
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for src, rtype, tgt, passage, _s, _e, method in raw_relations:
        if rtype in symmetric and (tgt, rtype, src) in grouped:
            src, tgt = tgt, src
        slot = grouped.setdefault((src, rtype, tgt), {"evidence": {}, "method": method})
        p = passages[passage]
        slot["evidence"][passage] = Evidence(passage=passage, start=p.start, end=p.end)
    relations = [
        Relation(source=s, type=t, target=g, evidence=tuple(v["evidence"].values()),
                 weight=len(v["evidence"]), method=v["method"])
        for (s, t, g), v in grouped.items()
    ]

    # co-occurrence fallback for pairs that have no typed relation
    typed_pairs = {frozenset((r.source, r.target)) for r in relations}
    co: dict[frozenset[str], list[int]] = defaultdict(list)
    for passage, keys in sent_entities.items():
        for a, b in combinations(sorted(keys), 2):
            co[frozenset((a, b))].append(passage)
    fallback = ontology.fallback_relation
    for pair, where in sorted(co.items(), key=lambda kv: sorted(kv[0])):
        if pair in typed_pairs:
            continue
        a, b = sorted(pair)
        relations.append(Relation(
            source=a, type=fallback, target=b,
            evidence=tuple(Evidence(passage=i, start=passages[i].start, end=passages[i].end)
                           for i in where),
            weight=len(where), method="cooccurrence",
        ))
    return Extraction(document=document, passages=tuple(passages), entities=tuple(entities),
                      relations=tuple(relations))


# When one pair gets two of these types, the first (the stronger claim) wins: an actor that
# leads an initiative also takes part in it, so only LEADS is stated.
ROLE_PRECEDENCE: tuple[tuple[str, str], ...] = (("LEADS", "PARTICIPATES_IN"),)


def _one_role(raw: list[tuple[str, str, str, int, int, int, str]]
              ) -> list[tuple[str, str, str, int, int, int, str]]:
    pairs: dict[tuple[str, str], set[str]] = defaultdict(set)
    for src, rtype, tgt, *_ in raw:
        pairs[(src, tgt)].add(rtype)
    drop = {(pair, weak) for pair, types in pairs.items()
            for strong, weak in ROLE_PRECEDENCE if strong in types and weak in types}
    return [r for r in raw if ((r[0], r[2]), r[1]) not in drop]


class Extractor:
    """The spaCy model plus the policykg components, built once and reused."""

    def __init__(self, ontology: Ontology | None = None, nlp: Language | None = None) -> None:
        self.ontology = ontology or default_ontology()
        self.nlp = add_components(nlp if nlp is not None else load_nlp(), self.ontology)
        self.chunk_chars = min(CHUNK_CHARS, self.nlp.max_length - 1)

    def extract(self, document: Document) -> Extraction:
        """Extract one document."""
        return next(self.extract_many([document]))

    def extract_many(self, documents: Iterable[Document], n_process: int = 1,
                     batch_size: int = 8) -> Iterator[Extraction]:
        """Stream extractions in input order. With `n_process > 1` whole documents go to a
        pool of forked processes that return finished `Extraction` records (see
        `extract_in_processes`); otherwise chunks of every document go through one
        `nlp.pipe` call here."""
        if n_process > 1:
            return extract_in_processes(self, documents, n_process, batch_size=batch_size)
        return self._pipe(documents, batch_size)

    def _pipe(self, documents: Iterable[Document], batch_size: int) -> Iterator[Extraction]:
        pending: dict[int, Document] = {}

        def feed() -> Iterator[tuple[str, tuple[int, int]]]:
            for n, document in enumerate(documents):
                pieces = split_text(document.text, self.chunk_chars)
                pending[n] = document
                for offset, piece in pieces:
                    yield piece, (n, offset)

        current: int | None = None
        chunks: list[tuple[int, Doc]] = []
        for doc, (n, offset) in self.nlp.pipe(feed(), as_tuples=True, batch_size=batch_size):
            if current is not None and n != current:
                yield build_extraction(chunks, pending.pop(current), self.ontology)
                chunks = []
            current = n
            chunks.append((offset, doc))
        if current is not None:
            yield build_extraction(chunks, pending.pop(current), self.ontology)


# The extractor a forked worker inherited from its parent (see `extract_in_processes`).
_WORKER_EXTRACTOR: Extractor | None = None


def _worker_started() -> None:
    """A worker ends with its parent (Linux): a killed ingest leaves no extraction orphans."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _extract_in_worker(documents: list[Document], batch_size: int) -> list[Extraction]:
    assert _WORKER_EXTRACTOR is not None, "not a policykg extraction worker"
    return list(_WORKER_EXTRACTOR._pipe(documents, batch_size))


def extract_in_processes(extractor: Extractor, documents: Iterable[Document], n_process: int,
                         *, batch_size: int = 8, per_task: int = 1) -> Iterator[Extraction]:
    """Extraction spread over `n_process` forked processes, yielded in input order.

    Workers are forked from this process, so they share its loaded pipeline instead of
    building one each, and they send back the small `Extraction` records rather than spaCy
    `Doc`s: the parent only reads documents and hands records on, which keeps it from becoming
    the bottleneck that deserialising Docs and extracting from them made it with
    `nlp.pipe(n_process=...)`. At most two tasks per process are out at once, so documents
    are read lazily and memory stays flat however large the corpus."""
    global _WORKER_EXTRACTOR
    _WORKER_EXTRACTOR = extractor  # inherited by the children forked below
    with ProcessPoolExecutor(max_workers=n_process,
                             mp_context=multiprocessing.get_context("fork"),
                             initializer=_worker_started) as pool:
        yield from in_input_order(
            documents, lambda batch: pool.submit(_extract_in_worker, batch, batch_size),
            per_task=per_task, in_flight=2 * n_process)


class _Pending(Protocol):
    def result(self) -> list[Extraction]: ...


def in_input_order(documents: Iterable[Document],
                   submit: Callable[[list[Document]], _Pending], *, per_task: int,
                   in_flight: int) -> Iterator[Extraction]:
    """Hand `documents` out `per_task` at a time through `submit` (a process pool's or a Dask
    client's) and yield the records back in input order, with at most `in_flight` tasks out:
    documents are read lazily, so memory stays flat however large the corpus."""
    pending: deque[_Pending] = deque()
    batch: list[Document] = []
    for document in documents:
        batch.append(document)
        if len(batch) >= per_task:
            pending.append(submit(batch))
            batch = []
            while len(pending) >= in_flight:
                yield from pending.popleft().result()
    if batch:
        pending.append(submit(batch))
    while pending:
        yield from pending.popleft().result()


def extraction_to_json(extraction: Extraction) -> dict[str, Any]:
    """The contract's `policykg extract --json` object."""
    passages = extraction.passages
    names = {e.key: e.name for e in extraction.entities}
    entities = []
    for e in extraction.entities:
        item: dict[str, Any] = {"name": e.name, "type": e.type, "aliases": list(e.aliases)}
        item.update(e.facets)
        item["mentions"] = [{"start": m.start, "end": m.end, "sentence": passages[m.passage].text}
                            for m in e.mentions]
        entities.append(item)
    relations = [
        {"source": names.get(r.source, r.source), "type": r.type,
         "target": names.get(r.target, r.target),
         "evidence": [{"start": ev.start, "end": ev.end, "sentence": passages[ev.passage].text}
                      for ev in r.evidence]}
        for r in extraction.relations
    ]
    doc = extraction.document
    return {"document": {"id": doc.id, "title": doc.title, "path": doc.path},
            "entities": entities, "relations": relations}
