"""Shared fixtures: settings from the environment `make test` prepares, and a driver to the
real Neo4j it starts. Tests that wipe the database refuse to run unless POLICYKG_TEST_DB=1,
so a stray `pytest` never empties someone's working graph."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Headless Debian Chromium as root, with nothing that reaches for the network on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
CORPUS = ROOT / "corpus"
FOUNDING = CORPUS / "karpacz-2024-cyber-ministers-meeting.txt"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "neo4j_driver" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.neo4j)


@pytest.fixture(scope="session")
def settings():  # noqa: ANN201
    from graph.settings import load_settings

    return load_settings()


@pytest.fixture(scope="session")
def neo4j_driver(settings) -> Iterator[object]:  # noqa: ANN001
    if os.environ.get("POLICYKG_TEST_DB") != "1":
        pytest.fail("integration tests need the test Neo4j that `make test` starts "
                    "(POLICYKG_TEST_DB=1 and NEO4J_URI/NEO4J_PASSWORD set)")
    driver = settings.driver()
    driver.verify_connectivity()
    yield driver
    driver.close()


@pytest.fixture(scope="session")
def ontology():  # noqa: ANN201
    from graph.ontology import default_ontology

    return default_ontology()


@pytest.fixture(scope="session")
def extractor(ontology):  # noqa: ANN001, ANN201
    from ingest.extract import Extractor
    from ingest.nlp import load_nlp

    return Extractor(ontology, load_nlp())


def wipe(driver) -> None:  # noqa: ANN001
    with driver.session() as session:
        session.run("MATCH (n) DETACH DELETE n").consume()


@pytest.fixture
def empty_graph(neo4j_driver, ontology):  # noqa: ANN001, ANN201
    """A wiped database with the schema in place."""
    from graph.writer import GraphWriter

    wipe(neo4j_driver)
    writer = GraphWriter(neo4j_driver, ontology)
    writer.ensure_schema()
    return writer


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright; `make test` installs it, so a missing browser
    fails rather than skips."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browsers` (Debian's chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
