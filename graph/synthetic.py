"""A synthetic policy graph shaped like the real corpus, for measuring the graph at scale.

`SyntheticCorpus` yields `ingest.records.Extraction` records, the same records extraction
produces, so the synthetic graph goes through the one `GraphWriter` like any ingest. The shape
follows what extraction finds in `corpus/`: documents of a few dozen sentences, each sentence
naming zero to a handful of entities, the type mix of the corpus (mostly actors and
initiatives), typed relations where the ontology allows the pair and the co-occurrence
fallback elsewhere. Entities are chosen by preferential attachment (a Yule process), so a few
hubs such as the European Commission or ENISA gather most mentions and relations while most
entities are named once or twice, the long tail of a real policy corpus. The ontology's
registry supplies the first entities, with their real names, types and facets, so the hubs are
the real ones.

Everything is deterministic for a seed, and the generator keeps the state it needs to count
the relationships the graph will hold (each distinct entity pair and type is one relationship,
as the writer's `MERGE` makes it), so a build can stop at a target size and continue later.
"""

from __future__ import annotations

import hashlib
import random
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

from graph.ontology import Ontology, RegistryEntry, entity_key
from ingest.records import Document, Entity, Evidence, Extraction, Mention, Passage, Relation

# Shares of entity types among distinct entities, and how often a sentence names k entities;
# both measured on the extractions of corpus/ (rounded).
TYPE_MIX: dict[str, float] = {
    "Actor": 0.42,
    "Initiative": 0.22,
    "Threat": 0.09,
    "Sector": 0.07,
    "Event": 0.07,
    "Location": 0.08,
    "FundingInstrument": 0.05,
}
ENTITIES_PER_SENTENCE: tuple[float, ...] = (0.30, 0.27, 0.20, 0.12, 0.07, 0.04)  # k = 0..5
SENTENCES_PER_DOCUMENT = (20, 90)  # uniform range
NEW_ENTITY_RATE = 0.12  # chance that a mention names an entity never seen before
TYPED_RELATION_RATE = 0.25  # chance that an allowed pair in a sentence gets a typed relation
HUBS = 12  # registry entries that start with extra weight (European Commission, ENISA, ...)

_FILLERS = (
    "agreed to strengthen cooperation on", "discussed the implementation of",
    "called for a coordinated response to", "reported progress with",
    "set out priorities concerning", "stressed the importance of",
    "reviewed the risks posed to", "committed funding towards",
)
_TAILS = (
    "in line with the objectives of the Union.", "as agreed at the last meeting.",
    "to improve resilience across the Member States.", "within the agreed timeline.",
    "with the support of the relevant authorities.", "under the current framework.",
)
_SYLLABLES = ("ar", "bel", "cor", "dan", "el", "fen", "gar", "hal", "is", "jor", "kar",
              "lun", "mer", "nor", "ost", "pra", "quin", "ros", "sal", "tor", "ul", "ven",
              "wes", "yar", "zel")
_PREFIXES = ("National", "European", "Regional", "Joint", "Federal", "Northern", "Central",
             "Baltic", "Nordic", "Atlantic", "Southern", "Eastern")
_CORES = ("Cyber", "Security", "Defence", "Digital", "Resilience", "Information", "Network",
          "Incident", "Crisis", "Data", "Infrastructure", "Threat")
_HEADS: dict[str, tuple[str, ...]] = {
    "Actor": ("Agency", "Centre", "Authority", "Office", "Council", "Network", "Group",
              "Ministry", "Command", "Board"),
    "Initiative": ("Strategy", "Act", "Programme", "Action Plan", "Directive", "Exercise",
                   "Platform", "Regulation", "Project", "Framework"),
    "FundingInstrument": ("Fund", "Facility", "Programme Budget", "Grant Scheme"),
    "Sector": ("sector", "infrastructure", "services", "supply chain"),
    "Threat": ("attacks", "campaign", "malware", "intrusions", "disruption"),
    "Event": ("Summit", "Conference", "outage", "incident", "Ministerial Meeting"),
    "Location": ("region", "valley", "district", "harbour"),
}


def pseudo_word(n: int) -> str:
    """A pronounceable, unique word for the number `n` (bijective base-25 in syllables)."""
    parts: list[str] = []
    n += 1
    while n > 0:
        n, r = divmod(n - 1, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
    return "".join(reversed(parts)).capitalize()


@dataclass(frozen=True, slots=True)
class SyntheticEntity:
    key: str
    name: str
    type: str
    facets: tuple[tuple[str, str], ...] = ()
    curated: bool = False
    wikidata: str | None = None


class SyntheticCorpus:
    """An endless, deterministic stream of corpus-shaped extractions (see module docstring).

    `relationships` and `entity_relationships` say how many relationships the graph holds
    once every extraction yielded so far has been written by `GraphWriter`.
    """

    def __init__(self, ontology: Ontology, seed: int = 0) -> None:
        self.ontology = ontology
        self.rng = random.Random(seed)
        self.entities: list[SyntheticEntity] = []
        self._index: dict[str, int] = {}
        self._urn = array("i")  # one slot per mention: preferential attachment
        self._edges: set[int] = set()  # (source, type, target) encoded, to count MERGEd edges
        self._types = list(TYPE_MIX)
        self._type_weights = [TYPE_MIX[t] for t in self._types]
        self._relation_names = list(ontology.relation_types)
        self._allowed: dict[tuple[str, str], list[str]] = {}
        for rel in ontology.relation_types.values():
            if rel.fallback:
                continue
            for s in rel.sources:
                for t in rel.targets:
                    self._allowed.setdefault((s, t), []).append(rel.name)
        self._symmetric = {r.name for r in ontology.relation_types.values() if r.symmetric}
        self.documents = 0
        self.passages = 0
        self.mentions = 0
        self._seed_registry(ontology.registry)

    # --- counts -------------------------------------------------------------------------------

    @property
    def entity_relationships(self) -> int:
        return len(self._edges)

    @property
    def relationships(self) -> int:
        """Every relationship the graph holds: HAS_PASSAGE, MENTIONS and entity relations."""
        return self.passages + self.mentions + len(self._edges)

    # --- entities -----------------------------------------------------------------------------

    def _add(self, entity: SyntheticEntity, weight: int = 1) -> int:
        idx = self._index.get(entity.key)
        if idx is None:
            idx = len(self.entities)
            self.entities.append(entity)
            self._index[entity.key] = idx
        self._urn.extend([idx] * weight)
        return idx

    def _seed_registry(self, registry: Sequence[RegistryEntry]) -> None:
        for rank, entry in enumerate(registry):
            if entry.type not in TYPE_MIX:
                continue
            weight = max(1, 40 // (rank + 1)) if rank < HUBS else 1
            self._add(SyntheticEntity(entry.key, entry.name, entry.type,
                                      tuple(sorted(entry.facets.items())), True,
                                      entry.wikidata), weight)

    def _new_entity(self) -> int:
        rng = self.rng
        etype = rng.choices(self._types, self._type_weights)[0]
        word = pseudo_word(len(self.entities))
        head = rng.choice(_HEADS[etype])
        if etype in ("Sector", "Threat"):
            name = f"{word} {rng.choice(_CORES).lower()} {head}"
        elif etype == "Location":
            name = f"{word} {head}"
        else:
            name = f"{rng.choice(_PREFIXES)} {rng.choice(_CORES)} {head} of {word}"
        facets: tuple[tuple[str, str], ...] = ()
        if etype == "Actor":
            facets = (("sphere", rng.choice(self.ontology.facets["sphere"])),
                      ("status", rng.choice(self.ontology.facets["status"])))
        return self._add(SyntheticEntity(entity_key(etype, name), name, etype, facets), 0)

    def _pick(self) -> int:
        if self.rng.random() < NEW_ENTITY_RATE or not self._urn:
            idx = self._new_entity()
        else:
            idx = self._urn[self.rng.randrange(len(self._urn))]
        self._urn.append(idx)
        return idx

    # --- documents ----------------------------------------------------------------------------

    def _edge(self, source: int, rel: str, target: int) -> None:
        n = len(self._relation_names) + 1
        code = (source * n + self._relation_names.index(rel)) * (1 << 32) + target
        self._edges.add(code)

    def extraction(self) -> Extraction:
        """The next document's records."""
        rng = self.rng
        number = self.documents
        self.documents += 1
        pieces: list[str] = []
        passages: list[Passage] = []
        mentions: dict[int, list[Mention]] = {}
        sentence_entities: list[list[int]] = []
        offset = 0
        for index in range(rng.randint(*SENTENCES_PER_DOCUMENT)):
            k = rng.choices(range(len(ENTITIES_PER_SENTENCE)), ENTITIES_PER_SENTENCE)[0]
            chosen = list(dict.fromkeys(self._pick() for _ in range(k)))
            text = f"In {2015 + rng.randrange(11)}, "
            spans: list[tuple[int, int, int]] = []
            for i, idx in enumerate(chosen):
                if i:
                    text += ", " if i < len(chosen) - 1 else " and "
                name = self.entities[idx].name
                spans.append((idx, len(text), len(text) + len(name)))
                text += name
            if not chosen:
                text += "the Member States"
            text += f" {rng.choice(_FILLERS)} {rng.choice(_CORES).lower()} measures "
            text += rng.choice(_TAILS)
            start = offset
            passages.append(Passage(index=index, start=start, end=start + len(text), text=text))
            for idx, s, e in spans:
                mentions.setdefault(idx, []).append(
                    Mention(start=start + s, end=start + e, text=self.entities[idx].name,
                            passage=index))
            sentence_entities.append(chosen)
            pieces.append(text)
            offset += len(text) + 1
        text = " ".join(pieces)
        doc_id = hashlib.sha256(text.encode("utf-8")).hexdigest()
        document = Document(
            id=doc_id, path=f"synthetic/document-{number:07d}.txt",
            title=f"Synthetic policy document {number}", text=text, format="txt",
            issuer="policykg bench", date=f"{2015 + number % 11}-{1 + number % 12:02d}-01",
        )
        entities = tuple(
            Entity(key=self.entities[idx].key, name=self.entities[idx].name,
                   type=self.entities[idx].type, facets=dict(self.entities[idx].facets),
                   curated=self.entities[idx].curated,
                   method="registry" if self.entities[idx].curated else "ner",
                   wikidata=self.entities[idx].wikidata, mentions=tuple(ms))
            for idx, ms in mentions.items()
        )
        relations = self._relations(sentence_entities, passages)
        self.passages += len(passages)
        self.mentions += sum(len(ms) for ms in mentions.values())
        return Extraction(document=document, passages=tuple(passages), entities=entities,
                          relations=relations)

    def _relations(self, sentence_entities: list[list[int]],
                   passages: list[Passage]) -> tuple[Relation, ...]:
        """Typed relations for some allowed pairs, co-occurrence for the rest, one record per
        (source, type, target) with every sentence as evidence, as extraction does."""
        fallback = self.ontology.fallback_relation
        grouped: dict[tuple[int, str, int], list[int]] = {}
        typed_pairs: set[frozenset[int]] = set()
        co: dict[tuple[int, int], list[int]] = {}
        for index, chosen in enumerate(sentence_entities):
            for a, b in combinations(chosen, 2):
                ta, tb = self.entities[a].type, self.entities[b].type
                options = self._allowed.get((ta, tb)) or []
                src, tgt = a, b
                if not options:
                    options = self._allowed.get((tb, ta)) or []
                    src, tgt = b, a
                if options and self.rng.random() < TYPED_RELATION_RATE:
                    rel = self.rng.choice(options)
                    if rel in self._symmetric and (tgt, rel, src) in grouped:
                        src, tgt = tgt, src
                    grouped.setdefault((src, rel, tgt), []).append(index)
                    typed_pairs.add(frozenset((a, b)))
                else:
                    ka, kb = sorted((a, b), key=lambda i: self.entities[i].key)
                    co.setdefault((ka, kb), []).append(index)
        for (a, b), where in co.items():
            if frozenset((a, b)) not in typed_pairs:
                grouped[(a, fallback, b)] = where
        relations: list[Relation] = []
        for (src, rel, tgt), where in grouped.items():
            self._edge(src, rel, tgt)
            evidence = tuple(Evidence(passage=i, start=passages[i].start, end=passages[i].end)
                             for i in dict.fromkeys(where))
            relations.append(Relation(
                source=self.entities[src].key, type=rel, target=self.entities[tgt].key,
                evidence=evidence, weight=len(evidence),
                method="cooccurrence" if rel == fallback else "dependency"))
        return tuple(relations)

    def __iter__(self) -> Iterator[Extraction]:
        while True:
            yield self.extraction()

    def until(self, relationships: int) -> Iterator[Extraction]:
        """Extractions until the graph would hold at least `relationships` relationships."""
        while self.relationships < relationships:
            yield self.extraction()
