"""The dashboard under load: ten logged-in users for ten seconds through search, view,
expand and details, with no error (the full run is 50 users for two minutes, in the bench)."""

from __future__ import annotations

from typing import Any

import pytest
from dashboard_fixtures import ServedApp, create_test_app, fixture_graph, make_user

from dashboard.loadtest import LoadTestError, percentile, run_load

pytestmark = [pytest.mark.neo4j]
__all__ = ["fixture_graph"]


def test_percentile_and_loopback_only() -> None:
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3 and percentile([], 0.95) == 0.0
    assert percentile(list(range(1, 101)), 0.95) == 95
    with pytest.raises(LoadTestError, match="loopback"):
        run_load("http://example.org", [("a", "b")], users=1, duration=1)


def test_ten_users_for_ten_seconds_without_errors(fixture_graph: Any) -> None:
    driver, onto, database = fixture_graph
    make_user("load", "viewer", "RED")
    with ServedApp(create_test_app(driver, onto, database)) as served:
        report = run_load(served.url, [("load", "correct horse battery")], users=10,
                          duration=10, max_requests=5_000)
    print(report.text())
    assert report.errors == 0, report.error_samples
    assert set(report.by_step) == {"search", "view", "expand", "details"}
    assert report.requests >= 40 and report.p95_ms > 0


def test_wrong_credentials_stop_the_load_test(fixture_graph: Any) -> None:
    driver, onto, database = fixture_graph
    with ServedApp(create_test_app(driver, onto, database)) as served, \
            pytest.raises(LoadTestError, match="refused"):
        run_load(served.url, [("nobody", "not-a-password")], users=1, duration=1)
