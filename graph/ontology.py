"""The ontology model: loads and validates `ontology.yaml`, the one source of types, facets,
relation rules, themes, styles and the registry of known entities.

Everything that needs a label string (the extractor, the Neo4j schema, the dashboard) asks
this module, so a label that is not in the data file cannot reach the database.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("ontology.yaml")
ENTITY_LABEL = "Entity"
_NAME_RE = re.compile(r"^[A-Z][A-Za-z]*$")
_REL_RE = re.compile(r"^[A-Z][A-Z_]*$")


class InvalidOntology(ValueError):
    """The ontology file is broken; the message lists every problem found."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: invalid ontology ({len(problems)} problems)\n{listing}")


def normalise(text: str) -> str:
    """The comparison form of a name: NFKC, case-folded, curly quotes straightened,
    white space collapsed and a leading "the" dropped (the contract's matching rule)."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = " ".join(text.casefold().split())
    if text.startswith("the "):
        text = text[4:]
    return text


def entity_key(type_: str, name: str) -> str:
    """The graph key of an entity: its type and normalised canonical name."""
    return f"{type_}:{normalise(name)}"


@dataclass(frozen=True, slots=True)
class EntityType:
    name: str
    description: str
    color: str
    shape: str
    facets: tuple[str, ...]
    spacy_labels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RelationType:
    name: str
    sources: frozenset[str]
    targets: frozenset[str]
    color: str
    triggers: frozenset[str]
    symmetric: bool = False
    fallback: bool = False

    def allows(self, source_type: str, target_type: str) -> bool:
        return source_type in self.sources and target_type in self.targets


@dataclass(frozen=True, slots=True)
class Theme:
    id: str
    label: str
    lemmas: tuple[str, ...]
    entities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    name: str
    type: str
    facets: Mapping[str, str] = field(default_factory=dict)
    acronyms: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    wikidata: str | None = None

    @property
    def key(self) -> str:
        return entity_key(self.type, self.name)

    @property
    def surface_forms(self) -> tuple[str, ...]:
        return (self.name, *self.acronyms, *self.aliases)


@dataclass(frozen=True, eq=False)
class Ontology:
    facets: Mapping[str, tuple[str, ...]]
    entity_types: Mapping[str, EntityType]
    relation_types: Mapping[str, RelationType]
    themes: Mapping[str, Theme]
    registry: tuple[RegistryEntry, ...]
    path: Path = DEFAULT_PATH

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(self.entity_types)

    @property
    def fallback_relation(self) -> str:
        return next(r.name for r in self.relation_types.values() if r.fallback)

    def check_label(self, label: str) -> str:
        """Return `label` if the ontology declares it; the whitelist guarding Cypher text."""
        if label not in self.entity_types and label != ENTITY_LABEL:
            raise ValueError(f"unknown entity type {label!r}")
        return label

    def check_relation(self, name: str) -> str:
        if name not in self.relation_types:
            raise ValueError(f"unknown relation type {name!r}")
        return name

    def by_key(self) -> dict[str, RegistryEntry]:
        return _index_keys(self)

    def by_surface(self) -> dict[str, list[RegistryEntry]]:
        """Every normalised surface form (name, acronym, alias) to its registry entries."""
        return _index_surfaces(self)


@cache
def _index_keys(onto: Ontology) -> dict[str, RegistryEntry]:
    return {e.key: e for e in onto.registry}


@cache
def _index_surfaces(onto: Ontology) -> dict[str, list[RegistryEntry]]:
    index: dict[str, list[RegistryEntry]] = {}
    for entry in onto.registry:
        for form in entry.surface_forms:
            bucket = index.setdefault(normalise(form), [])
            if entry not in bucket:
                bucket.append(entry)
    return index


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _build(raw: Any, path: Path) -> Ontology:
    """Check the whole document and build the model, collecting every problem before failing."""
    problems: list[str] = []
    if not isinstance(raw, dict):
        raise InvalidOntology(path, ["top level must be a mapping"])
    for section in ("facets", "entity_types", "relation_types", "themes", "registry"):
        if section not in raw:
            problems.append(f"missing section {section!r}")
    if problems:
        raise InvalidOntology(path, problems)

    facets = {str(k): tuple(str(v) for v in _as_list(vs)) for k, vs in raw["facets"].items()}

    types: dict[str, EntityType] = {}
    for name, spec in (raw["entity_types"] or {}).items():
        if not _NAME_RE.match(str(name)):
            problems.append(f"entity type {name!r}: must be PascalCase")
        spec = spec or {}
        unknown = [f for f in _as_list(spec.get("facets")) if f not in facets]
        if unknown:
            problems.append(f"entity type {name}: unknown facets {unknown}")
        if not re.match(r"^#[0-9a-fA-F]{6}$", str(spec.get("color", ""))):
            problems.append(f"entity type {name}: color must be #rrggbb")
        types[name] = EntityType(
            name=name,
            description=str(spec.get("description", "")),
            color=str(spec.get("color", "#999999")),
            shape=str(spec.get("shape", "ellipse")),
            facets=tuple(_as_list(spec.get("facets"))),
            spacy_labels=tuple(_as_list(spec.get("spacy_labels"))),
        )

    relations: dict[str, RelationType] = {}
    for name, spec in (raw["relation_types"] or {}).items():
        spec = spec or {}
        if not _REL_RE.match(str(name)):
            problems.append(f"relation type {name!r}: must be UPPER_SNAKE")
        for end in ("sources", "targets"):
            bad = [t for t in _as_list(spec.get(end)) if t not in types]
            if bad or not spec.get(end):
                problems.append(f"relation type {name}: {end} must list known types, not {bad}")
        relations[name] = RelationType(
            name=name,
            sources=frozenset(_as_list(spec.get("sources"))),
            targets=frozenset(_as_list(spec.get("targets"))),
            color=str(spec.get("color", "#999999")),
            triggers=frozenset(str(t).lower() for t in _as_list(spec.get("triggers"))),
            symmetric=bool(spec.get("symmetric", False)),
            fallback=bool(spec.get("fallback", False)),
        )
    if sum(r.fallback for r in relations.values()) != 1:
        problems.append("exactly one relation type must be the fallback")

    themes = {
        str(tid): Theme(
            id=str(tid),
            label=str((spec or {}).get("label", tid)),
            lemmas=tuple(str(x).lower() for x in _as_list((spec or {}).get("lemmas"))),
            entities=tuple(str(x) for x in _as_list((spec or {}).get("entities"))),
        )
        for tid, spec in (raw["themes"] or {}).items()
    }

    registry: list[RegistryEntry] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw["registry"] or []):
        where = f"registry[{i}]"
        if not isinstance(item, dict) or not item.get("name") or not item.get("type"):
            problems.append(f"{where}: needs a name and a type")
            continue
        where = f"registry[{i}] {item['name']!r}"
        etype = item["type"]
        if etype not in types:
            problems.append(f"{where}: unknown type {etype!r}")
            continue
        entry_facets: dict[str, str] = {}
        for facet in facets:
            if facet in item and item[facet] is not None:
                value = str(item[facet])
                if facet not in types[etype].facets:
                    problems.append(f"{where}: facet {facet!r} does not apply to {etype}")
                elif value not in facets[facet]:
                    problems.append(f"{where}: {facet}={value!r} not in {list(facets[facet])}")
                else:
                    entry_facets[facet] = value
        extra = set(item) - {"name", "type", "acronyms", "aliases", "wikidata", *facets}
        if extra:
            problems.append(f"{where}: unknown fields {sorted(extra)}")
        entry = RegistryEntry(
            name=str(item["name"]),
            type=etype,
            facets=entry_facets,
            acronyms=tuple(str(a) for a in _as_list(item.get("acronyms"))),
            aliases=tuple(str(a) for a in _as_list(item.get("aliases"))),
            wikidata=str(item["wikidata"]) if item.get("wikidata") else None,
        )
        if entry.key in seen:
            problems.append(f"{where}: duplicate of registry[{seen[entry.key]}]")
            continue
        seen[entry.key] = i
        registry.append(entry)

    for theme in themes.values():
        for name in theme.entities:
            if not any(normalise(name) == normalise(e.name) for e in registry):
                problems.append(f"theme {theme.id}: entity {name!r} is not in the registry")

    if problems:
        raise InvalidOntology(path, problems)
    return Ontology(facets, types, relations, themes, tuple(registry), path)


def load_ontology(path: Path | str | None = None) -> Ontology:
    """Load and validate an ontology file; raises `InvalidOntology` listing every problem."""
    target = Path(path) if path else DEFAULT_PATH
    try:
        raw = yaml.safe_load(target.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidOntology(target, [str(exc)]) from exc
    return _build(raw, target)


@cache
def default_ontology() -> Ontology:
    return load_ontology(DEFAULT_PATH)


def types_of(onto: Ontology, names: Iterable[str]) -> list[EntityType]:
    return [onto.entity_types[n] for n in names]
