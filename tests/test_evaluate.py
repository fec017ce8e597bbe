"""Scoring rules of `policykg eval`, and a floor on the dev gold set (copied under tests/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from graph.ontology import default_ontology, entity_key
from ingest.evaluate import GoldError, evaluate, score_document
from ingest.extract import Extractor
from ingest.records import Document, Entity, Extraction, Relation

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "tests" / "gold" / "dev.json"
CORPUS = ROOT / "corpus"


def ent(name: str, type_: str, *aliases: str) -> Entity:
    return Entity(key=entity_key(type_, name), name=name, type=type_, aliases=aliases)


def extraction(entities, relations=()) -> Extraction:
    doc = Document(id="x", path="x.txt", title="x", text="", format="txt")
    return Extraction(document=doc, passages=(), entities=tuple(entities),
                      relations=tuple(relations))


def rel(src: Entity, type_: str, tgt: Entity) -> Relation:
    return Relation(source=src.key, type=type_, target=tgt.key)


def test_entities_match_on_any_alias_after_normalising() -> None:
    gold = {"document": "x.txt", "entities": [
        {"name": "ENISA", "type": "Actor", "aliases": ["European Union Agency for Cybersecurity"]},
        {"name": "healthcare", "type": "Sector"},
        {"name": "Karpacz", "type": "Location"}]}
    pred = [ent("THE European  Union Agency for Cybersecurity", "Actor"),
            ent("health", "Sector", "Healthcare"), ent("Karpacz", "Actor"),
            ent("Poland", "Actor")]
    d = score_document(extraction(pred), gold, default_ontology())
    typed, untyped = d.counts["entities/typed"], d.counts["entities/untyped"]
    assert (typed.tp, typed.fp, typed.fn) == (2, 2, 1)
    assert (untyped.tp, untyped.fp, untyped.fn) == (3, 1, 0)


def test_matching_is_one_to_one() -> None:
    gold = {"document": "x.txt", "entities": [{"name": "European Commission", "type": "Actor",
                                               "aliases": ["Commission"]}]}
    pred = [ent("European Commission", "Actor"), ent("Commission", "Actor")]
    c = score_document(extraction(pred), gold, default_ontology()).counts["entities/typed"]
    assert (c.tp, c.fp, c.fn) == (1, 1, 0)


def test_relations_typed_and_untyped() -> None:
    onto = default_ontology()
    ransomware, health = ent("ransomware", "Threat"), ent("healthcare", "Sector", "health")
    enisa, cert = ent("ENISA", "Actor"), ent("CERT-EU", "Actor")
    gold = {"document": "x.txt",
            "entities": [{"name": "ransomware", "type": "Threat"},
                         {"name": "healthcare", "type": "Sector", "aliases": ["health"]},
                         {"name": "ENISA", "type": "Actor"}, {"name": "CERT-EU", "type": "Actor"}],
            "relations": [{"source": "ransomware", "type": "TARGETS", "target": "health"},
                          {"source": "ENISA", "type": "COOPERATES_WITH", "target": "CERT-EU"}]}
    pred = [rel(health, "TARGETS", ransomware),  # wrong direction: untyped only
            rel(cert, "COOPERATES_WITH", enisa),  # symmetric: either direction
            rel(enisa, "RELATED_TO", health)]  # fallback: never scored
    d = score_document(extraction([ransomware, health, enisa, cert], pred), gold, onto)
    t, u = d.counts["relations/typed"], d.counts["relations/untyped"]
    assert (t.tp, t.fp, t.fn) == (1, 1, 1)
    assert (u.tp, u.fp, u.fn) == (2, 0, 0)


def test_missing_document_is_named(tmp_path: Path) -> None:
    gold = tmp_path / "gold.json"
    gold.write_text('[{"document": "absent.txt", "entities": [], "relations": []}]')
    with pytest.raises(GoldError, match="absent.txt"):
        evaluate(gold, tmp_path, extractor=None)  # type: ignore[arg-type]


@pytest.mark.skipif(not (CORPUS / "karpacz-2024-cyber-ministers-meeting.txt").is_file(),
                    reason="corpus/ not present")
def test_dev_gold_floor() -> None:
    scores = evaluate(GOLD, CORPUS, Extractor())
    assert scores["documents"] == 9
    assert scores["entities"]["typed"]["f1"] >= 0.92
    assert scores["entities"]["untyped"]["f1"] >= 0.92
    assert scores["relations"]["typed"]["f1"] >= 0.73
    assert scores["relations"]["untyped"]["f1"] >= 0.74


def test_command_line_error_name_is_the_gold_error() -> None:
    from ingest.evaluate import EvaluationError

    assert EvaluationError is GoldError
