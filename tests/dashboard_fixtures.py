"""Shared fixtures for the dashboard and reader tests: a small, hand-built graph.

The extraction records are written by the real `GraphWriter` into the real Neo4j that
`make test` starts, so reads, the app and the browser tests see exactly what an ingest
would have produced, deterministically, without spaCy. Sentences are short excerpts in the
style of the corpus (Karpacz meeting, healthcare action plan, Skills Academy, NIS2 annex).
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from neo4j import Driver, GraphDatabase

from graph.ontology import Ontology, default_ontology, entity_key
from graph.writer import GraphWriter
from ingest.records import Document, Entity, Evidence, Extraction, Mention, Passage, Relation

if TYPE_CHECKING:
    from graph.accounts import AccountStore

# --- entity catalogue: name -> (type, facets, aliases; surface forms searched in text) -------


@dataclass(frozen=True)
class Spec:
    type: str
    facets: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()


CATALOGUE: dict[str, Spec] = {
    "ENISA": Spec("Actor", {"sphere": "civil", "status": "state"},
                  ("European Union Agency for Cybersecurity",)),
    "European Commission": Spec("Actor", {"sphere": "civil", "status": "state"},
                                ("Commission",)),
    "CSIRTs Network": Spec("Actor", {"sphere": "civil", "status": "state"}),
    "CERT-EU": Spec("Actor", {"sphere": "civil", "status": "state"}),
    "European Defence Agency": Spec("Actor", {"sphere": "military", "status": "state"},
                                    ("EDA",)),
    "CrowdStrike": Spec("Actor", {"sphere": "civil", "status": "non-state"}),
    "LockBit": Spec("Actor", {"status": "criminal"}),
    "APT28": Spec("Actor", {"status": "state-sponsored"}),
    "PESCO Cyber Rapid Response Teams": Spec("Initiative", {"kind": "project"}),
    "NIS2 Directive": Spec("Initiative", {"kind": "legislation"}, ("NIS2",)),
    "Cybersecurity Skills Academy": Spec("Initiative", {"kind": "programme"}),
    "European action plan on the cybersecurity of hospitals and healthcare providers": Spec(
        "Initiative", {"kind": "action-plan"}, ("action plan",)),
    "Digital Europe Programme": Spec("FundingInstrument", {}, ("DEP",)),
    "healthcare": Spec("Sector", {}, ("Healthcare systems", "hospitals")),
    "ransomware": Spec("Threat", {}, ("ransomware attacks",)),
    "skills shortage": Spec("Threat", {}, ("cybersecurity skills gap", "skills gap")),
    "CrowdStrike outage": Spec("Event", {}, ("global IT disruptions",)),
    "Karpacz": Spec("Location"),
}

# The sectors of the NIS2 annexes: NIS2 gets more than 25 neighbours, to exercise the cap.
NIS2_SECTORS = (
    "energy", "transport", "banking", "financial market infrastructures", "drinking water",
    "waste water", "digital infrastructure", "ICT service management", "public administration",
    "space", "postal and courier services", "waste management", "chemicals", "food",
    "medical devices", "computers and electronics", "electrical equipment", "machinery",
    "motor vehicles", "other transport equipment", "digital providers", "research",
    "air transport", "rail transport", "water transport", "road transport", "electricity",
    "district heating", "oil", "gas", "hydrogen",
)
for _sector in NIS2_SECTORS:
    CATALOGUE[_sector] = Spec("Sector")


@dataclass(frozen=True)
class Sentence:
    text: str
    entities: tuple[str, ...]
    relations: tuple[tuple[str, str, str], ...] = ()
    themes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DocSpec:
    name: str
    title: str
    issuer: str
    date: str
    source: str
    sentences: tuple[Sentence, ...]


KARPACZ = DocSpec(
    "karpacz-2024-cyber-ministers-meeting.txt",
    "Enhancing Cooperation: How to Better Manage Cyber Crises?",
    "Polish Ministry of Digital Affairs",
    "2024-09-04",
    "https://example.org/karpacz-2024",
    (
        Sentence("ENISA, the European Union Agency for Cybersecurity, supports Member States "
                 "in handling large-scale cyber crises.", ("ENISA",)),
        Sentence("ENISA cooperates with the European Commission and the CSIRTs Network on "
                 "incident response.", ("ENISA", "European Commission", "CSIRTs Network"),
                 (("ENISA", "COOPERATES_WITH", "European Commission"),
                  ("ENISA", "COOPERATES_WITH", "CSIRTs Network"))),
        Sentence("The recent global IT disruptions caused by a faulty CrowdStrike software "
                 "update were a stress-test for cooperation.",
                 ("CrowdStrike outage", "CrowdStrike"),
                 (("CrowdStrike", "CAUSED", "CrowdStrike outage"),), ("it-disruptions",)),
        Sentence("ENISA and CERT-EU responded to the global IT disruptions within hours.",
                 ("ENISA", "CERT-EU", "CrowdStrike outage"),
                 (("ENISA", "RESPONDS_TO", "CrowdStrike outage"),
                  ("CERT-EU", "RESPONDS_TO", "CrowdStrike outage")), ("it-disruptions",)),
        Sentence("Healthcare systems are increasingly the target of ransomware attacks.",
                 ("healthcare", "ransomware"), (("ransomware", "TARGETS", "healthcare"),),
                 ("healthcare",)),
        Sentence("LockBit, a criminal group, and APT28, a state-sponsored actor, target "
                 "hospitals with ransomware.", ("LockBit", "APT28", "healthcare", "ransomware"),
                 (("LockBit", "TARGETS", "healthcare"), ("APT28", "TARGETS", "healthcare"),
                  ("LockBit", "RELATED_TO", "ransomware")), ("actors", "healthcare")),
        Sentence("The European Defence Agency and the European Commission work together in "
                 "the PESCO Cyber Rapid Response Teams to strengthen civil-military "
                 "cooperation.", ("European Defence Agency", "European Commission",
                                  "PESCO Cyber Rapid Response Teams"),
                 (("European Defence Agency", "LEADS", "PESCO Cyber Rapid Response Teams"),
                  ("European Commission", "PARTICIPATES_IN", "PESCO Cyber Rapid Response Teams"),
                  ("European Defence Agency", "COOPERATES_WITH", "European Commission")),
                 ("civil-military",)),
        Sentence("Despite efforts, the cybersecurity skills gap persists across Europe.",
                 ("skills shortage",), (), ("skills",)),
        Sentence("The meeting was held in Karpacz.", ("Karpacz",)),
    ),
)

HEALTH = DocSpec(
    "08_healthcare-cybersecurity-action-plan-2025.txt",
    "European action plan on the cybersecurity of hospitals and healthcare providers",
    "European Commission",
    "2025-01-15",
    "https://example.org/health-action-plan",
    (
        Sentence("The European action plan on the cybersecurity of hospitals and healthcare "
                 "providers covers hospitals across the Union.",
                 ("European action plan on the cybersecurity of hospitals and healthcare "
                  "providers", "healthcare"),
                 (("European action plan on the cybersecurity of hospitals and healthcare "
                   "providers", "COVERS", "healthcare"),), ("healthcare",)),
        Sentence("The Digital Europe Programme funds the action plan with dedicated calls.",
                 ("Digital Europe Programme", "European action plan on the cybersecurity of "
                  "hospitals and healthcare providers"),
                 (("Digital Europe Programme", "FUNDS", "European action plan on the "
                   "cybersecurity of hospitals and healthcare providers"),), ("healthcare",)),
        Sentence("ENISA will set up a support centre under the action plan against ransomware.",
                 ("ENISA", "European action plan on the cybersecurity of hospitals and "
                  "healthcare providers", "ransomware"),
                 (("ENISA", "LEADS", "European action plan on the cybersecurity of hospitals "
                   "and healthcare providers"),
                  ("European action plan on the cybersecurity of hospitals and healthcare "
                   "providers", "ADDRESSES", "ransomware")), ("healthcare",)),
    ),
)

SKILLS = DocSpec(
    "09_cybersecurity-skills-academy-2023.txt",
    "Cybersecurity Skills Academy",
    "European Commission",
    "2023-04-18",
    "https://example.org/skills-academy",
    (
        Sentence("The Digital Europe Programme funds the Cybersecurity Skills Academy.",
                 ("Digital Europe Programme", "Cybersecurity Skills Academy"),
                 (("Digital Europe Programme", "FUNDS", "Cybersecurity Skills Academy"),),
                 ("skills",)),
        Sentence("The Cybersecurity Skills Academy addresses the skills gap in Europe.",
                 ("Cybersecurity Skills Academy", "skills shortage"),
                 (("Cybersecurity Skills Academy", "ADDRESSES", "skills shortage"),),
                 ("skills",)),
        Sentence("ENISA contributes to the Cybersecurity Skills Academy.",
                 ("ENISA", "Cybersecurity Skills Academy"),
                 (("ENISA", "PARTICIPATES_IN", "Cybersecurity Skills Academy"),), ("skills",)),
    ),
)

NIS2 = DocSpec(
    "02_nis2-directive-recitals.txt",
    "NIS2 Directive, Annexes I and II",
    "European Parliament and Council",
    "2022-12-27",
    "https://eur-lex.europa.eu/eli/dir/2022/2555/oj",
    (
        Sentence("The NIS2 Directive covers " + ", ".join(NIS2_SECTORS) + ".",
                 ("NIS2 Directive", *NIS2_SECTORS),
                 tuple(("NIS2 Directive", "COVERS", s) for s in NIS2_SECTORS)),
        Sentence("ENISA supports the NIS2 Directive with the CSIRTs Network.",
                 ("ENISA", "NIS2 Directive", "CSIRTs Network"),
                 (("ENISA", "PARTICIPATES_IN", "NIS2 Directive"),
                  ("CSIRTs Network", "PARTICIPATES_IN", "NIS2 Directive"))),
    ),
)

# Ingest order matters for "what this document brought": NIS2 first, the meeting last.
DOCUMENTS: tuple[DocSpec, ...] = (NIS2, SKILLS, HEALTH, KARPACZ)


def _forms(name: str) -> tuple[str, ...]:
    spec = CATALOGUE[name]
    return tuple(sorted({name, *spec.aliases}, key=len, reverse=True))


def build_extraction(spec: DocSpec) -> Extraction:
    """Turn a document spec into the records the extractor would produce: mentions are
    every occurrence of an entity's name or alias inside its sentences."""
    header = f"{spec.title}\n\n"
    text = header
    passages: list[Passage] = []
    for i, s in enumerate(spec.sentences):
        start = len(text)
        text += s.text
        passages.append(Passage(i, start, start + len(s.text), s.text, None, s.themes))
        text += " "
    text = text.rstrip() + "\n"
    mentions: dict[str, list[Mention]] = {}
    for p, s in zip(passages, spec.sentences, strict=True):
        taken: list[tuple[int, int]] = []
        # longest surface forms first, so "air transport" is not read as "transport"
        forms = sorted(((f, n) for n in s.entities for f in _forms(n)), key=lambda x: -len(x[0]))
        for form, name in forms:
            for m in re.finditer(rf"(?<!\w){re.escape(form)}(?!\w)", s.text):
                a, b = m.start(), m.end()
                if any(a < y and x < b for x, y in taken):
                    continue
                taken.append((a, b))
                mentions.setdefault(name, []).append(
                    Mention(p.start + a, p.start + b, m.group(0), p.index)
                )
    for found in mentions.values():
        found.sort(key=lambda m: m.start)
    entities = tuple(
        Entity(
            key=entity_key(CATALOGUE[name].type, name), name=name, type=CATALOGUE[name].type,
            aliases=CATALOGUE[name].aliases, facets=dict(CATALOGUE[name].facets),
            curated=True, method="registry", mentions=tuple(ms),
        )
        for name, ms in mentions.items()
    )
    relations = tuple(
        Relation(
            source=entity_key(CATALOGUE[a].type, a), type=t,
            target=entity_key(CATALOGUE[b].type, b),
            evidence=(Evidence(p.index, p.start, p.end),),
            method="cooccurrence" if t == "RELATED_TO" else "dependency",
        )
        for p, s in zip(passages, spec.sentences, strict=True)
        for a, t, b in s.relations
    )
    doc = Document(
        id=hashlib.sha256(text.encode()).hexdigest(), path=f"corpus/{spec.name}",
        title=spec.title, text=text, format="txt", issuer=spec.issuer, date=spec.date,
        source=spec.source,
    )
    return Extraction(doc, tuple(passages), entities, relations)


def key(name: str) -> str:
    """The graph key of a catalogue entity."""
    return entity_key(CATALOGUE[name].type, name)


EXTRACTIONS: tuple[Extraction, ...] = tuple(build_extraction(d) for d in DOCUMENTS)


def doc_id(spec: DocSpec) -> str:
    return EXTRACTIONS[DOCUMENTS.index(spec)].document.id


# --- Neo4j ----------------------------------------------------------------------------------


def neo4j_settings() -> tuple[str, str, str, str | None]:
    uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    user = os.environ.get("NEO4J_USER", "neo4j")
    password = os.environ.get("NEO4J_PASSWORD", "")
    database = os.environ.get("NEO4J_DATABASE") or None
    return uri, user, password, database


def load_fixture_graph(driver: Driver, onto: Ontology, database: str | None) -> None:
    """Wipe the database and write the fixture documents in ingest order."""
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=database)
    writer = GraphWriter(driver, onto, database)
    writer.ensure_schema()
    driver.execute_query("CALL db.awaitIndexes(60)", database_=database)
    for i, extraction in enumerate(EXTRACTIONS):
        writer.write(extraction)
        # one ingest run per document, so "what this document brought to the graph" follows
        # the ingest order above
        writer.record_run(
            {"id": f"dashboard-fixture-{i}", "at": f"2025-06-01T10:00:{i:02d}+00:00",
             "documents": 1, "failed": 0, "seconds": 0.0},
            [extraction.document.id],
        )


@pytest.fixture(scope="module")
def fixture_graph() -> Iterator[tuple[Driver, Ontology, str | None]]:
    """A driver on a database holding exactly the fixture graph (module scope)."""
    uri, user, password, database = neo4j_settings()
    if not password:
        pytest.skip("NEO4J_PASSWORD is not set; these tests need the real Neo4j")
    driver = GraphDatabase.driver(uri, auth=(user, password))
    try:
        driver.verify_connectivity()
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no server here
        driver.close()
        pytest.skip(f"Neo4j is not reachable at {uri}: {exc}")
    onto = default_ontology()
    load_fixture_graph(driver, onto, database)
    yield driver, onto, database
    driver.execute_query("MATCH (n) DETACH DELETE n", database_=database)
    driver.close()


# --- a served app ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApp:
    """A Dash app served by werkzeug in a background thread on a free loopback port."""

    def __init__(self, app: object) -> None:
        from werkzeug.serving import make_server

        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app.server, threaded=True)  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServedApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


# --- accounts and logging in ----------------------------------------------------------------

TEST_SECRET = b"policykg-test-secret-key-not-for-production"
TEST_PASSWORD = "correct horse battery"


_ACCOUNTS: list[object] = []


def shared_accounts() -> AccountStore:
    """The account store the test apps use: a users file in a temporary directory of this
    test process (accounts are not in the graph, so wiping the graph keeps them)."""
    if not _ACCOUNTS:
        from graph.accounts import AccountStore

        home = Path(tempfile.mkdtemp(prefix="policykg-accounts-"))
        atexit.register(shutil.rmtree, home, True)
        _ACCOUNTS.append(AccountStore(home / "users.json"))
    return _ACCOUNTS[0]  # type: ignore[return-value]


def make_user(name: str, role: str = "viewer", clearance: str = "RED",
              password: str = TEST_PASSWORD, *, store: AccountStore | None = None) -> None:
    """(Re)create a dashboard account in `store` (by default the test apps' store)."""
    store = store or shared_accounts()
    store.remove(name)
    store.add(name, password, role=role, clearance=clearance)


def create_test_app(driver: Driver, onto: Ontology, database: str | None,
                    **options: object) -> object:
    """The real app with a fixed session key and the test account store (nothing written
    under .policykg)."""
    from dashboard.app import create_app

    options.setdefault("accounts", shared_accounts())
    return create_app(driver, onto, database, secret_key=TEST_SECRET, **options)  # type: ignore[arg-type]


def login(context: object, base_url: str, name: str,
          password: str = TEST_PASSWORD) -> int:
    """Log a Playwright browser context in through the real form (its CSRF token included);
    the session cookie lands in the context's cookie jar. Returns the POST's status."""
    context.clear_cookies()  # type: ignore[attr-defined]  # log out whoever was in
    request = context.request  # type: ignore[attr-defined]
    page = request.get(f"{base_url}/login").text()
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token, "the login page carries no CSRF token"
    response = request.post(f"{base_url}/login", form={
        "csrf": token.group(1), "next": "/", "username": name, "password": password,
    }, max_redirects=0)
    return int(response.status)
