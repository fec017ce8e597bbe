"""Hand-made extraction records for the analytics, export and history tests: small graphs
whose answers are known by construction, written through the real `GraphWriter`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from graph.ontology import entity_key
from ingest.records import Document, Entity, Evidence, Extraction, Mention, Passage, Relation

# (type, name, facets)
Ent = tuple[str, str, dict[str, str]]
# (source name, relation type, target name)
Rel = tuple[str, str, str]


def actor(name: str, sphere: str | None = None, status: str | None = None) -> Ent:
    facets = {k: v for k, v in (("sphere", sphere), ("status", status)) if v}
    return ("Actor", name, facets)


def make_extraction(path: str, entities: Sequence[Ent], relations: Sequence[Rel],
                    date: str | None = None, title: str | None = None) -> Extraction:
    """One document that names every entity in a sentence of its own and states each
    relation in a sentence naming both ends; offsets are real offsets into the text."""
    text = ""
    passages: list[Passage] = []
    mentions: dict[str, list[Mention]] = {}
    keys = {name: entity_key(type_, name) for type_, name, _ in entities}

    def sentence(words: list[str]) -> None:
        nonlocal text
        start = len(text)
        body = " ".join(words) + "."
        index = len(passages)
        offset = start
        for w in words:
            if w in keys:
                mentions.setdefault(w, []).append(Mention(offset, offset + len(w), w, index))
            offset += len(w) + 1
        text += body + " "
        passages.append(Passage(index, start, start + len(body), body))

    for _, name, _ in entities:
        sentence([name, "is", "named"])
    evidence: list[tuple[Rel, int]] = []
    for src, rel, tgt in relations:
        sentence([src, "relates", tgt])
        evidence.append(((src, rel, tgt), len(passages) - 1))
    doc_id = hashlib.sha256((path + text).encode()).hexdigest()
    document = Document(id=doc_id, path=path, title=title or path, text=text, format="txt",
                        date=date)
    ents = tuple(
        Entity(key=keys[name], name=name, type=type_, facets=dict(facets),
               mentions=tuple(mentions[name]))
        for type_, name, facets in entities
    )
    p = {i: passages[i] for i in range(len(passages))}
    rels = tuple(
        Relation(source=keys[s], type=r, target=keys[t],
                 evidence=(Evidence(i, p[i].start, p[i].end),))
        for (s, r, t), i in evidence
    )
    return Extraction(document, tuple(passages), ents, rels)
