"""Ingest never loses or corrupts data: `policykg ingest` killed mid-batch (the process, or
the Neo4j server under it) and run again leaves exactly the graph a clean run leaves; a
changed document replaces its facts; `policykg remove` withdraws only what rested on the
removed document; `policykg backup` / `restore` round-trip the graph."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CORPUS, ROOT, wipe
from tests.graph_state import graph_dump

CLI = [sys.executable, str(ROOT / "policykg_cli.py")]
SOURCES = [
    "06_eu-cyber-defence-policy-2022.txt", "08_healthcare-cybersecurity-action-plan-2025.txt",
    "09_cybersecurity-skills-academy-2023.txt", "14_crowdstrike-outage-july-2024-us-gov.txt",
    "17_nis2-articles-14-16-eu-cooperation.txt", "karpacz-2024-cyber-ministers-meeting.txt",
]
CRASH_PORT = int(os.environ.get("POLICYKG_CRASH_PORT", "7694"))
CRASH_PASSWORD = "crash-test-password"


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], cwd=ROOT, env=env or dict(os.environ),
                            capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"policykg {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def documents(driver: Any) -> int:
    records, _, _ = driver.execute_query("MATCH (d:Document) RETURN count(d) AS n")
    return int(records[0]["n"])


def small_batch(folder: Path, chars: int = 700, copies: int = 6) -> list[Path]:
    """Small documents: the opening paragraphs of six corpus texts (kept small because
    extraction shares two cores with everything else), `copies` distinct copies of each, so
    the batch spans several of the writer's transactions (it commits up to 16 documents at
    once) and a kill after the first lands mid-batch."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name in SOURCES:
        opening = ""
        for paragraph in (CORPUS / name).read_text(encoding="utf-8").split("\n\n"):
            if len(opening) >= chars:
                break
            opening += paragraph + "\n\n"
        for i in range(copies):
            path = folder / f"{Path(name).stem}-{i}.txt"
            path.write_text(f"{opening}Copy {i + 1}.\n", encoding="utf-8")
            made.append(path)
    return made


def ingest_and_kill(env: dict[str, str], folder: Path, driver: Any,
                    kill: Any, total: int) -> None:
    """Start `policykg ingest`, wait until the first document is in the graph, then `kill`."""
    proc = subprocess.Popen([*CLI, "ingest", str(folder)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while documents(driver) < 1:
            assert proc.poll() is None, "ingest ended before writing a document"
            assert time.monotonic() < deadline, "no document written within 240 s"
            time.sleep(0.05)
        kill(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode != 0, "ingest finished before it could be killed"


def kill_ingest(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("crash") / "batch"
    return folder, len(small_batch(folder))


@pytest.fixture(scope="module")
def clean_dump(neo4j_driver, batch) -> dict[str, list[str]]:  # noqa: ANN001
    """The graph one uninterrupted `policykg ingest` of the batch leaves."""
    folder, total = batch
    wipe(neo4j_driver)
    cli("ingest", str(folder))
    assert documents(neo4j_driver) == total
    return graph_dump(neo4j_driver)


def test_ingest_killed_mid_batch_then_rerun_equals_a_clean_run(neo4j_driver, batch,  # noqa: ANN001
                                                                clean_dump) -> None:
    folder, total = batch
    wipe(neo4j_driver)
    ingest_and_kill(dict(os.environ), folder, neo4j_driver, kill_ingest, total)
    assert 1 <= documents(neo4j_driver) < total, "the kill did not land mid-batch"
    cli("ingest", str(folder))
    assert graph_dump(neo4j_driver) == clean_dump


# --- the server killed under the ingest ----------------------------------------------------


@pytest.fixture
def crash_server(tmp_path: Path, neo4j_driver) -> Iterator[dict[str, Any]]:  # noqa: ANN001
    """A Neo4j of our own (home, port), so killing it harms no other test."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import Neo4jError

    from graph.server import ServerError, ServerPaths, start, stop

    paths = ServerPaths(tmp_path / "home")
    uri = f"bolt://127.0.0.1:{CRASH_PORT}"

    def up() -> None:
        # On a first start Bolt answers before the launcher has set the password, so the
        # probe is refused, and then rate-limited for a few seconds: wait and ask again.
        for attempt in range(30):
            try:
                start(paths, uri, CRASH_PASSWORD, heap="768m", pagecache_mb=64, timeout=240)
                return
            except (ServerError, Neo4jError) as exc:
                if not any(word in str(exc) for word in ("password", "Authentication")) \
                        or attempt == 29:
                    raise
                time.sleep(6)

    env = {**os.environ, "NEO4J_URI": uri, "NEO4J_PASSWORD": CRASH_PASSWORD,
           "NEO4J_USER": "neo4j", "NEO4J_DATABASE": "neo4j", "POLICYKG_HOME": str(paths.home)}
    driver = GraphDatabase.driver(uri, auth=("neo4j", CRASH_PASSWORD))
    try:
        up()
        yield {"paths": paths, "driver": driver, "env": env, "up": up}
    finally:
        driver.close()
        stop(paths, wipe=True)


def test_server_killed_mid_ingest_then_restarted_and_rerun_equals_a_clean_run(
        crash_server, batch, clean_dump) -> None:  # noqa: ANN001
    folder, total = batch
    paths, driver, env = crash_server["paths"], crash_server["driver"], crash_server["env"]

    def kill_server_then_ingest(proc: subprocess.Popen[bytes]) -> None:
        os.kill(int(paths.pid.read_text()), signal.SIGKILL)  # the JVM, as in a power cut
        os.killpg(proc.pid, signal.SIGKILL)

    ingest_and_kill(env, folder, driver, kill_server_then_ingest, total)
    crash_server["up"]()  # recovery from the transaction log happens here
    driver.verify_connectivity()
    assert 1 <= documents(driver) < total
    cli("ingest", str(folder), env=env)
    assert graph_dump(driver) == clean_dump


# --- changed documents, removal, backup -----------------------------------------------------


def test_changed_document_replaces_its_facts(neo4j_driver, batch,  # noqa: ANN001
                                             tmp_path: Path) -> None:
    """Re-ingesting after an edit leaves the graph a clean ingest of the edited folder leaves
    (two documents, so three ingests stay quick)."""
    folder = tmp_path / "batch"
    folder.mkdir()
    for source in sorted(batch[0].glob("*-0.txt"))[:2]:  # two different texts
        shutil.copy(source, folder / source.name)
    edited = sorted(folder.iterdir())[0]
    wipe(neo4j_driver)
    cli("ingest", str(folder))
    original = graph_dump(neo4j_driver)
    edited.write_text("Europol and ENISA counter ransomware targeting the energy sector.\n",
                      encoding="utf-8")
    cli("ingest", str(folder))
    after_edit = graph_dump(neo4j_driver)
    wipe(neo4j_driver)
    cli("ingest", str(folder))
    assert after_edit == graph_dump(neo4j_driver)
    assert after_edit != original


ONE = "ENISA and CERT-EU will work together to counter ransomware attacks targeting hospitals.\n"
TWO = ("ENISA and CERT-EU will work together on incident reporting.\n\n"
       "Europol also tracks DDoS attacks against banks.\n")


def test_remove_withdraws_only_what_rested_on_the_document(empty_graph, neo4j_driver,  # noqa: ANN001
                                                            tmp_path: Path) -> None:
    (tmp_path / "one.txt").write_text(ONE, encoding="utf-8")
    (tmp_path / "two.txt").write_text(TWO, encoding="utf-8")
    cli("ingest", str(tmp_path))
    records, _, _ = neo4j_driver.execute_query(
        "MATCH (d:Document) RETURN d.id AS id, d.path AS path")
    ids = {Path(r["path"]).name: r["id"] for r in records}

    def entities() -> set[str]:
        records, _, _ = neo4j_driver.execute_query("MATCH (e:Entity) RETURN e.name AS name")
        return {r["name"] for r in records}

    def cooperation() -> dict[str, Any] | None:
        records, _, _ = neo4j_driver.execute_query(
            "MATCH (:Entity {name: 'ENISA'})-[r:COOPERATES_WITH]-(:Entity {name: 'CERT-EU'}) "
            "RETURN r.documents AS documents, r.evidence AS evidence")
        return records[0].data() if records else None

    before = cooperation()
    assert before and sorted(before["documents"]) == sorted(ids.values())
    assert {"ENISA", "CERT-EU", "ransomware", "Europol"} <= entities()

    result = cli("remove", ids["one.txt"][:10])  # by id prefix
    assert "removed" in result.stdout
    names = entities()
    assert {"ENISA", "CERT-EU", "Europol"} <= names  # still mentioned by two.txt
    assert "ransomware" not in names  # mentioned by one.txt alone
    after = cooperation()
    assert after is not None, "a relation two.txt supports was withdrawn"
    assert after["documents"] == [ids["two.txt"]]
    assert after["evidence"] and all(k.startswith(ids["two.txt"] + ":") for k in after["evidence"])
    assert documents(neo4j_driver) == 1

    cli("remove", str(tmp_path / "two.txt"))  # by path
    assert documents(neo4j_driver) == 0 and entities() == set()
    missing = cli("remove", "no-such-document", check=False)
    assert missing.returncode != 0 and "no document" in missing.stderr


@pytest.mark.parametrize("name", ["graph.jsonl", "graph.jsonl.gz"])
def test_backup_wipe_restore_round_trip(neo4j_driver, batch, clean_dump, tmp_path: Path,  # noqa: ANN001
                                        name: str) -> None:
    from graph.backup import canonical_dump

    folder, _ = batch
    if graph_dump(neo4j_driver) != clean_dump:  # tests may run alone or in another order
        wipe(neo4j_driver)
        cli("ingest", str(folder))
    full = canonical_dump(neo4j_driver)  # run history included
    file = tmp_path / name
    cli("backup", str(file))
    refused = cli("restore", str(file), check=False)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    wipe(neo4j_driver)
    cli("restore", str(file))
    assert canonical_dump(neo4j_driver) == full
    cli("restore", "--force", str(file))
    assert canonical_dump(neo4j_driver) == full


def test_restore_refuses_a_truncated_or_foreign_backup(neo4j_driver, ontology,  # noqa: ANN001
                                                       empty_graph, tmp_path: Path) -> None:
    from graph.backup import BackupError, backup, restore

    neo4j_driver.execute_query(
        "CREATE (:Entity:Actor {key: 'Actor:enisa', name: 'ENISA'})"
        "-[:COOPERATES_WITH {documents: ['d']}]->(:Entity:Actor {key: 'Actor:cert-eu'})")
    good = tmp_path / "good.jsonl"
    backup(neo4j_driver, good)
    lines = good.read_text(encoding="utf-8").splitlines(keepends=True)
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text("".join(lines[:-1]), encoding="utf-8")
    foreign = tmp_path / "foreign.jsonl"
    foreign.write_text("".join(lines).replace('"Actor"', '"Evil`) DETACH DELETE n //"'),
                       encoding="utf-8")
    wipe(neo4j_driver)
    for bad, reason in ((truncated, "truncated"), (foreign, "whitelist")):
        with pytest.raises(BackupError, match=reason):
            restore(neo4j_driver, ontology, bad)
        assert documents(neo4j_driver) == 0
        records, _, _ = neo4j_driver.execute_query("MATCH (n) RETURN count(n) AS n")
        assert records[0]["n"] == 0
