"""Pure builders: the ontology's types and relation types to a Cytoscape stylesheet and to
the legend shown beside the graph. Colours and shapes come only from `ontology.yaml`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import html

from graph.ontology import Ontology

# CSS clip paths that draw each Cytoscape node shape in the legend.
_CLIP: dict[str, str] = {
    "diamond": "polygon(50% 0, 100% 50%, 50% 100%, 0 50%)",
    "hexagon": "polygon(25% 0, 75% 0, 100% 50%, 75% 100%, 25% 100%, 0 50%)",
    "triangle": "polygon(50% 0, 100% 100%, 0 100%)",
    "star": "polygon(50% 0, 61% 35%, 98% 35%, 68% 57%, 79% 91%, 50% 70%, 21% 91%, 32% 57%, "
    "2% 35%, 39% 35%)",
    "tag": "polygon(0 0, 70% 0, 100% 50%, 70% 100%, 0 100%)",
    "pentagon": "polygon(50% 0, 100% 38%, 82% 100%, 18% 100%, 0 38%)",
    "octagon": "polygon(30% 0, 70% 0, 100% 30%, 100% 70%, 70% 100%, 30% 100%, 0 70%, 0 30%)",
    "vee": "polygon(0 0, 50% 40%, 100% 0, 50% 100%)",
}
_RADIUS: dict[str, str] = {"ellipse": "50%", "round-rectangle": "4px", "rectangle": "0"}

TEXT = "#1f2937"
MUTED = "#64748b"


@dataclass(frozen=True, slots=True)
class LegendItem:
    name: str
    color: str
    shape: str
    description: str


def stylesheet(onto: Ontology) -> list[dict[str, Any]]:
    """The stylesheet: one rule per entity type (colour, shape) and relation type (colour,
    arrow unless symmetric, dashed for the co-occurrence fallback), sized by importance."""
    rules: list[dict[str, Any]] = [
        {
            "selector": "node",
            "style": {
                "label": "data(label)",
                "width": "data(size)",
                "height": "data(size)",
                "background-color": "#94a3b8",
                "border-width": 1.5,
                "border-color": "#ffffff",
                "color": TEXT,
                "font-size": 11,
                "font-family": "Inter, Segoe UI, Helvetica, Arial, sans-serif",
                "text-valign": "bottom",
                "text-halign": "center",
                "text-margin-y": 4,
                "text-wrap": "wrap",
                "text-max-width": "130px",
                "text-background-color": "#ffffff",
                "text-background-opacity": 0.75,
                "text-background-padding": "1px",
                "min-zoomed-font-size": 6,
            },
        },
        {
            "selector": "edge",
            "style": {
                "width": 1.8,
                "curve-style": "bezier",
                "line-color": "#cbd5e1",
                "target-arrow-color": "#cbd5e1",
                "target-arrow-shape": "triangle",
                "arrow-scale": 0.9,
                "label": "data(label)",
                "font-size": 8,
                "color": MUTED,
                "text-rotation": "autorotate",
                "text-background-color": "#ffffff",
                "text-background-opacity": 0.85,
                "text-background-padding": "1px",
                "min-zoomed-font-size": 7,
            },
        },
    ]
    for etype in onto.entity_types.values():
        rules.append({
            "selector": f'node[type = "{etype.name}"]',
            "style": {"background-color": etype.color, "shape": etype.shape},
        })
    for rtype in onto.relation_types.values():
        style: dict[str, Any] = {"line-color": rtype.color, "target-arrow-color": rtype.color}
        if rtype.symmetric:
            style["target-arrow-shape"] = "none"
        if rtype.fallback:
            style.update({"line-style": "dashed", "width": 1.2, "label": ""})
        rules.append({"selector": f'edge[type = "{rtype.name}"]', "style": style})
    rules += [
        {"selector": "node[?seed]", "style": {"border-width": 4, "border-color": "#0f172a"}},
        {
            "selector": "node[?more]",
            "style": {
                "shape": "round-rectangle",
                "width": 92,
                "height": 22,
                "padding": "6px",
                "background-color": "#f1f5f9",
                "border-width": 1,
                "border-style": "dashed",
                "border-color": MUTED,
                "text-valign": "center",
                "text-margin-y": 0,
                "color": "#334155",
                "font-style": "italic",
            },
        },
        {
            "selector": "edge[?moreEdge]",
            "style": {"line-style": "dotted", "line-color": "#94a3b8",
                      "target-arrow-shape": "none", "label": ""},
        },
        {"selector": "node:selected",
         "style": {"border-width": 4, "border-color": "#f59e0b"}},
        {"selector": "edge:selected",
         "style": {"width": 4, "line-color": "#f59e0b", "target-arrow-color": "#f59e0b"}},
    ]
    return rules


def legend_items(onto: Ontology) -> list[LegendItem]:
    return [
        LegendItem(t.name, t.color, t.shape, t.description) for t in onto.entity_types.values()
    ]


def swatch(color: str, shape: str, size: int = 14) -> html.Span:
    """A small coloured shape, the same as the node's on the graph."""
    style: dict[str, Any] = {
        "display": "inline-block",
        "width": f"{size}px",
        "height": f"{size}px",
        "background": color,
        "flexShrink": 0,
    }
    if shape in _CLIP:
        style["clipPath"] = _CLIP[shape]
    else:
        style["borderRadius"] = _RADIUS.get(shape, "50%")
    return html.Span(className="swatch", style=style)


def legend(onto: Ontology) -> html.Details:
    """The legend: entity types with their shape and colour, relation types with theirs.

    It floats over the graph, so it folds to its title to uncover the nodes beneath."""
    types = [
        html.Li([swatch(i.color, i.shape), html.Span(i.name)], title=i.description,
                className="legend-item")
        for i in legend_items(onto)
    ]
    relations = [
        html.Li(
            [
                html.Span(
                    className="legend-line",
                    style={"borderTop": f"2px {'dashed' if r.fallback else 'solid'} {r.color}"},
                ),
                html.Span(r.name.lower().replace("_", " ")),
            ],
            className="legend-item",
        )
        for r in onto.relation_types.values()
    ]
    return html.Details(
        [
            html.Summary("Legend", className="legend-title"),
            html.Ul(types, className="legend-list"),
            html.Details([html.Summary("Relations"), html.Ul(relations, className="legend-list")],
                         className="legend-relations"),
            html.Div("Size: number of relations", className="legend-note"),
        ],
        id="legend",
        className="legend",
        open=True,
    )
