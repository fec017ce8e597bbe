"""Pure builders of the dashboard: elements and their budget, the view's URL, the details
and document highlighting, and the CSV and briefing exports."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from dashboard.elements import (
    ElementBudget,
    edge_element,
    layout_options,
    more_elements,
    node_element,
    node_size,
    split_elements,
)
from dashboard.exports import BriefingEdge, briefing_html, edges_csv, nodes_csv, svg_picture
from dashboard.panels import document_text, segments
from dashboard.view import Expansion, ViewState
from graph.ontology import default_ontology
from graph.reader import (
    DocumentRecord,
    EdgeRecord,
    Filters,
    MentionSpan,
    NodeRecord,
    Quote,
    lucene_escape,
    search_query,
)

ENISA = NodeRecord("Actor:enisa", "ENISA", "Actor", ("European Union Agency for Cybersecurity",),
                   {"sphere": "civil", "status": "state"}, mentions=7, degree=6)
EC = NodeRecord("Actor:european commission", "European Commission", "Actor", degree=3)
EDGE = EdgeRecord("Actor:enisa", "COOPERATES_WITH", "Actor:european commission", 1,
                  ("doc:1",), ("doc",))


def test_node_element_carries_type_size_and_facets():
    element = node_element(ENISA, seed=True)
    assert element["data"]["id"] == "Actor:enisa"
    assert element["data"]["type"] == "Actor"
    assert element["data"]["sphere"] == "civil"
    assert element["data"]["seed"] is True
    assert element["data"]["size"] == node_size(ENISA)


def test_a_node_starts_the_layout_where_its_key_puts_it():
    here = node_element(ENISA)["position"]
    assert node_element(replace(ENISA, degree=40, name="Renamed"), seed=True)["position"] == here
    assert node_element(EC)["position"] != here
    spread = {tuple(node_element(replace(ENISA, key=f"Actor:{i}"))["position"].values())
              for i in range(200)}
    assert len(spread) > 190 and all(0 <= v < 600 for xy in spread for v in xy)


def test_more_important_nodes_are_bigger_but_capped():
    small = NodeRecord("a", "a", "Actor", degree=0)
    big = NodeRecord("b", "b", "Actor", degree=40, mentions=100)
    assert node_size(small) < node_size(ENISA) < node_size(big) <= 96


def test_edge_element():
    element = edge_element(EDGE)
    assert element["data"] == {
        "id": "Actor:enisa|COOPERATES_WITH|Actor:european commission",
        "source": "Actor:enisa", "target": "Actor:european commission",
        "type": "COOPERATES_WITH", "label": "cooperates with", "weight": 1, "evidence": 1,
    }


def test_budget_adds_once_and_never_passes_the_limit():
    budget = ElementBudget(limit=3)
    added = budget.add([ENISA, EC], [EDGE])
    assert [e["data"]["id"] for e in added] == [ENISA.key, EC.key, EDGE.id]
    assert budget.add([ENISA], [EDGE]) == []  # duplicates are not sent again
    third = NodeRecord("Actor:x", "X", "Actor")
    assert budget.add([third], []) == []
    assert budget.left_out_nodes == 1
    assert "left out" in budget.describe()


def test_budget_skips_edges_with_an_end_not_drawn():
    budget = ElementBudget()
    assert [e["data"]["id"] for e in budget.add([ENISA], [EDGE])] == [ENISA.key]


def test_more_pair_and_split():
    budget = ElementBudget()
    elements = budget.add([ENISA, EC], [EDGE]) + budget.add_more(ENISA.key, 8)
    assert elements[-2]["data"]["label"] == "and 8 more"
    nodes, edges = split_elements(elements)
    assert [n["data"]["id"] for n in nodes] == [ENISA.key, EC.key]
    assert [e["data"]["id"] for e in edges] == [EDGE.id]


def test_layouts():
    assert layout_options("cose")["name"] == "cose"
    assert layout_options("concentric")["name"] == "concentric"
    assert layout_options("breadthfirst", "Actor:enisa")["roots"] == '[id = "Actor:enisa"]'


def test_view_state_round_trips_through_the_query_string():
    state = ViewState(entity="Actor:enisa", expansions=(Expansion("Initiative:nis2 directive"),
                                                         Expansion("Initiative:nis2 directive",
                                                                   more=True)),
                      types=("Actor", "Initiative"), relations=("FUNDS",), theme="healthcare",
                      document="abc", date_from="2024-01-01", date_to="2024-12-31",
                      layout="concentric")
    assert ViewState.from_query(state.to_query()) == state
    assert ViewState.from_query("") == ViewState()
    assert ViewState.from_query("?layout=evil&junk=1").layout == "cose"


def test_focus_drops_expansions_and_keeps_filters():
    state = ViewState(entity="a", expansions=(Expansion("b"),), types=("Actor",))
    moved = state.focus(lens="skills")
    assert moved.kind == "lens" and moved.expansions == () and moved.types == ("Actor",)
    # the layout does not change what is drawn, so it is not part of the content key
    assert state.with_filters(layout="concentric").content_key() == state.content_key()


def test_search_query_escapes_and_prefixes():
    assert search_query("ENIS") == "(enis^3 OR enis*)"
    assert search_query('"ENISA" OR (') == "(enisa^3 OR enisa*) AND (or^3 OR or*)"
    assert search_query("()*:?") is None
    assert lucene_escape('a+b:"c"') == 'a\\+b\\:\\"c\\"'


def test_filters_drop_unknown_labels():
    params = Filters(types=("Actor", "Bogus"), relations=("FUNDS", "DROP")).parameters(
        default_ontology())
    assert params["types"] == ["Actor"] and params["relations"] == ["FUNDS"]
    assert params["evidenceFiltered"] is False


@pytest.mark.parametrize(
    ("marks", "expected"),
    [
        ([], [("ENISA works", False)]),
        ([(0, 5)], [("ENISA", True), (" works", False)]),
        ([(0, 3), (2, 5), (50, 60)], [("ENISA", True), (" works", False)]),
    ],
)
def test_segments(marks, expected):
    assert segments("ENISA works", marks) == expected


def test_document_text_links_every_mention():
    text = "ENISA and the Commission."
    spans = [MentionSpan(0, 5, "Actor:enisa", "ENISA", "Actor"),
             MentionSpan(14, 24, "Actor:european commission", "European Commission", "Actor"),
             MentionSpan(1, 3, "x", "x", "Actor")]  # overlapping: skipped
    parts = document_text(text, spans)
    links = [p for p in parts if not isinstance(p, str)]
    assert [link.href for link in links] == ["/?entity=Actor%3Aenisa",
                                             "/?entity=Actor%3Aeuropean%20commission"]
    assert parts[-1] == "."


ELEMENTS = [node_element(ENISA), node_element(EC), edge_element(EDGE),
            *more_elements(ENISA.key, 3)]


def test_csv_exports():
    nodes = list(csv.reader(io.StringIO(nodes_csv(ELEMENTS))))
    assert nodes[0][:3] == ["key", "name", "type"]
    assert [r[1] for r in nodes[1:]] == ["ENISA", "European Commission"]
    edges = list(csv.reader(io.StringIO(edges_csv(ELEMENTS))))
    assert edges[1][:3] == ["ENISA", "COOPERATES_WITH", "European Commission"]


def test_briefing_is_self_contained_with_quotes_and_sources():
    onto = default_ontology()
    quote = Quote("doc:1", "ENISA cooperates with the European Commission.", "doc",
                  "Karpacz meeting", "Polish Presidency", "2024-09-04", "https://example.org/k",
                  None, ((0, 5), (26, 45)))
    source = DocumentRecord("doc", "Karpacz meeting", "Polish Presidency", "2024-09-04",
                            "https://example.org/k", tlp="CLEAR")
    pack = briefing_html(onto, "ENISA <&>", ELEMENTS,
                         [BriefingEdge(EDGE, "ENISA", "European Commission", (quote,))],
                         [source], "data:image/png;base64,AAAA")
    assert "<title>Briefing: ENISA &lt;&amp;&gt;</title>" in pack
    assert 'src="data:image/png;base64,AAAA"' in pack
    assert "<mark>ENISA</mark> cooperates with the <mark>European Commission</mark>" in pack
    assert "[1] <cite>Karpacz meeting</cite>, Polish Presidency, 2024-09-04" in pack
    assert 'href="https://example.org/k"' in pack
    assert "<script" not in pack and "<link" not in pack
    without_image = briefing_html(onto, "t", ELEMENTS, [], [], None)
    assert "<svg" in without_image and svg_picture(onto, []) == ""
