"""Pure builders: reader records to Cytoscape elements, and the element budget of a view.

Nothing here talks to Neo4j or Dash; the explorer's callbacks feed records in and send the
resulting element dictionaries (or a Patch built from them) to the browser.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graph.reader import EdgeRecord, NodeRecord, Subgraph

Element = dict[str, Any]

MAX_ELEMENTS = 500  # the server never sends more than this many elements for one view
EXPANSION_CAP = 25  # neighbours added per click; the rest behind an "and N more" node
MORE_PREFIX = "more|"


def node_size(node: NodeRecord) -> int:
    """Diameter in pixels from importance: relations first, mentions as a tie-breaker."""
    importance = node.degree + 0.25 * node.mentions
    return int(min(96, 30 + 11 * math.sqrt(importance)))


def node_element(node: NodeRecord, *, seed: bool = False) -> Element:
    classes = f"entity {node.type}" + (" seed" if seed else "")
    return {
        "data": {
            "id": node.key,
            "label": node.name,
            "type": node.type,
            "size": node_size(node),
            "degree": node.degree,
            "mentions": node.mentions,
            "seed": seed,
            **{f: v for f, v in node.facets.items()},
        },
        "classes": classes,
        "position": start_position(node.key),
    }


def start_position(key: str) -> dict[str, float]:
    """Where the force layout starts a node: fixed by its key, so the same view drawn twice
    (a shared URL, a reload) settles into the same picture."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=4).digest()
    return {"x": float(int.from_bytes(digest[:2], "big") % 600),
            "y": float(int.from_bytes(digest[2:], "big") % 600)}


def edge_label(rel_type: str) -> str:
    return rel_type.lower().replace("_", " ")


def edge_element(edge: EdgeRecord) -> Element:
    return {
        "data": {
            "id": edge.id,
            "source": edge.source,
            "target": edge.target,
            "type": edge.type,
            "label": edge_label(edge.type),
            "weight": edge.weight,
            "evidence": len(edge.evidence),
        },
        "classes": f"relation {edge.type}",
    }


def more_id(owner: str) -> str:
    return MORE_PREFIX + owner


def more_elements(owner: str, remaining: int, capped: bool = False) -> list[Element]:
    """An "and N more" node hanging off `owner` ("N+" when the count was capped); clicking
    it fetches the rest."""
    node_id = more_id(owner)
    return [
        {
            "data": {"id": node_id, "label": f"and {remaining}{'+' if capped else ''} more",
                     "owner": owner,
                     "more": remaining, "size": 30},
            "classes": "more",
        },
        {"data": {"id": node_id + "|edge", "source": owner, "target": node_id,
                  "moreEdge": True},
         "classes": "more-edge"},
    ]


def is_more(element_id: str) -> bool:
    return element_id.startswith(MORE_PREFIX)


def is_node(element: Mapping[str, Any]) -> bool:
    return "source" not in element.get("data", {})


@dataclass
class ElementBudget:
    """Adds elements to a view without duplicates and without passing `limit` in total;
    counts what it had to leave out so the view can say so."""

    present: list[str] = field(default_factory=list)
    limit: int = MAX_ELEMENTS
    left_out_nodes: int = 0
    left_out_edges: int = 0

    def __post_init__(self) -> None:
        self._ids = set(self.present)

    @property
    def room(self) -> int:
        return max(0, self.limit - len(self.present))

    @property
    def node_keys(self) -> list[str]:
        return [i for i in self.present if "|" not in i]

    def has(self, element_id: str) -> bool:
        return element_id in self._ids

    def _take(self, element: Element) -> bool:
        element_id = element["data"]["id"]
        if element_id in self._ids:
            return False
        if len(self.present) >= self.limit:
            return False
        self.present.append(element_id)
        self._ids.add(element_id)
        return True

    def add(
        self,
        nodes: Iterable[NodeRecord],
        edges: Iterable[EdgeRecord],
        *,
        seeds: Sequence[str] = (),
    ) -> list[Element]:
        """New elements for these records: nodes first (a node needs room for at least one
        edge to be useful), then the edges whose two ends are drawn."""
        added: list[Element] = []
        for node in nodes:
            if self.has(node.key):
                continue
            element = node_element(node, seed=node.key in seeds)
            if self._take(element):
                added.append(element)
            else:
                self.left_out_nodes += 1
        for edge in edges:
            if self.has(edge.id):
                continue
            if not (self.has(edge.source) and self.has(edge.target)):
                continue
            element = edge_element(edge)
            if self._take(element):
                added.append(element)
            else:
                self.left_out_edges += 1
        return added

    def add_subgraph(self, subgraph: Subgraph, *, seeds: Sequence[str] = ()) -> list[Element]:
        return self.add(subgraph.nodes, subgraph.edges, seeds=seeds)

    def add_more(self, owner: str, remaining: int, capped: bool = False) -> list[Element]:
        """The "and N more" pair, if there is room for both."""
        if remaining <= 0 or self.room < 2 or self.has(more_id(owner)):
            return []
        pair = more_elements(owner, remaining, capped)
        for element in pair:
            self._take(element)
        return pair

    def remove(self, ids: Iterable[str]) -> list[int]:
        """Forget these elements; returns their former positions, highest first, which is
        the order to delete them from the browser's list."""
        doomed = set(ids)
        positions = [i for i, element_id in enumerate(self.present) if element_id in doomed]
        self.present = [i for i in self.present if i not in doomed]
        self._ids -= doomed
        return sorted(positions, reverse=True)

    def describe(self) -> str:
        drawn_nodes = sum(1 for i in self.present if "|" not in i)
        drawn_edges = sum(1 for i in self.present if "|" in i and not is_more(i))
        text = f"{drawn_nodes} entities, {drawn_edges} relations"
        if self.left_out_nodes or self.left_out_edges:
            text += (
                f" · limit of {self.limit} elements reached: {self.left_out_nodes} entities and "
                f"{self.left_out_edges} relations left out (narrow the filters to see them)"
            )
        return text


def dangling_edges(elements: Sequence[Element], removed_nodes: set[str]) -> list[str]:
    """Ids of the edges that touch a removed node."""
    return [
        e["data"]["id"]
        for e in elements
        if not is_node(e)
        and (e["data"]["source"] in removed_nodes or e["data"]["target"] in removed_nodes)
    ]


def split_elements(elements: Sequence[Element]) -> tuple[list[Element], list[Element]]:
    """Entities and relations of a view, without the "and N more" helpers."""
    nodes = [e for e in elements if is_node(e) and not is_more(e["data"]["id"])]
    edges = [
        e for e in elements
        if not is_node(e) and not is_more(e["data"]["id"]) and "type" in e["data"]
    ]
    return nodes, edges


def layout_options(name: str, seed: str | None = None) -> dict[str, Any]:
    """Cytoscape layout settings: force-directed, concentric by degree, or hierarchical."""
    if name == "concentric":
        return {"name": "concentric", "animate": False, "minNodeSpacing": 30,
                "padding": 30}
    if name == "breadthfirst":
        options: dict[str, Any] = {"name": "breadthfirst", "directed": False,
                                   "spacingFactor": 1.1, "animate": False, "padding": 30}
        if seed:
            options["roots"] = f'[id = "{seed}"]'
        return options
    return {"name": "cose", "animate": False, "nodeRepulsion": 9000, "idealEdgeLength": 110,
            "nodeOverlap": 20, "padding": 30, "randomize": False, "componentSpacing": 80}
