"""A load test of the dashboard over HTTP: logged-in users searching, opening an entity,
expanding a neighbour and reading its details, through Dash's real callback endpoint.

`run_load(base_url, credentials, users=50, duration=120)` drives `users` threads, each with
its own session (logged in through the real form, CSRF token included), for `duration`
seconds or until `max_requests` callbacks have been sent, and reports the count, the errors
and the latency percentiles. Payloads are built from the app's own `/_dash-dependencies`, so
they are what the browser would send. Loopback only: it refuses any other host.
`serve_and_load(driver, ontology)` serves a fresh app on a free loopback port with a temporary
account and runs the load against it (what `policykg bench` calls).
"""

from __future__ import annotations

import random
import re
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SEARCH_TERMS: tuple[str, ...] = ("ENISA", "NIS2", "ransom", "health", "Commission", "skills",
                                 "Digital Europe", "CSIRT", "energy", "LockBit")
UPDATE = "/_dash-update-component"


class LoadTestError(RuntimeError):
    """The load test could not start (not loopback, login refused, unknown app)."""


@dataclass(frozen=True)
class LoadReport:
    """What the load did: callbacks sent, failures, latency (milliseconds)."""

    users: int
    seconds: float
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    by_step: dict[str, float] = field(default_factory=dict)  # p95 per step
    error_samples: tuple[str, ...] = ()

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        steps = ", ".join(f"{k} {v:.0f} ms" for k, v in self.by_step.items())
        return (f"{self.users} users for {self.seconds:.0f} s: {self.requests} callbacks "
                f"({self.throughput:.1f}/s), {self.errors} errors; p50 {self.p50_ms:.0f} ms, "
                f"p95 {self.p95_ms:.0f} ms, max {self.max_ms:.0f} ms (p95 by step: {steps})")


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _outputs(output: str) -> list[dict[str, str]] | dict[str, str]:
    """The `outputs` of a request, from a dependency's output string."""
    def one(spec: str) -> dict[str, str]:
        id_, prop = spec.split(".", 1)
        return {"id": id_, "property": prop}

    if output.startswith(".."):
        return [one(s) for s in output[2:-2].split("...")]
    return one(output)


@dataclass(frozen=True)
class _Callbacks:
    search: str
    render: str
    expand: str
    details: str

    @classmethod
    def find(cls, deps: list[dict[str, Any]]) -> _Callbacks:
        def pick(test: Callable[[dict[str, Any]], bool], what: str) -> str:
            for d in deps:
                if test(d):
                    return str(d["output"])
            raise LoadTestError(f"the app has no {what} callback")

        def inputs(d: dict[str, Any]) -> list[str]:
            return [f"{i['id']}.{i['property']}" for i in d["inputs"]]

        return cls(
            search=pick(lambda d: d["output"] == "search.options", "search"),
            render=pick(lambda d: "graph.elements" in d["output"]
                        and inputs(d) == ["url.search"], "view"),
            expand=pick(lambda d: "graph.elements" in d["output"]
                        and inputs(d) == ["graph.tapNode"], "expand"),
            details=pick(lambda d: d["output"] == "details.children", "details"),
        )


def login(session: requests.Session, base_url: str, name: str, password: str,
          timeout: float = 30.0) -> None:
    page = session.get(f"{base_url}/login", timeout=timeout).text
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    if not token:
        raise LoadTestError("the login page has no CSRF token")
    r = session.post(f"{base_url}/login", data={"csrf": token.group(1), "username": name,
                                                "password": password},
                     allow_redirects=False, timeout=timeout)
    if r.status_code != 302:
        raise LoadTestError(f"login as {name!r} refused ({r.status_code})")


class _User:
    """One simulated user: search → open an entity → expand a neighbour → its details."""

    def __init__(self, base_url: str, callbacks: _Callbacks, session: requests.Session,
                 rng: random.Random, timeout: float) -> None:
        self.base, self.cb, self.session, self.rng = base_url, callbacks, session, rng
        self.timeout = timeout

    def call(self, output: str, inputs: list[dict[str, Any]], state: list[dict[str, Any]],
             changed: list[str]) -> tuple[float, dict[str, Any] | None, str | None]:
        payload = {"output": output, "outputs": _outputs(output), "inputs": inputs,
                   "state": state, "changedPropIds": changed}
        start = time.perf_counter()
        try:
            r = self.session.post(self.base + UPDATE, json=payload, timeout=self.timeout)
        except requests.RequestException as exc:
            return (time.perf_counter() - start) * 1000, None, f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - start) * 1000
        if r.status_code == 204:
            return elapsed, {}, None
        if r.status_code != 200:
            return elapsed, None, f"HTTP {r.status_code}: {r.text[:120]}"
        try:
            body = r.json()
        except ValueError:
            return elapsed, None, "not JSON"
        return elapsed, body.get("response") or {}, None

    def journey(self, record: Callable[[str, float, str | None], None]) -> None:
        term = self.rng.choice(SEARCH_TERMS)
        ms, resp, err = self.call(
            self.cb.search, [{"id": "search", "property": "search_value", "value": term}],
            [{"id": "search", "property": "value", "value": None}], ["search.search_value"])
        record("search", ms, err)
        options = (resp or {}).get("search", {}).get("options") or []
        if err or not options:
            return
        key = options[0]["value"]
        query = f"?entity={quote(key)}"
        ms, resp, err = self.call(self.cb.render, [{"id": "url", "property": "search",
                                                    "value": query}],
                                  [{"id": "view", "property": "data", "value": None}],
                                  ["url.search"])
        record("view", ms, err)
        if err or not resp:
            return
        elements = resp.get("graph", {}).get("elements") or []
        view = resp.get("view", {}).get("data")
        neighbours = [e["data"]["id"] for e in elements
                      if "source" not in e.get("data", {}) and e["data"]["id"] != key
                      and not e["data"]["id"].startswith("more|")]
        if not neighbours or not view:
            return
        other = self.rng.choice(neighbours)
        tap = {"data": {"id": other}}
        ms, _, err = self.call(
            self.cb.expand, [{"id": "graph", "property": "tapNode", "value": tap}],
            [{"id": "view", "property": "data", "value": view},
             {"id": "url", "property": "search", "value": query}], ["graph.tapNode"])
        record("expand", ms, err)
        ms, _, err = self.call(
            self.cb.details, [{"id": "graph", "property": "tapNode", "value": tap},
                              {"id": "graph", "property": "tapEdge", "value": None}],
            [], ["graph.tapNode"])
        record("details", ms, err)


def run_load(
    base_url: str,
    credentials: Sequence[tuple[str, str]],
    *,
    users: int = 50,
    duration: float = 120.0,
    max_requests: int = 200_000,
    timeout: float = 30.0,
    seed: int = 7,
) -> LoadReport:
    """Drive `users` concurrent logged-in users against the dashboard at `base_url` (a
    loopback address) for `duration` seconds or `max_requests` callbacks. `credentials` are
    (name, password) pairs, shared round-robin among the users."""
    host = urlsplit(base_url).hostname or ""
    if host not in LOOPBACK:
        raise LoadTestError(f"the load test only runs against loopback, not {host!r}")
    if not credentials or users < 1 or duration <= 0:
        raise LoadTestError("need credentials, at least one user and a positive duration")
    base = base_url.rstrip("/")
    sessions = []
    for i in range(users):
        s = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=2)
        s.mount("http://", adapter)
        name, password = credentials[i % len(credentials)]
        login(s, base, name, password, timeout)
        sessions.append(s)
    deps = sessions[0].get(base + "/_dash-dependencies", timeout=timeout)
    if deps.status_code != 200:
        raise LoadTestError(f"/_dash-dependencies answered {deps.status_code}")
    callbacks = _Callbacks.find(deps.json())

    lock = threading.Lock()
    latencies: dict[str, list[float]] = {}
    errors: list[str] = []
    sent = 0
    start = time.monotonic()
    deadline = start + duration

    def record(step: str, ms: float, err: str | None) -> None:
        nonlocal sent
        with lock:
            sent += 1
            latencies.setdefault(step, []).append(ms)
            if err:
                errors.append(f"{step}: {err}")

    def worker(i: int) -> None:
        user = _User(base, callbacks, sessions[i], random.Random(seed + i), timeout)
        while time.monotonic() < deadline:
            with lock:
                if sent >= max_requests:
                    return
            try:
                user.journey(record)
            except Exception as exc:  # noqa: BLE001 - a broken journey is an error, not a crash
                record("journey", 0.0, f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + timeout + 30)
    elapsed = time.monotonic() - start
    for s in sessions:
        s.close()
    every = [ms for values in latencies.values() for ms in values]
    return LoadReport(
        users=users, seconds=elapsed, requests=sent, errors=len(errors),
        p50_ms=statistics.median(every) if every else 0.0,
        p95_ms=percentile(every, 0.95), max_ms=max(every, default=0.0),
        by_step={k: percentile(v, 0.95) for k, v in latencies.items()},
        error_samples=tuple(dict.fromkeys(errors))[:10],
    )


def serve_and_load(driver: Any, ontology: Any, database: str | None = None, *,
                   users: int = 50, duration: float = 120.0,
                   max_requests: int = 200_000) -> LoadReport:
    """Serve a fresh dashboard on a free loopback port (werkzeug, threaded) with a temporary
    RED-cleared viewer account in a throwaway account file (the real accounts are never
    touched), run the load, then stop serving and delete the file."""
    from werkzeug.serving import make_server

    from dashboard.app import create_app
    from graph.accounts import AccountStore

    with tempfile.TemporaryDirectory(prefix="policykg-loadtest-") as tmp:
        store = AccountStore(Path(tmp) / "users.json")
        name, password = f"loadtest-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
        store.add(name, password, role="viewer", clearance="RED")
        app = create_app(driver, ontology, database, secret_key=secrets.token_bytes(32),
                         accounts=store)
        server = make_server("127.0.0.1", 0, app.server, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            return run_load(f"http://127.0.0.1:{server.server_port}", [(name, password)],
                            users=users, duration=duration, max_requests=max_requests)
        finally:
            server.shutdown()
            thread.join(timeout=10)
