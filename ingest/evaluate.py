"""Scoring extraction against a gold file (the contract's rules), with details for tuning.

Per document and on sets: a predicted entity matches a gold entity when any of its names
(canonical name or aliases) equals any gold name or alias after `normalise`; typed scores
also need the same type. A relation matches when both ends match and the type is the same
(either direction for symmetric types); untyped relation scores ignore type and direction.
Matching is one-to-one, so two predictions of one gold entity count one hit and one miss.
The co-occurrence fallback is not scored. Figures are micro-averaged over documents.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from graph.ontology import Ontology, normalise
from ingest.extract import Extractor
from ingest.loaders import LoadError, load_document
from ingest.records import Document, Extraction


class GoldError(ValueError):
    """The gold file is unreadable or names a document that cannot be found."""


# The name the command line catches (`policykg eval`): the same error.
EvaluationError = GoldError


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def scores(self) -> dict[str, float]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


@dataclass
class DocumentDetails:
    """What matched and what did not, for one document and one of the four scores."""

    document: str
    counts: dict[str, Counts] = field(default_factory=dict)
    false_positives: dict[str, list[str]] = field(default_factory=dict)
    false_negatives: dict[str, list[str]] = field(default_factory=dict)


def _match(preds: Sequence[Any], golds: Sequence[Any],
           ok: Callable[[Any, Any], bool]) -> tuple[list[int], list[int], int]:
    """Maximum one-to-one matching (augmenting paths); returns unmatched preds and golds."""
    adj = [[g for g in range(len(golds)) if ok(pred, golds[g])] for pred in preds]
    owner: dict[int, int] = {}

    def augment(p: int, seen: set[int]) -> bool:
        for g in adj[p]:
            if g in seen:
                continue
            seen.add(g)
            if g not in owner or augment(owner[g], seen):
                owner[g] = p
                return True
        return False

    for p in range(len(preds)):
        augment(p, set())
    matched_p = set(owner.values())
    return ([p for p in range(len(preds)) if p not in matched_p],
            [g for g in range(len(golds)) if g not in owner], len(owner))


@dataclass(frozen=True)
class _Ent:
    name: str
    type: str
    forms: frozenset[str]


def _forms(name: str, aliases: Sequence[str]) -> frozenset[str]:
    return frozenset(normalise(x) for x in (name, *aliases) if x)


def score_document(extraction: Extraction, gold: dict[str, Any],
                   ontology: Ontology) -> DocumentDetails:
    """The four counts of one document, with its false positives and negatives."""
    details = DocumentDetails(document=str(gold.get("document")))
    fallback = ontology.fallback_relation
    symmetric = {r.name for r in ontology.relation_types.values() if r.symmetric}

    pred_ents = [_Ent(e.name, e.type, _forms(e.name, e.aliases)) for e in extraction.entities]
    gold_ents = [_Ent(g["name"], g["type"], _forms(g["name"], g.get("aliases") or []))
                 for g in gold.get("entities", [])]
    for mode in ("typed", "untyped"):
        typed = mode == "typed"

        def ok(p: _Ent, g: _Ent, typed: bool = typed) -> bool:
            return bool(p.forms & g.forms) and (not typed or p.type == g.type)

        # untyped: one prediction per distinct name set
        preds = pred_ents if typed else list({p.forms: p for p in pred_ents}.values())
        fps, fns, tp = _match(preds, gold_ents, ok)
        details.counts[f"entities/{mode}"] = Counts(tp, len(fps), len(fns))
        details.false_positives[f"entities/{mode}"] = [
            f"{preds[i].type} {preds[i].name}" for i in fps]
        details.false_negatives[f"entities/{mode}"] = [
            f"{gold_ents[i].type} {gold_ents[i].name}" for i in fns]

    by_key = {e.key: _Ent(e.name, e.type, _forms(e.name, e.aliases)) for e in extraction.entities}
    gold_by_name: dict[str, frozenset[str]] = {}
    for g in gold_ents:
        gold_by_name.setdefault(normalise(g.name), g.forms)

    def gforms(name: str) -> frozenset[str]:
        return gold_by_name.get(normalise(name), frozenset({normalise(name)}))

    pred_rels: list[tuple[Any, ...]] = [
        (by_key[r.source], r.type, by_key[r.target]) for r in extraction.relations
        if r.type != fallback and r.source in by_key and r.target in by_key]
    gold_rels: list[tuple[Any, ...]] = [(gforms(g["source"]), g["type"], gforms(g["target"]), g)
                                        for g in gold.get("relations", [])]

    def rel_ok_typed(p: tuple, g: tuple) -> bool:
        src, rtype, tgt = p
        same = bool(src.forms & g[0]) and bool(tgt.forms & g[2])
        if not same and rtype in symmetric:
            same = bool(src.forms & g[2]) and bool(tgt.forms & g[0])
        return same and rtype == g[1]

    def rel_ok_untyped(p: tuple, g: tuple) -> bool:
        src, _, tgt = p
        return (bool(src.forms & g[0]) and bool(tgt.forms & g[2])) or (
            bool(src.forms & g[2]) and bool(tgt.forms & g[0]))

    for mode, ok_rel in (("typed", rel_ok_typed), ("untyped", rel_ok_untyped)):
        rel_preds = pred_rels
        rel_golds = gold_rels
        if mode == "untyped":
            uniq: dict[Hashable, tuple[Any, ...]] = {}
            for rel in pred_rels:
                uniq.setdefault(frozenset((rel[0].forms, rel[2].forms)), rel)
            rel_preds = list(uniq.values())
            guniq: dict[Hashable, tuple[Any, ...]] = {}
            for grel in gold_rels:
                guniq.setdefault(frozenset((grel[0], grel[2])), grel)
            rel_golds = list(guniq.values())
        fps, fns, tp = _match(rel_preds, rel_golds, ok_rel)
        details.counts[f"relations/{mode}"] = Counts(tp, len(fps), len(fns))
        details.false_positives[f"relations/{mode}"] = [
            f"{rel_preds[i][0].name} {rel_preds[i][1]} {rel_preds[i][2].name}" for i in fps]
        details.false_negatives[f"relations/{mode}"] = [
            f"{rel_golds[i][3]['source']} {rel_golds[i][3]['type']} {rel_golds[i][3]['target']}"
            for i in fns]
    return details


def read_gold(gold_path: Path) -> list[dict[str, Any]]:
    try:
        gold = json.loads(Path(gold_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoldError(f"cannot read gold file {gold_path}: {exc}") from exc
    if not isinstance(gold, list) or not all(isinstance(g, dict) and "document" in g
                                             for g in gold):
        raise GoldError(f"{gold_path}: a gold file is a list of objects with a 'document'")
    return gold


def _load(path: Path) -> Document:
    try:
        return load_document(path)
    except LoadError as exc:
        raise GoldError(f"cannot load gold document {path}: {exc}") from exc


def evaluate_details(gold_path: Path, docs_dir: Path | None,
                     extractor: Extractor) -> list[DocumentDetails]:
    """Per-document counts and errors for every document of the gold file."""
    gold = read_gold(Path(gold_path))
    base = Path(docs_dir) if docs_dir is not None else Path(gold_path).parent
    paths = []
    for item in gold:
        path = base / str(item["document"])
        if not path.is_file():
            raise GoldError(f"gold document not found: {path}")
        paths.append(path)
    documents = [_load(p) for p in paths]
    out = []
    for item, extraction in zip(gold, extractor.extract_many(documents), strict=True):
        out.append(score_document(extraction, item, extractor.ontology))
    return out


def summarise(details: Sequence[DocumentDetails]) -> dict[str, Any]:
    """The contract's eval object from per-document details."""
    totals = {k: Counts() for k in ("entities/typed", "entities/untyped",
                                    "relations/typed", "relations/untyped")}
    for d in details:
        for k, c in d.counts.items():
            totals[k].add(c)
    return {
        "entities": {"typed": totals["entities/typed"].scores(),
                     "untyped": totals["entities/untyped"].scores()},
        "relations": {"typed": totals["relations/typed"].scores(),
                      "untyped": totals["relations/untyped"].scores()},
        "documents": len(details),
    }


def evaluate(gold_path: Path, docs_dir: Path | None, extractor: Extractor) -> dict[str, Any]:
    """Micro-averaged precision, recall and F1 of extraction against a gold file."""
    return summarise(evaluate_details(gold_path, docs_dir, extractor))


def print_errors(details: Sequence[DocumentDetails], out: TextIO | None = None,
                 kinds: Sequence[str] = ("entities/typed", "relations/typed")) -> None:
    """Print each document's false positives and negatives (for tuning)."""
    import sys

    stream = out or sys.stdout
    for d in details:
        print(f"== {d.document}", file=stream)
        for kind in kinds:
            c = d.counts[kind]
            print(f"  {kind}: tp={c.tp} fp={c.fp} fn={c.fn}", file=stream)
            for item in d.false_positives[kind]:
                print(f"    FP {item}", file=stream)
            for item in d.false_negatives[kind]:
                print(f"    FN {item}", file=stream)
