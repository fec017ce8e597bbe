"""An expansion ranks a bounded number of neighbours: below `NEIGHBOUR_SCAN` the count is
exact, above it the count stops there and says so, and the dashboard's "more" node reads
"N+"; a page is still the most connected of what was ranked."""

from __future__ import annotations

import hashlib

import pytest

from dashboard.elements import more_elements
from graph.ontology import entity_key
from graph.queries import NEIGHBOUR_SCAN
from graph.reader import GraphReader
from graph.writer import GraphWriter
from ingest.records import Document, Entity, Evidence, Extraction, Mention, Passage, Relation

pytestmark = [pytest.mark.neo4j]

HUB = entity_key("Actor", "Hub Agency")


def hub_document(spokes: int, tag: str) -> Extraction:
    """One passage per spoke: "Hub Agency cooperates with Spoke N.", hub and spoke related."""
    passages, mentions, entities, relations = [], {}, [], []
    text, hub_mentions = "", []
    for i in range(spokes):
        name = f"Spoke {tag} {i:04d}"
        sentence = f"Hub Agency cooperates with {name}."
        start = len(text)
        text += sentence + " "
        passages.append(Passage(i, start, start + len(sentence), sentence, None, ()))
        hub_mentions.append(Mention(start, start + 10, "Hub Agency", i))
        mentions[name] = Mention(start + 27, start + 27 + len(name), name, i)
        relations.append(Relation(HUB, "COOPERATES_WITH", entity_key("Actor", name),
                                  (Evidence(i, start, start + len(sentence)),)))
    entities.append(Entity(HUB, "Hub Agency", "Actor", method="ner",
                           mentions=tuple(hub_mentions)))
    entities += [Entity(entity_key("Actor", n), n, "Actor", method="ner", mentions=(m,))
                 for n, m in mentions.items()]
    doc = Document(id=hashlib.sha256(text.encode()).hexdigest(), path=f"corpus/hub-{tag}.txt",
                   title=f"Hub {tag}", text=text, format="txt", tlp="CLEAR")
    return Extraction(doc, tuple(passages), tuple(entities), tuple(relations))


def test_small_neighbourhoods_are_exact(empty_graph: GraphWriter) -> None:
    empty_graph.write(hub_document(30, "a"))
    sub = GraphReader(empty_graph.driver, empty_graph.ontology).neighbours(HUB, limit=25)
    assert (sub.total, sub.capped, len(sub.nodes)) == (30, False, 25)


def test_large_neighbourhoods_are_capped_and_say_so(empty_graph: GraphWriter) -> None:
    empty_graph.write(hub_document(NEIGHBOUR_SCAN + 40, "b"))
    reader = GraphReader(empty_graph.driver, empty_graph.ontology)
    sub = reader.neighbours(HUB, limit=25)
    assert (sub.total, sub.capped, len(sub.nodes)) == (NEIGHBOUR_SCAN, True, 25)
    assert more_elements(HUB, sub.total - 25, sub.capped)[0]["data"]["label"] == (
        f"and {NEIGHBOUR_SCAN - 25}+ more")
    rest = reader.neighbours(HUB, skip=25, limit=NEIGHBOUR_SCAN)
    assert len(rest.nodes) == NEIGHBOUR_SCAN - 25
    assert not {n.key for n in rest.nodes} & {n.key for n in sub.nodes}
