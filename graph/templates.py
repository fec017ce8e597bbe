"""Question templates: the questions a policy officer picks from a list, each a named,
parameterised Cypher query (text in `graph.queries.template_queries`) with typed parameters
whose choices come from the graph. The same list is the console's library of examples, so
every template must run as written there, with its example parameters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from neo4j import Driver

from graph import queries
from graph.analytics import read
from graph.console import QueryResult, run_read_only
from graph.ontology import Ontology

ParamKind = Literal["entity", "document"]


class TemplateError(ValueError):
    """A template or its parameters are wrong; the message says which."""


@dataclass(frozen=True, slots=True)
class Param:
    """A typed parameter: an entity of some types, or a document; `example` is the value the
    library fills in (chosen to give rows on the shipped corpus)."""

    name: str
    label: str
    kind: ParamKind
    types: tuple[str, ...] = ()  # entity types the value may have; empty means any
    example: str | None = None


@dataclass(frozen=True, slots=True)
class Template:
    id: str
    question: str
    theme: str | None
    cypher: str
    params: tuple[Param, ...] = ()
    columns: tuple[str, ...] = field(default=())

    @property
    def example_params(self) -> dict[str, Any]:
        return {p.name: p.example for p in self.params}

    @property
    def text(self) -> str:
        """The Cypher as the console shows it: the question as a comment, then the query."""
        return f"// {self.question}\n{self.cypher}"

    def example_json(self) -> str:
        return json.dumps(self.example_params, ensure_ascii=False, indent=1)


# (id, question, theme, params); the Cypher of each id is in graph.queries.template_queries.
_SPECS: tuple[tuple[str, str, str | None, tuple[Param, ...]], ...] = (
    ("who-funds", "Who funds X?", None, (
        Param("entity", "Initiative or body", "entity", ("Initiative", "Actor"),
              "Initiative:cybersecurity skills academy"),)),
    ("bodies-on-threat-in-sector", "Which bodies work on threat T in sector S?", "healthcare", (
        Param("threat", "Threat", "entity", ("Threat",), "Threat:ransomware"),
        Param("sector", "Sector", "entity", ("Sector",), "Sector:healthcare"))),
    ("what-links", "What links X and Y?", None, (
        Param("source", "From", "entity", (), "Actor:enisa"),
        Param("target", "To", "entity", (), "Actor:high representative"))),
    ("introduced-by-document", "Which initiatives did document D introduce?", None, (
        Param("document", "Document", "document"),)),
    ("who-runs-initiative", "Who leads or takes part in initiative I?", None, (
        Param("initiative", "Initiative", "entity", ("Initiative",),
              "Initiative:cybersecurity skills academy"),)),
    ("threats-to-sector", "Which threats target sector S, and what answers each?", "healthcare", (
        Param("sector", "Sector", "entity", ("Sector",), "Sector:healthcare"),)),
    ("initiatives-for-sector", "Which initiatives cover sector S, and who funds them?",
     "healthcare", (Param("sector", "Sector", "entity", ("Sector",), "Sector:healthcare"),)),
    ("initiatives-on-threat", "Which initiatives address threat T, and who runs and funds them?",
     "skills", (Param("threat", "Threat", "entity", ("Threat",), "Threat:skills shortage"),)),
    ("civil-military-links", "Which military bodies work with civil bodies?", "civil-military",
     ()),
    ("hostile-actors", "Which criminal and state-sponsored actors appear, and what do they hit?",
     "actors", ()),
    ("responses-to-event", "Who caused event E and who responded to it?", "it-disruptions", (
        Param("event", "Event", "entity", ("Event",), "Event:crowdstrike outage"),)),
    ("documents-mentioning", "Which documents name X?", None, (
        Param("entity", "Entity", "entity", (), "Actor:enisa"),)),
)


def build_templates(onto: Ontology) -> list[Template]:
    """The templates with their Cypher; every entity type a parameter names is checked."""
    cypher = queries.template_queries(onto)
    out = []
    for tid, question, theme, params in _SPECS:
        for p in params:
            for t in p.types:
                onto.check_label(t)
        if theme is not None and theme not in onto.themes:
            raise TemplateError(f"template {tid}: unknown theme {theme!r}")
        out.append(Template(tid, question, theme, cypher[tid].strip(), params))
    return out


def template_by_id(onto: Ontology, template_id: str) -> Template:
    for t in build_templates(onto):
        if t.id == template_id:
            return t
    raise TemplateError(f"no template {template_id!r}")


def param_choices(driver: Driver, param: Param, *, database: str | None = None,
                  limit: int = 500) -> list[dict[str, str]]:
    """The values a parameter may take, from the graph, as {label, value} options."""
    if param.kind == "document":
        records = read(driver, queries.DOCUMENT_CHOICES, database)
    else:
        records = read(driver, queries.ENTITY_CHOICES, database,
                       types=list(param.types) or None, limit=limit)
    return [{"label": str(r["label"]), "value": str(r["value"])} for r in records]


def check_params(template: Template, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter given, as a string; nothing else passed through."""
    out: dict[str, Any] = {}
    for p in template.params:
        value = params.get(p.name)
        if not isinstance(value, str) or not value:
            raise TemplateError(f"{template.id}: parameter {p.name!r} ({p.label}) is required")
        if p.kind == "entity" and p.types and value.split(":", 1)[0] not in p.types:
            raise TemplateError(f"{template.id}: {p.name!r} must be a {' or '.join(p.types)}, "
                                f"not {value!r}")
        out[p.name] = value
    return out


def run_template(driver: Driver, template: Template, params: Mapping[str, Any], *,
                 database: str | None = None, timeout: float = 15.0,
                 row_cap: int = 1000) -> QueryResult:
    """Run a template through the read-only console, so it obeys the same limits."""
    return run_read_only(driver, template.text, check_params(template, params),
                         timeout=timeout, row_cap=row_cap, database=database)
