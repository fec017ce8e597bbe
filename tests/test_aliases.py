"""Aliases are evidence too: one seen only in a RED document is shown to RED-cleared readers
only, and when that document is withdrawn the alias leaves the entity and the full-text index
with it (the registry's own forms stay)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from dashboard_fixtures import CATALOGUE, DocSpec, Sentence, Spec, build_extraction

from graph.ontology import entity_key
from graph.reader import GraphReader
from graph.writer import GraphWriter

pytestmark = [pytest.mark.neo4j]

KORVEL = entity_key("Actor", "Korvel Group")


def _extraction(spec: DocSpec, tlp: str) -> Any:
    CATALOGUE["Korvel Group"] = Spec("Actor", {"status": "criminal"}, ("Grey Heron",))
    try:
        ex = build_extraction(spec)
    finally:
        CATALOGUE.pop("Korvel Group")
    return dataclasses.replace(ex, document=dataclasses.replace(ex.document, tlp=tlp))


OPEN = _extraction(DocSpec(
    "open.txt", "Open note", "An agency", "2026-01-01", "https://example.org/open",
    (Sentence("Korvel Group extorts small firms.", ("Korvel Group",)),)), "CLEAR")
RED = _extraction(DocSpec(
    "red.txt", "Red note", "An agency", "2026-01-02", "https://example.org/red",
    (Sentence("Grey Heron, known to few, extorts hospitals.", ("Korvel Group",)),)), "RED")


def _stored(driver: Any) -> dict[str, Any]:
    records, _, _ = driver.execute_query(
        "MATCH (e:Entity {key: $key}) RETURN e.aliases AS aliases, e.searchText AS text",
        key=KORVEL)
    return dict(records[0])


def test_an_alias_follows_its_documents(empty_graph: GraphWriter) -> None:
    writer = empty_graph
    driver, onto = writer.driver, writer.ontology
    writer.write(OPEN)
    writer.write(RED)
    red, green = GraphReader(driver, onto, clearance="RED"), GraphReader(driver, onto,
                                                                          clearance="GREEN")
    red_node, green_node = red.node(KORVEL), green.node(KORVEL)
    assert red_node is not None and green_node is not None
    assert "Grey Heron" in red_node.aliases
    assert "Grey Heron" not in green_node.aliases
    assert [n.key for n in red.search("Grey Heron")] == [KORVEL]
    assert green.search("Grey Heron") == []

    assert writer.remove(RED.document.id)
    stored = _stored(driver)
    assert "Grey Heron" not in stored["aliases"] and "Grey Heron" not in stored["text"]
    red_node = red.node(KORVEL)
    assert red_node is not None and "Grey Heron" not in red_node.aliases
    assert red.search("Grey Heron") == []
    assert [n.key for n in red.search("Korvel")] == [KORVEL]
