"""Extraction with the statistical model: relation patterns on short real-style sentences,
records and offsets, chunking of long texts, the JSON schema and multi-process streaming."""

from __future__ import annotations

import hashlib

import pytest

from graph.ontology import entity_key
from ingest.extract import Extractor, extraction_to_json, split_text
from ingest.records import Document


@pytest.fixture(scope="module")
def extractor() -> Extractor:
    return Extractor()


def make_doc(text: str, name: str = "t.txt", page_starts: tuple[int, ...] = ()) -> Document:
    return Document(id=hashlib.sha256(text.encode()).hexdigest(), path=name, title=name,
                    text=text, format="txt", page_starts=page_starts)


def typed(extraction) -> set[tuple[str, str, str]]:
    names = {e.key: e.name for e in extraction.entities}
    return {(names[r.source], r.type, names[r.target]) for r in extraction.relations
            if r.type != "RELATED_TO"}


@pytest.mark.parametrize(("text", "expected"), [
    ("Healthcare systems are increasingly the target of ransomware attacks.",
     ("ransomware", "TARGETS", "healthcare")),
    ("Healthcare is targeted by ransomware.", ("ransomware", "TARGETS", "healthcare")),
    ("The Digital Europe Programme will fund the Cybersecurity Skills Academy.",
     ("Digital Europe Programme", "FUNDS", "Cybersecurity Skills Academy")),
    ("ENISA and CERT-EU will work together on incident response.",
     ("ENISA", "COOPERATES_WITH", "CERT-EU")),
    ("The Commission shall cooperate closely with ENISA.",
     ("European Commission", "COOPERATES_WITH", "ENISA")),
    ("The NIS2 Directive applies to the energy sector.",
     ("NIS2 Directive", "COVERS", "energy")),
    ("The Cyber Resilience Act addresses actively exploited vulnerabilities.",
     ("Cyber Resilience Act", "ADDRESSES", "actively exploited vulnerability")),
    ("The Cooperation Group shall be composed of representatives of the Commission and ENISA.",
     ("ENISA", "MEMBER_OF", "NIS Cooperation Group")),
    ("The Commission launched the Cybersecurity Skills Academy.",
     ("European Commission", "LEADS", "Cybersecurity Skills Academy")),
    ("The Commission will present a European action plan for the cybersecurity of hospitals "
     "and healthcare providers.",
     ("European action plan for cybersecurity of hospitals and healthcare providers", "COVERS",
      "healthcare")),
    ("Russia's war of aggression against Ukraine changed everything.",
     ("Russia", "CAUSED", "Russia's war of aggression against Ukraine")),
])
def test_relation_patterns(extractor: Extractor, text: str, expected) -> None:
    assert expected in typed(extractor.extract(make_doc(text)))


def test_no_relation_from_legal_references(extractor: Extractor) -> None:
    text = ("The Commission shall cooperate with the CSIRTs network established pursuant to "
            "Article 15 of Directive (EU) 2022/2555.")
    found = typed(extractor.extract(make_doc(text)))
    assert not any(r[2] == "NIS2 Directive" for r in found)


def test_records_offsets_passages_and_cooccurrence(extractor: Extractor) -> None:
    text = ("\n\nCyber Ministers met in Karpacz.\n\nENISA visited Poland for the CRA. "
            "ENISA praised Poland.")
    extraction = extractor.extract(make_doc(text, page_starts=(0, 40)))
    for p in extraction.passages:
        assert text[p.start:p.end] == p.text
    assert extraction.passages[0].page == 1 and extraction.passages[-1].page == 2
    enisa = extraction.entity(entity_key("Actor", "ENISA"))
    assert enisa is not None and enisa.curated and len(enisa.mentions) == 2
    for m in enisa.mentions:
        assert text[m.start:m.end] == m.text
    related = [r for r in extraction.relations if r.type == "RELATED_TO"
               and {r.source, r.target} == {enisa.key, entity_key("Actor", "Poland")}]
    assert related and related[0].weight == 2


def test_split_text_covers_text_on_paragraph_boundaries() -> None:
    text = "\n\n".join(f"Paragraph {i} " + "word " * 30 for i in range(50))
    pieces = split_text(text, limit=1000)
    assert "".join(p for _, p in pieces) == text
    assert all(len(p) <= 1000 for _, p in pieces)
    assert all(text[o:o + len(p)] == p for o, p in pieces)
    assert all(p.startswith("Paragraph") for _, p in pieces)


def test_long_documents_are_chunked_with_offsets(extractor: Extractor) -> None:
    para = "ENISA supports Poland in cybersecurity matters. " * 20
    text = "\n\n".join([para] * 8)
    small = extractor
    small.chunk_chars = 3000
    try:
        extraction = small.extract(make_doc(text))
    finally:
        small.chunk_chars = 100_000
    enisa = extraction.entity(entity_key("Actor", "ENISA"))
    assert len(enisa.mentions) == 160
    assert all(text[m.start:m.end] == "ENISA" for m in enisa.mentions)


def test_extraction_to_json_schema(extractor: Extractor) -> None:
    text = "The European Union Agency for Cybersecurity (ENISA) supports healthcare."
    data = extraction_to_json(extractor.extract(make_doc(text)))
    assert set(data) == {"document", "entities", "relations"}
    assert set(data["document"]) == {"id", "title", "path"}
    enisa = next(e for e in data["entities"] if e["name"] == "ENISA")
    assert enisa["type"] == "Actor" and enisa["sphere"] == "civil"
    assert "European Union Agency for Cybersecurity" in enisa["aliases"]
    m = enisa["mentions"][0]
    assert set(m) == {"start", "end", "sentence"} and m["sentence"] == text
    for r in data["relations"]:
        assert set(r) == {"source", "type", "target", "evidence"}


def test_extract_many_in_parallel_keeps_order(extractor: Extractor) -> None:
    docs = [make_doc(f"Document {i}: ENISA works with Poland.", name=f"{i}.txt")
            for i in range(6)]
    serial = [extraction_to_json(x) for x in extractor.extract_many(docs)]
    parallel = [extraction_to_json(x) for x in extractor.extract_many(docs, n_process=2,
                                                                     batch_size=2)]
    assert [x["document"]["path"] for x in parallel] == [f"{i}.txt" for i in range(6)]
    assert parallel == serial
