"""The dashboard in real Chromium against the real Neo4j: search, graph, details, expansion,
filters, lenses, paths, shareable URLs, exports and the document page.

The app is served by werkzeug in a background thread; the fixture graph is written by the
real writer (tests/dashboard_fixtures.py). Nodes and edges are clicked with the mouse at the
positions Cytoscape reports for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from dashboard_fixtures import (
    HEALTH,
    ServedApp,
    create_test_app,
    doc_id,
    fixture_graph,
    key,
    login,
    make_user,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]
__all__ = ["fixture_graph"]


SHOTS = Path(__file__).resolve().parent.parent / ".policykg" / "screenshots"
TIMEOUT = 15_000

ENISA = key("ENISA")
NIS2 = key("NIS2 Directive")


@pytest.fixture(scope="module")
def served(fixture_graph: Any) -> Iterator[ServedApp]:
    driver, onto, database = fixture_graph
    make_user("reader", "viewer", "RED")
    with ServedApp(create_test_app(driver, onto, database)) as served_app:
        yield served_app


@pytest.fixture()
def page(browser: Any, served: ServedApp) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    assert login(context, served.url, "reader") == 302
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, errors


# --- helpers ---------------------------------------------------------------------------------

_CY = "document.getElementById('graph')._cyreg.cy"


def graph_ids(pg: Any) -> set[str]:
    return set(pg.evaluate(f"() => {_CY}.elements().map(e => e.id())"))


def wait_for_element(pg: Any, element_id: str, present: bool = True) -> None:
    pg.wait_for_function(
        "([id, present]) => { const g = document.getElementById('graph');"
        " if (!g || !g._cyreg) return false;"
        " return (g._cyreg.cy.getElementById(id).length > 0) === present; }",
        arg=[element_id, present],
    )


def wait_for_count(pg: Any, predicate: str) -> None:
    pg.wait_for_function(
        "(pred) => { const g = document.getElementById('graph');"
        " if (!g || !g._cyreg) return false;"
        " const n = g._cyreg.cy.nodes().length; return eval(pred); }",
        arg=predicate,
    )


def settle(pg: Any) -> None:
    """Wait until Dash has no callback in flight."""
    pg.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
    pg.wait_for_timeout(300)


def click_element(pg: Any, element_id: str) -> None:
    """Click a node (at its centre) or an edge (at its midpoint) with the real mouse, once it
    has stopped moving (a layout after an expansion or an undo animates the nodes).

    An element under the legend is centred first, as a user would pan to it; the click is
    repeated only when Cytoscape saw no tap on the element at all."""
    wait_for_element(pg, element_id)
    settle(pg)
    where = ("(id) => { const cy = document.getElementById('graph')._cyreg.cy;"
             " const e = cy.getElementById(id);"
             " const p = e.isNode() ? e.renderedPosition() : e.renderedMidpoint();"
             " const box = cy.container().getBoundingClientRect();"
             " const x = box.left + p.x, y = box.top + p.y;"
             " const hit = document.elementFromPoint(x, y);"
             " if (!hit || !cy.container().contains(hit)) { cy.center(e); return null; }"
             " return [x, y]; }")
    arm = ("(id) => { window.__tapped = false; const cy = document.getElementById('graph')"
           "._cyreg.cy; cy.getElementById(id).once('tap', () => { window.__tapped = true; }); }")
    for _ in range(3):
        point = pg.evaluate(where, element_id)
        for _ in range(20):
            pg.wait_for_timeout(150)
            now = pg.evaluate(where, element_id)
            if now == point and now is not None:
                break
            point = now
        assert point is not None, f"{element_id} stays covered"
        pg.evaluate(arm, element_id)
        pg.mouse.click(point[0], point[1])
        try:
            pg.wait_for_function("() => window.__tapped", timeout=2_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"three clicks on {element_id} never reached Cytoscape")


def choose(pg: Any, box: str, text: str, option: str) -> None:
    """Type into a search box and pick the suggestion that contains `option`."""
    pg.click(f"#{box} .Select-control")
    pg.keyboard.type(text, delay=20)
    pg.locator(f"#{box} .VirtualizedSelectOption", has_text=option).first.click()


def open_section(pg: Any, title: str) -> None:
    summary = pg.locator("details.section > summary", has_text=title)
    if summary.locator("xpath=..").get_attribute("open") is None:
        summary.click()


def open_enisa(pg: Any, served: ServedApp) -> None:
    pg.goto(f"{served.url}/?entity={quote(ENISA)}")
    wait_for_element(pg, key("European Commission"))
    settle(pg)


# --- tests ---------------------------------------------------------------------------------


def test_search_by_acronym_shows_entity_in_graph_and_details(page: Any, served: ServedApp):
    page.goto(served.url + "/")
    page.click("#search .Select-control")
    page.keyboard.type("ENIS", delay=30)  # a prefix of the acronym
    suggestion = page.locator("#search .VirtualizedSelectOption", has_text="ENISA").first
    suggestion.wait_for()
    assert "Actor" in suggestion.inner_text()
    suggestion.click()
    wait_for_element(page, ENISA)
    wait_for_element(page, key("European Commission"))
    assert "entity=Actor%3Aenisa" in page.url
    click_element(page, ENISA)
    details = page.locator("#details")
    details.get_by_text("supports Member States in handling").wait_for()
    marks = details.locator("mark").all_inner_texts()
    assert "ENISA" in marks and "European Union Agency for Cybersecurity" in marks
    assert "Polish Ministry of Digital Affairs" in details.inner_text()
    assert "2024-09-04" in details.inner_text()


def test_search_by_long_name_and_any_input(page: Any, served: ServedApp):
    page.goto(served.url + "/")
    choose(page, "search", "European Union Agency for Cybersecurity", "ENISA")
    wait_for_element(page, ENISA)
    page.click("#search .Select-control")
    page.keyboard.type('"ENISA" OR (', delay=20)  # Lucene syntax is read as plain words
    page.locator("#search .VirtualizedSelectOption", has_text="ENISA").first.wait_for()


def test_expand_more_undo_and_collapse_in_place(page: Any, served: ServedApp):
    open_enisa(page, served)
    before = graph_ids(page)
    with page.expect_response(lambda r: "_dash-update-component" in r.url
                              and "tapNode" in (r.request.post_data or "")
                              and '"url"' in (r.request.post_data or "")) as response:
        click_element(page, NIS2)  # 33 neighbours: 25 shown, "and N more" for the rest
    # the expansion travels as a Patch of the element list, not as the whole graph
    assert "__dash_patch_update" in response.value.text()
    wait_for_element(page, "more|" + NIS2)
    more_label = page.evaluate(f"() => {_CY}.getElementById('more|{NIS2}').data('label')")
    assert re.fullmatch(r"and \d+ more", more_label)
    assert "expand=Initiative%3Anis2+directive" in page.url
    shown = len(graph_ids(page))
    click_element(page, "more|" + NIS2)
    wait_for_element(page, "more|" + NIS2, present=False)
    settle(page)
    rest = int(more_label.split()[1])
    assert len(graph_ids(page)) == shown - 2 + 2 * rest  # each new sector with its edge
    assert "%7Cmore" in page.url
    page.click("#undo")
    wait_for_element(page, "more|" + NIS2)
    page.click("#undo")
    wait_for_element(page, "more|" + NIS2, present=False)
    settle(page)
    assert graph_ids(page) == before
    click_element(page, NIS2)
    wait_for_element(page, "more|" + NIS2)
    click_element(page, NIS2)  # select it, then collapse its expansion
    page.click("#collapse")
    wait_for_element(page, "more|" + NIS2, present=False)
    settle(page)
    assert graph_ids(page) == before
    assert "expand=" not in page.url


def test_filter_by_type(page: Any, served: ServedApp):
    open_enisa(page, served)
    open_section(page, "Filters")
    page.locator("#type-filter label", has_text="Initiative").click()
    wait_for_element(page, key("European Commission"), present=False)
    settle(page)
    types = set(page.evaluate(f"() => {_CY}.nodes().map(n => n.data('type'))"))
    assert types == {"Actor", "Initiative"}  # the seed, and initiatives only
    assert "type=Initiative" in page.url


def test_click_edge_reads_its_sentence(page: Any, served: ServedApp):
    open_enisa(page, served)
    edge = f"{ENISA}|COOPERATES_WITH|{key('European Commission')}"
    click_element(page, edge)
    details = page.locator("#details")
    details.get_by_text("COOPERATES_WITH").wait_for()
    details.get_by_text("on incident response").wait_for()
    assert {"ENISA", "European Commission"} <= set(details.locator("mark").all_inner_texts())


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Civil-military cooperation", key("European Defence Agency")),
        ("State and non-state actors", key("LockBit")),
        ("Global IT disruptions", key("CrowdStrike outage")),
        ("Cybersecurity of healthcare", key("Digital Europe Programme")),
        ("Cyber skills", key("Cybersecurity Skills Academy")),
    ],
)
def test_lenses(page: Any, served: ServedApp, label: str, expected: str):
    page.goto(served.url + "/")
    page.get_by_role("button", name=label).click()
    wait_for_element(page, expected)
    assert "lens=" in page.url
    assert page.locator("#view-title").inner_text().startswith("Lens:")


def test_how_are_these_connected(page: Any, served: ServedApp):
    page.goto(served.url + "/")
    open_section(page, "How are these connected?")
    choose(page, "path-from", "LockBit", "LockBit")
    choose(page, "path-to", "Digital Europe", "Digital Europe Programme")
    page.click("#path-go")
    wait_for_element(page, key("European action plan on the cybersecurity of hospitals and "
                               "healthcare providers"))
    page.locator("#status", has_text="shortest path").wait_for()
    plan = key("European action plan on the cybersecurity of hospitals and healthcare providers")
    click_element(page, f"{key('Digital Europe Programme')}|FUNDS|{plan}")
    page.locator("#details").get_by_text("funds the action plan").wait_for()


def test_url_reopens_the_view(page: Any, served: ServedApp, browser: Any):
    open_enisa(page, served)
    click_element(page, NIS2)
    wait_for_element(page, "more|" + NIS2)
    settle(page)
    expected, link = graph_ids(page), page.url
    other = page.context.new_page()  # the same logged-in session
    try:
        other.goto(link)
        wait_for_element(other, "more|" + NIS2)
        settle(other)
        assert graph_ids(other) == expected
    finally:
        other.close()


def test_downloads_csv_and_briefing(page: Any, served: ServedApp, tmp_path: Path):
    open_enisa(page, served)
    open_section(page, "Export this view")
    with page.expect_download() as nodes_dl:
        page.click("#export-nodes")
    nodes = Path(nodes_dl.value.path()).read_text()
    assert nodes.splitlines()[0].startswith("key,name,type")
    assert "Actor:enisa,ENISA,Actor" in nodes
    with page.expect_download() as edges_dl:
        page.click("#export-edges")
    edges = Path(edges_dl.value.path()).read_text()
    assert "ENISA,COOPERATES_WITH,European Commission" in edges
    with page.expect_download() as pack_dl:
        page.click("#export-briefing")
    pack = Path(pack_dl.value.path()).read_text()
    assert pack_dl.value.suggested_filename.endswith(".html")
    assert 'src="data:image/png;base64,' in pack
    assert "cooperates with the <mark>European Commission</mark>" in pack
    assert "<mark>ENISA</mark>" in pack
    assert "Polish Ministry of Digital Affairs" in pack
    assert "https://example.org/karpacz-2024" in pack
    (tmp_path / "briefing.html").write_text(pack)
    with page.expect_download() as png_dl:
        page.click("#export-png")
    assert Path(png_dl.value.path()).read_bytes()[:4] == b"\x89PNG"
    with page.expect_download() as svg_dl:
        page.click("#export-svg")
    assert "<svg" in Path(svg_dl.value.path()).read_text()[:500]


def test_document_page_marks_mentions_and_lists_new_entities(page: Any, served: ServedApp):
    page.goto(served.url + "/documents")
    page.get_by_role("link", name=HEALTH.title).first.click()
    page.wait_for_url(re.compile(r"/document/"))
    text = page.locator("#document-text")
    text.locator("mark", has_text="Digital Europe Programme").first.wait_for()
    new = page.locator("#new-entities").inner_text()
    assert "European action plan" in new and "healthcare" in new
    assert "ENISA" not in new  # the NIS2 annex, ingested earlier, already named ENISA
    text.locator("mark", has_text="Digital Europe Programme").first.click()
    page.wait_for_url(re.compile(r"entity=FundingInstrument"))
    wait_for_element(page, key("Digital Europe Programme"))
    assert doc_id(HEALTH)


def test_screenshot_looks_professional(page: Any, served: ServedApp):
    open_enisa(page, served)
    click_element(page, ENISA)
    page.locator("#details mark").first.wait_for()
    page.locator("#legend").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "explorer.png"))
    page.goto(f"{served.url}/document/{doc_id(HEALTH)}")
    page.locator("#document-text mark").first.wait_for()
    page.screenshot(path=str(SHOTS / "document.png"))


def test_layout_choice_keeps_the_elements(page: Any, served: ServedApp):
    open_enisa(page, served)
    before = graph_ids(page)
    page.locator("#layout-choice label", has_text="hierarchy").click()
    page.wait_for_url(re.compile(r"layout=breadthfirst"))
    settle(page)
    assert graph_ids(page) == before


def test_legend_folds_to_uncover_the_graph(page: Any, served: ServedApp):
    open_enisa(page, served)
    box = page.locator("#legend .legend-list").first.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    on_graph = ("([x, y]) => document.getElementById('graph')"
                ".contains(document.elementFromPoint(x, y))")
    assert not page.evaluate(on_graph, [x, y])
    page.locator("#legend > summary").click()
    assert not page.locator("#legend .legend-list").first.is_visible()
    assert page.evaluate(on_graph, [x, y])
    page.locator("#legend > summary").click()
    assert page.locator("#legend .legend-list").first.is_visible()
