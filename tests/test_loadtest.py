"""The dashboard under load: logged-in users through search, view, expand and details, with no
error, against the app in this process and against `policykg serve` (waitress) in a child
process, as the bench runs it (the full run is 50 users for two minutes, in the bench)."""

from __future__ import annotations

import pstats
from typing import Any

import pytest
import requests
from dashboard_fixtures import ServedApp, create_test_app, fixture_graph, make_user

from dashboard import loadtest
from dashboard.loadtest import LoadTestError, percentile, run_load, serve_and_load

pytestmark = [pytest.mark.neo4j]
__all__ = ["fixture_graph"]
STEPS = {"search", "view", "expand", "details"}


def _gone(url: str) -> bool:
    try:
        requests.get(f"{url}/login", timeout=2)
    except requests.ConnectionError:
        return True
    return False


def test_percentile_and_loopback_only() -> None:
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile([], 0.95) == 0.0
    assert percentile(list(range(1, 101)), 0.95) == 95
    with pytest.raises(LoadTestError, match="loopback"):
        run_load("http://example.org", [("a", "b")], users=1, duration=1)
    with pytest.raises(LoadTestError, match="loopback"):
        run_load("http://10.0.0.1:8050", [("a", "b")], users=1, duration=1)
    with pytest.raises(LoadTestError, match="negative"):
        run_load("http://127.0.0.1:9", [("a", "b")], users=1, duration=1, think=-1)


def test_ten_users_for_ten_seconds_without_errors(fixture_graph: Any) -> None:
    driver, onto, database = fixture_graph
    make_user("load", "viewer", "RED")
    with ServedApp(create_test_app(driver, onto, database)) as served:
        report = run_load(served.url, [("load", "correct horse battery")], users=10,
                          duration=10, max_requests=5_000, think=0)
    print(report.text())
    assert report.errors == 0, report.error_samples
    assert set(report.by_step) == STEPS
    assert report.requests >= 40 and report.p95_ms > 0
    assert report.p50_ms <= report.p95_ms <= report.max_ms and report.throughput > 0


def test_think_time_paces_the_users(fixture_graph: Any) -> None:
    """Each user pauses at least half the think time before each click (search, open, tap;
    a tap sends expand and details), so in three seconds a user thinking 1 s on average makes
    at most six clicks: search, open, tap, search, open, tap, that is eight callbacks."""
    driver, onto, database = fixture_graph
    make_user("load", "viewer", "RED")
    with ServedApp(create_test_app(driver, onto, database)) as served:
        report = run_load(served.url, [("load", "correct horse battery")], users=2,
                          duration=3, think=1.0)
    print(report.text())
    assert report.errors == 0, report.error_samples
    assert 1 <= report.requests <= 2 * 8
    assert report.think == 1.0 and "think time 1 s" in report.text()
    assert report.seconds < 3 + 5  # no pause runs past the deadline


def test_wrong_credentials_stop_the_load_test(fixture_graph: Any) -> None:
    driver, onto, database = fixture_graph
    with ServedApp(create_test_app(driver, onto, database)) as served, \
            pytest.raises(LoadTestError, match="refused"):
        run_load(served.url, [("nobody", "not-a-password")], users=1, duration=1)


def test_policykg_serve_in_a_child_process_under_load(fixture_graph: Any, tmp_path: Any) -> None:
    """What the bench runs: `policykg serve` (waitress) in its own process, reading the graph
    with the connection settings of the environment, a throwaway RED viewer, and the server
    stopped afterwards (its profile is written only on a clean SIGINT shutdown)."""
    _, _, database = fixture_graph
    profile = tmp_path / "server.prof"
    report = serve_and_load(None, database, users=4, duration=4, think=0.2, profile=profile)
    print(report.text())
    assert report.errors == 0, report.error_samples
    assert set(report.by_step) == STEPS
    assert "waitress" in report.server and report.url.startswith("http://127.0.0.1:")
    assert _gone(report.url)
    stats = pstats.Stats(str(profile))
    assert any(name == "dispatch" for _, _, name in stats.stats)  # type: ignore[attr-defined]

    plain = serve_and_load(None, database, users=3, duration=3, think=0)
    assert plain.errors == 0 and plain.requests > 0, plain.error_samples
    assert _gone(plain.url)


def test_the_server_is_stopped_when_the_load_is_interrupted(fixture_graph: Any,
                                                            monkeypatch: Any) -> None:
    _, _, database = fixture_graph
    seen: list[str] = []

    def interrupted(base_url: str, *args: Any, **kwargs: Any) -> Any:
        assert requests.get(f"{base_url}/login", timeout=5).status_code == 200
        seen.append(base_url)
        raise KeyboardInterrupt

    monkeypatch.setattr(loadtest, "run_load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        serve_and_load(None, database, users=1, duration=1)
    assert seen and _gone(seen[0])


def test_a_server_that_cannot_start_is_reported(fixture_graph: Any) -> None:
    _, _, database = fixture_graph
    with pytest.raises(LoadTestError, match="exited"):
        serve_and_load({"NEO4J_URI": "bolt://127.0.0.1:9"}, database, users=1, duration=1)
