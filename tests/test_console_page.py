"""The console and analytics pages: pure helpers, and in real Chromium against the real Neo4j:
a query runs and its CSV downloads, a syntax error is a message, a library question loads and
runs, an analytic's table links its entities to the explorer."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dash import Dash, html

from dashboard.pages import analytics as analytics_page
from dashboard.pages import console
from graph.writer import GraphWriter
from tests.analytics_fixtures import actor, make_extraction
from tests.test_analytics import BRIDGE_ENTITIES, BRIDGE_RELATIONS

# --- pure helpers ----------------------------------------------------------------------------


def test_highlight_marks_keywords_params_labels_strings_and_comments() -> None:
    spans = console.highlight("// who\nMATCH (n:Actor {key: $key}) WHERE n.name = 'ENISA' "
                              "RETURN n LIMIT 5")
    kinds = {(s.className, s.children) for s in spans if isinstance(s, html.Span)}
    assert ("cy-comment", "// who") in kinds
    assert ("cy-keyword", "MATCH") in kinds and ("cy-keyword", "LIMIT") in kinds
    assert ("cy-param", "$key") in kinds
    assert ("cy-label", ":Actor") in kinds
    assert ("cy-string", "'ENISA'") in kinds
    assert ("cy-number", "5") in kinds
    text = "".join(s.children if isinstance(s, html.Span) else s for s in spans)
    assert text.startswith("// who\nMATCH (n:Actor")  # nothing lost


def test_graph_elements_from_nodes_relationships_and_paths() -> None:
    a = {"id": "4:x:1", "labels": ["Actor", "Entity"], "name": "ENISA", "key": "Actor:enisa"}
    b = {"id": "4:x:2", "labels": ["Entity", "Initiative"], "name": "NIS2"}
    r = {"id": "5:x:9", "type": "LEADS", "start": "4:x:1", "end": "4:x:2"}
    els = console.graph_elements([[{"nodes": [a, b], "relationships": [r]}, "text"]])
    nodes = {e["data"]["id"]: e["data"] for e in els if "source" not in e["data"]}
    edges = [e["data"] for e in els if "source" in e["data"]]
    assert nodes["4:x:1"]["label"] == "ENISA" and nodes["4:x:1"]["type"] == "Actor"
    assert edges == [{"id": "5:x:9", "source": "4:x:1", "target": "4:x:2", "label": "LEADS"}]
    assert console.graph_elements([["just", 1, {"a": 2}]]) == []


def test_view_keys_come_from_the_query_string() -> None:
    assert analytics_page.view_keys("?keys=Actor:enisa,Actor:europol") == ["Actor:enisa",
                                                                           "Actor:europol"]
    assert analytics_page.view_keys("?entity=x") is None


# --- in the browser --------------------------------------------------------------------------


def _app(writer: GraphWriter) -> Dash:
    from dashboard.context import AppContext
    from graph.reader import GraphReader

    app_ctx = AppContext(GraphReader(writer.driver, writer.ontology), writer.ontology)
    app = Dash(__name__, suppress_callback_exceptions=True)
    from dash import Input, Output, dcc

    app.layout = html.Div([dcc.Location(id="url"), html.Div(id="page")])

    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def route(path: str | None, search: str | None) -> Any:
        if path == analytics_page.PATH:
            return analytics_page.layout(app_ctx, search)
        return console.layout(app_ctx, search)

    console.register_callbacks(app, app_ctx)
    analytics_page.register_callbacks(app, app_ctx)
    return app


@pytest.fixture
def served(empty_graph: GraphWriter) -> Iterator[str]:
    from werkzeug.serving import make_server

    empty_graph.write(make_extraction("bridge.txt", BRIDGE_ENTITIES, BRIDGE_RELATIONS))
    empty_graph.write(make_extraction(
        "policy.txt", [actor("Civil Hub", "civil"), ("Initiative", "Cybersecurity Skills Academy",
                                                     {}), ("FundingInstrument", "Fund One", {})],
        [("Civil Hub", "LEADS", "Cybersecurity Skills Academy"),
         ("Fund One", "FUNDS", "Cybersecurity Skills Academy")]))
    server = make_server("127.0.0.1", 0, _app(empty_graph).server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(served: str, browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


@pytest.mark.browser
def test_query_runs_and_its_csv_downloads(page: Any, served: str, tmp_path: Path) -> None:
    page.goto(served + "/console")
    page.fill("#cypher-input", "MATCH (n:Actor) WHERE n.sphere = $sphere "
                               "RETURN n.name AS name ORDER BY name")
    page.fill("#cypher-params", '{"sphere": "military"}')
    page.click("#cypher-run")
    page.wait_for_selector("#cypher-results :text('2 rows')")
    page.wait_for_selector("#cypher-results td:has-text('Military Two')")
    assert page.locator("#cypher-results td:has-text('Military One')").count() == 1
    page.wait_for_function(
        "document.querySelectorAll('#cypher-highlight .cy-keyword').length >= 4")
    with page.expect_download() as info:
        page.click("#cypher-download-csv")
    path = tmp_path / "q.csv"
    info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows == [["name"], ["Military One"], ["Military Two"]]


@pytest.mark.browser
def test_syntax_error_is_a_message_and_writes_are_refused(page: Any, served: str) -> None:
    page.goto(served + "/console")
    page.fill("#cypher-input", "MATCH (n RETURN n")
    page.click("#cypher-run")
    error = page.wait_for_selector("#cypher-results .console-error")
    assert "SyntaxError" in error.inner_text() and "Traceback" not in error.inner_text()
    page.fill("#cypher-input", "CREATE (x:Actor {name: 'intruder'})")
    page.click("#cypher-run")
    page.wait_for_selector("#cypher-results .console-error:has-text('read-only')")


@pytest.mark.browser
def test_library_question_loads_runs_and_draws_a_graph(page: Any, served: str) -> None:
    page.goto(served + "/console")
    page.click("#console-library")
    page.click("text=Who funds X?")
    page.wait_for_function(
        "document.querySelector('#cypher-input').value.includes('FUNDS')")
    assert "Initiative:cybersecurity skills academy" in page.input_value("#cypher-params")
    page.click("#cypher-run")
    page.wait_for_selector("#cypher-results td:has-text('Fund One')")
    # a path result is drawn as a graph too
    page.fill("#cypher-input", "MATCH p = (:Actor {key: $a})-[*1..2]-(:Actor {key: $b}) "
                               "RETURN p LIMIT 1")
    page.fill("#cypher-params", '{"a": "Actor:civil hub", "b": "Actor:military one"}')
    page.click("#cypher-run")
    page.wait_for_selector("#cypher-graph")
    assert page.locator("#cypher-history").count() == 1


@pytest.mark.browser
def test_analytics_table_links_entities_to_the_explorer(page: Any, served: str) -> None:
    page.goto(served + "/analytics")
    page.click("#analytics-name")
    page.click("text=Civil-military brokers")
    link = page.wait_for_selector("#analytics-results a:has-text('Liaison Cell')")
    assert link.get_attribute("href") == "/?entity=Actor%3Aliaison%20cell"
    page.wait_for_selector("#history-results >> text=No ingest run recorded yet")


@pytest.mark.browser
def test_analytics_page_downloads_the_graph_as_graphml(page: Any, served: str,
                                                       tmp_path: Path,
                                                       empty_graph: GraphWriter) -> None:
    import networkx as nx

    page.goto(served + "/analytics")
    page.wait_for_selector("#analytics-results a")  # PageRank rows: the page is live
    with page.expect_download() as info:
        page.click("#graph-export-run")
    path = tmp_path / "graph.graphml"
    info.value.save_as(path)
    g = nx.read_graphml(path)
    records, _, _ = empty_graph.driver.execute_query(
        "RETURN COUNT { MATCH (:Entity) } AS n, COUNT { MATCH (:Entity)-[]->(:Entity) } AS e")
    assert (g.number_of_nodes(), g.number_of_edges()) == (records[0]["n"], records[0]["e"])
