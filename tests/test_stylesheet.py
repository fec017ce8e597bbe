"""The stylesheet and legend are derived from the ontology alone."""

from __future__ import annotations

from dashboard.stylesheet import legend, legend_items, stylesheet
from graph.ontology import default_ontology


def _rule(rules: list[dict], selector: str) -> dict:
    return next(r["style"] for r in rules if r["selector"] == selector)


def test_every_entity_type_has_its_colour_and_shape():
    onto = default_ontology()
    rules = stylesheet(onto)
    for etype in onto.entity_types.values():
        style = _rule(rules, f'node[type = "{etype.name}"]')
        assert style == {"background-color": etype.color, "shape": etype.shape}


def test_relation_styles_follow_the_ontology():
    onto = default_ontology()
    rules = stylesheet(onto)
    for rtype in onto.relation_types.values():
        style = _rule(rules, f'edge[type = "{rtype.name}"]')
        assert style["line-color"] == rtype.color
        assert (style.get("target-arrow-shape") == "none") == rtype.symmetric
    assert _rule(rules, 'edge[type = "RELATED_TO"]')["line-style"] == "dashed"


def test_nodes_are_sized_by_data_and_helpers_styled_by_data_flags():
    rules = stylesheet(default_ontology())
    assert _rule(rules, "node")["width"] == "data(size)"
    selectors = {r["selector"] for r in rules}
    assert {"node[?seed]", "node[?more]", "edge[?moreEdge]"} <= selectors


def test_legend_lists_every_type_once():
    onto = default_ontology()
    assert [i.name for i in legend_items(onto)] == list(onto.entity_types)
    text = str(legend(onto).to_plotly_json())
    for name in onto.entity_types:
        assert name in text
    assert "cooperates with" in text
