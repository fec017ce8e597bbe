"""Typed records at the seam between extraction and the graph.

`ingest/` produces an `Extraction` per document; `graph/writer.py` turns it into rows; the
dashboard reads the same shapes back. Offsets are character offsets into `Document.text`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Tlp = Literal["CLEAR", "GREEN", "AMBER", "RED"]
TLP_LEVELS: tuple[Tlp, ...] = ("CLEAR", "GREEN", "AMBER", "RED")


@dataclass(frozen=True, slots=True)
class Document:
    """A loaded document: its text and what is known about it."""

    id: str  # sha256 of the text, so the same content is ingested once
    path: str
    title: str
    text: str
    format: str
    issuer: str | None = None
    date: str | None = None  # ISO 8601
    source: str | None = None
    tlp: Tlp = "CLEAR"
    page_starts: tuple[int, ...] = ()  # offset where each page begins (PDF); empty otherwise

    def page_at(self, offset: int) -> int | None:
        """The 1-based page that holds `offset`, for provenance of paged formats."""
        if not self.page_starts:
            return None
        page = 0
        for i, start in enumerate(self.page_starts):
            if start <= offset:
                page = i
            else:
                break
        return page + 1


@dataclass(frozen=True, slots=True)
class Passage:
    """A sentence of a document: the unit of evidence that mentions and relations point at."""

    index: int
    start: int
    end: int
    text: str
    page: int | None = None
    themes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Mention:
    """Where an entity is named: offsets into the document and the passage that holds them."""

    start: int
    end: int
    text: str
    passage: int


@dataclass(frozen=True, slots=True)
class Entity:
    """An entity of one document under its canonical name, with every mention of it."""

    key: str  # "<Type>:<normalised canonical name>", the same in every document
    name: str
    type: str
    aliases: tuple[str, ...] = ()
    facets: dict[str, str] = field(default_factory=dict)
    curated: bool = False
    method: str = "registry"  # registry | acronym | ner | lemma
    wikidata: str | None = None
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True, slots=True)
class Evidence:
    """The sentence that states a relation, as a passage and the offsets of the span."""

    passage: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Relation:
    source: str  # entity key
    type: str
    target: str  # entity key
    evidence: tuple[Evidence, ...] = ()
    weight: int = 1
    method: str = "dependency"  # dependency | pattern | cooccurrence


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything one document brings to the graph."""

    document: Document
    passages: tuple[Passage, ...]
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]

    def entity(self, key: str) -> Entity | None:
        return next((e for e in self.entities if e.key == key), None)
