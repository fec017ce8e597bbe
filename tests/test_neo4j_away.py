"""Neo4j going away under a running dashboard: a plain banner instead of a trace, and the
page recovers by itself when the database is back. Runs its own Neo4j (own home and port),
stopped and started again with graph.server, so the suite's database is never touched."""

from __future__ import annotations

import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from dashboard_fixtures import (
    ServedApp,
    create_test_app,
    free_port,
    key,
    load_fixture_graph,
    login,
    make_user,
)
from neo4j import GraphDatabase

from graph.ontology import default_ontology
from graph.server import ServerError, ServerPaths, start, stop

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]
HOME = Path(__file__).resolve().parents[1] / ".policykg" / "test-away"


@pytest.fixture(scope="module")
def own_server() -> Iterator[tuple[ServerPaths, str, str]]:
    if not shutil.which("java"):
        pytest.skip("Java is needed to run a dedicated Neo4j")
    paths = ServerPaths(HOME)
    stop(paths, wipe=True)
    uri, password = f"bolt://127.0.0.1:{free_port()}", secrets.token_urlsafe(12)
    try:
        start(paths, uri, password, heap="512m", pagecache_mb=64)
    except ServerError as exc:
        pytest.skip(f"a dedicated Neo4j could not start: {exc}")
    yield paths, uri, password
    stop(paths, wipe=True)


def test_banner_while_neo4j_is_away_and_recovery(own_server: Any, browser: Any) -> None:
    paths, uri, password = own_server
    onto = default_ontology()
    driver = GraphDatabase.driver(uri, auth=("neo4j", password))
    try:
        load_fixture_graph(driver, onto, None)
        make_user("watcher", "viewer", "RED")
        with ServedApp(create_test_app(driver, onto, None)) as served:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            assert login(context, served.url, "watcher") == 302
            page = context.new_page()
            page.set_default_timeout(60_000)
            page.goto(f"{served.url}/?entity={quote(key('ENISA'))}")
            page.locator("#details mark").first.wait_for()
            banner = page.locator("#db-banner")
            assert not banner.is_visible()

            stop(paths)  # the database goes away under the open page
            banner.wait_for(state="visible")
            assert "not reachable" in banner.inner_text()
            # using the page meanwhile shows no trace either
            page.goto(f"{served.url}/documents")
            banner.wait_for(state="visible")
            body = page.locator("body").inner_text()
            assert "Traceback" not in body and "ServiceUnavailable" not in body

            start(paths, uri, password, heap="512m", pagecache_mb=64)
            banner.wait_for(state="hidden")
            page.get_by_role("heading", name=re.compile(r"Documents \(4\)")).wait_for()
            page.goto(served.url + "/")
            page.click("#search .Select-control")
            page.keyboard.type("ENIS", delay=20)
            page.locator("#search .VirtualizedSelectOption", has_text="ENISA").first.wait_for()
            context.close()
    finally:
        driver.close()
