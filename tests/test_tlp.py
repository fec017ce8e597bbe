"""TLP: a user cleared GREEN never sees what only a RED document supports, through every
reader method and in the browser (search, graph, details, document pages, lenses, paths, the
CSV export). A RED document joins the fixture graph: it names an actor no other document
names (Sandworm), gives APT28 an alias (Fancy Bear), states a relation between two entities
visible elsewhere (ENISA cooperates with APT28) and adds evidence to a relation a CLEAR
document also states (LockBit targets healthcare)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from dashboard_fixtures import (
    CATALOGUE,
    KARPACZ,
    DocSpec,
    Sentence,
    ServedApp,
    Spec,
    build_extraction,
    create_test_app,
    doc_id,
    fixture_graph,
    key,
    login,
    make_user,
)

from graph import queries
from graph import reader as reader_module
from graph.reader import GraphReader
from graph.writer import GraphWriter

pytestmark = [pytest.mark.neo4j]
__all__ = ["fixture_graph"]

SECRET = DocSpec(
    "red-briefing.txt", "Restricted briefing on hostile actors", "A national CERT",
    "2026-02-01", "https://example.org/red",
    (
        Sentence("Sandworm, a state-sponsored actor, targets hospitals.",
                 ("Sandworm", "healthcare"), (("Sandworm", "TARGETS", "healthcare"),),
                 ("actors", "healthcare")),
        Sentence("ENISA quietly cooperates with Fancy Bear on attribution.",
                 ("ENISA", "APT28"), (("ENISA", "COOPERATES_WITH", "APT28"),)),
        Sentence("LockBit targets hospitals again in 2026.", ("LockBit", "healthcare"),
                 (("LockBit", "TARGETS", "healthcare"),), ("healthcare",)),
    ),
)
SECRET_WORDS = ("Sandworm", "Fancy Bear", "quietly cooperates", "again in 2026",
                "Restricted briefing")


def _secret_extraction() -> Any:
    saved = CATALOGUE.get("APT28")
    CATALOGUE["Sandworm"] = Spec("Actor", {"status": "state-sponsored"})
    CATALOGUE["APT28"] = Spec("Actor", {"status": "state-sponsored"}, ("Fancy Bear",))
    try:
        ex = build_extraction(SECRET)
    finally:
        CATALOGUE.pop("Sandworm")
        if saved is not None:
            CATALOGUE["APT28"] = saved
    return dataclasses.replace(ex, document=dataclasses.replace(ex.document, tlp="RED"))


SECRET_EX = _secret_extraction()
SECRET_ID = SECRET_EX.document.id
SANDWORM = "Actor:sandworm"
ENISA, APT28, LOCKBIT = key("ENISA"), key("APT28"), key("LockBit")
HEALTHCARE = key("healthcare")


@pytest.fixture(scope="module")
def graph(fixture_graph: Any) -> tuple[Any, Any, str | None]:
    driver, onto, database = fixture_graph
    GraphWriter(driver, onto, database).write(SECRET_EX)
    return driver, onto, database


@pytest.fixture(scope="module")
def green(graph: Any) -> GraphReader:
    return GraphReader(*graph, clearance="GREEN")


@pytest.fixture(scope="module")
def red(graph: Any) -> GraphReader:
    return GraphReader(*graph, clearance="RED")


# --- the statements --------------------------------------------------------------------------


def test_every_reader_statement_takes_the_clearance(graph: Any) -> None:
    _, onto, _ = graph
    used = set(re.findall(r"queries\.([A-Z_]+)\b", inspect.getsource(reader_module)))
    used.discard("FULLTEXT_INDEX")
    assert used >= {"SEARCH_ENTITIES", "NODES_BY_KEYS", "DOCUMENTS"}
    statements = [text for text in (getattr(queries, name) for name in used)
                  if isinstance(text, str)]  # not the constants the docstrings name
    statements += [queries.lens_query(t, onto) for t in onto.themes]
    statements += [queries.shortest_paths(onto, 4, True), queries.neighbours(onto)]
    for text in statements:
        assert "$allowed" in text, text[:200]


# --- through the reader ----------------------------------------------------------------------


def test_entities_only_from_visible_documents(green: GraphReader, red: GraphReader) -> None:
    assert [n.key for n in red.search("Sandworm")] == [SANDWORM]
    assert green.search("Sandworm") == []
    assert green.nodes([SANDWORM, ENISA])[0].key == ENISA and len(green.nodes([SANDWORM])) == 0
    assert green.node(SANDWORM) is None
    apt_red, apt_green = red.node(APT28), green.node(APT28)
    assert apt_red is not None and apt_green is not None
    assert "Fancy Bear" in apt_red.aliases and "Fancy Bear" not in apt_green.aliases
    enisa_red, enisa_green = red.node(ENISA), green.node(ENISA)
    assert enisa_red is not None and enisa_green is not None
    assert enisa_green.mentions == enisa_red.mentions - 1
    assert enisa_green.degree == enisa_red.degree - 1


def test_relations_and_evidence_only_from_visible_documents(green: GraphReader,
                                                            red: GraphReader) -> None:
    assert red.relation(ENISA, "COOPERATES_WITH", APT28) is not None
    assert green.relation(ENISA, "COOPERATES_WITH", APT28) is None
    both_red = red.relation(LOCKBIT, "TARGETS", HEALTHCARE)
    both_green = green.relation(LOCKBIT, "TARGETS", HEALTHCARE)
    assert both_red and both_green
    assert SECRET_ID in both_red.documents and SECRET_ID not in both_green.documents
    assert not any(k.startswith(SECRET_ID) for k in both_green.evidence)
    texts = [q.text for q in green.evidence(both_red)]  # even handed the RED edge's keys
    assert texts and not any("again in 2026" in t for t in texts)
    assert any("again in 2026" in q.text for q in red.evidence(both_red))
    assert not any(q.doc_id == SECRET_ID for q in green.quotes(ENISA))
    assert any(q.doc_id == SECRET_ID for q in red.quotes(ENISA))


def test_neighbourhoods_lenses_and_paths(green: GraphReader, red: GraphReader) -> None:
    assert APT28 in red.neighbours(ENISA).keys
    around = green.neighbours(ENISA)
    assert APT28 not in around.keys
    assert not any(SECRET_ID in e.documents for e in around.edges)
    assert red.neighbours(ENISA).total == around.total + 1
    assert not green.edges_among([ENISA, APT28], touching=[APT28])
    for theme in ("actors", "healthcare"):
        assert SANDWORM in red.lens(theme).keys
        lens = green.lens(theme)
        assert SANDWORM not in lens.keys
        assert not any(SECRET_ID in e.documents for e in lens.edges)
    assert min(len(p.edges) for p in red.paths(APT28, ENISA)) == 1
    paths = green.paths(APT28, ENISA)
    assert paths and min(len(p.edges) for p in paths) > 1
    assert not any(SECRET_ID in e.documents for p in paths for e in p.edges)


def test_documents_only_within_clearance(green: GraphReader, red: GraphReader) -> None:
    assert SECRET_ID in {d.id for d in red.documents()}
    assert SECRET_ID not in {d.id for d in green.documents()}
    assert green.document(SECRET_ID) is None and red.document(SECRET_ID) is not None
    assert green.document_mentions(SECRET_ID) == [] and red.document_mentions(SECRET_ID)
    assert green.new_entities(SECRET_ID) == []
    assert SANDWORM in {n.key for n in red.new_entities(SECRET_ID)}
    assert red.date_range()[1] == "2026-02-01" and green.date_range()[1] < "2026"
    assert GraphReader(green.driver, green.ontology, green.database,
                       clearance="nonsense").documents() == []  # unknown: nothing


# --- in the browser --------------------------------------------------------------------------



@pytest.fixture(scope="module")
def green_page(graph: Any, browser: Any) -> Iterator[tuple[Any, ServedApp]]:
    driver, onto, database = graph
    make_user("greta", "viewer", "GREEN")
    with ServedApp(create_test_app(driver, onto, database)) as served:
        context = browser.new_context(viewport={"width": 1440, "height": 900},
                                      accept_downloads=True)
        assert login(context, served.url, "greta") == 302
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page, served
        context.close()


def _ids(page: Any) -> set[str]:
    return set(page.evaluate(
        "() => document.getElementById('graph')._cyreg.cy.elements().map(e => e.id())"))


def _wait_graph(page: Any, element: str) -> None:
    page.wait_for_function(
        "(id) => { const g = document.getElementById('graph');"
        " return g && g._cyreg && g._cyreg.cy.getElementById(id).length > 0; }", arg=element)
    page.wait_for_function("() => !document.querySelector('[data-dash-is-loading=\"true\"]')")
    page.wait_for_timeout(300)


@pytest.mark.browser
def test_green_user_sees_no_red_evidence_in_the_browser(green_page: Any,
                                                        tmp_path: Path) -> None:
    page, served = green_page
    # search: no suggestion for the RED-only actor, none by the RED-only alias
    page.goto(served.url + "/")
    for typed in ("Sandworm", "Fancy Bear"):
        page.click("#search .Select-control")
        page.keyboard.type(typed, delay=15)
        page.wait_for_timeout(1200)
        assert page.locator("#search .VirtualizedSelectOption").count() == 0, typed
        page.keyboard.press("Escape")
        page.goto(served.url + "/")
    # graph and details of ENISA: no RED relation, no RED sentence
    page.goto(f"{served.url}/?entity={quote(ENISA)}")
    _wait_graph(page, key("European Commission"))
    assert APT28 not in _ids(page)
    details = page.locator("#details").inner_text()
    assert not any(w in details for w in SECRET_WORDS)
    # a RED-only entity asked for by its key shows nothing
    page.goto(f"{served.url}/?entity={quote(SANDWORM)}")
    page.wait_for_timeout(1500)
    assert SANDWORM not in _ids(page)
    # lens and path
    page.goto(served.url + "/?lens=actors")
    _wait_graph(page, LOCKBIT)
    assert SANDWORM not in _ids(page)
    page.goto(f"{served.url}/?from={quote(APT28)}&to={quote(ENISA)}")
    _wait_graph(page, HEALTHCARE)  # the longer way round, through what GREEN may see
    assert not any(APT28 in i and ENISA in i for i in _ids(page))
    # the CSV export of a view that would hold RED evidence
    page.goto(f"{served.url}/?entity={quote(LOCKBIT)}")
    _wait_graph(page, HEALTHCARE)
    page.locator("details.section > summary", has_text="Export this view").click()
    with page.expect_download() as nodes_dl:
        page.click("#export-nodes")
    with page.expect_download() as edges_dl:
        page.click("#export-edges")
    exported = Path(nodes_dl.value.path()).read_text() + Path(edges_dl.value.path()).read_text()
    assert "LockBit" in exported and not any(w in exported for w in SECRET_WORDS)
    assert SECRET_ID not in exported
    # document pages
    page.goto(served.url + "/documents")
    page.get_by_text(KARPACZ.title).first.wait_for()
    assert "Restricted briefing" not in page.content()
    page.goto(f"{served.url}/document/{SECRET_ID}")
    page.get_by_role("heading", name="Document not found").wait_for()
    page.goto(f"{served.url}/document/{doc_id(KARPACZ)}")
    page.locator("#document-text mark").first.wait_for()
    assert "Sandworm" not in page.content()
