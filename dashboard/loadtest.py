"""A load test of the dashboard over HTTP: logged-in users searching, opening an entity,
expanding a neighbour and reading its details, through Dash's real callback endpoint.

`run_load(base_url, credentials, users=50, duration=120, think=1.0)` drives `users` threads,
each with its own session (logged in through the real form, CSRF token included), for
`duration` seconds or until `max_requests` callbacks have been sent, and reports the count,
the errors, the throughput and the latency percentiles. Payloads are built from the app's own
`/_dash-dependencies`, so they are what the browser would send. Loopback only: it refuses any
other host.

Think time: before each click (search, open, tap) a user pauses, as a person reads what the
last one showed, for a random time drawn uniformly between half and one and a half times
`think` seconds (mean `think`); a tap's expansion and details go together, as in a browser.
`think=0` sends the next callback as soon as the last one answered (a stress test: every
user is then a busy loop, far more than 50 people at a keyboard).

`serve_and_load(env)` is what `policykg bench` calls: it runs `policykg serve` itself (waitress,
its production server and thread count) in a separate process on a free loopback port, with
the Neo4j connection settings of `env` and a throwaway account file holding one RED-cleared
viewer (the real accounts are never touched), waits for it to answer, drives the load from
this process, and stops the server (SIGINT, waitress's clean shutdown) whatever happens. The
load and the server so do not share one interpreter lock. With `profile=PATH` the server
profiles every request (cProfile, per thread) and writes the merged statistics to PATH when
it stops: `python -m pstats PATH` reads them.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
SEARCH_TERMS: tuple[str, ...] = ("ENISA", "NIS2", "ransom", "health", "Commission", "skills",
                                 "Digital Europe", "CSIRT", "energy", "LockBit")
UPDATE = "/_dash-update-component"
LOGIN_WORKERS = 4


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
    think: float = 0.0  # mean pause before each step, seconds
    server: str = ""  # what served the app, when known
    url: str = ""  # where it was served

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def text(self) -> str:
        steps = ", ".join(f"{k} {v:.0f} ms" for k, v in self.by_step.items())
        served = f" on {self.server}" if self.server else ""
        return (f"{self.users} users (think time {self.think:g} s){served} for "
                f"{self.seconds:.0f} s: {self.requests} callbacks "
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

    def journey(self, record: Callable[[str, float, str | None], None],
                pause: Callable[[], bool] = lambda: True) -> None:
        """One visit; `pause()` is called before each click (the user's think time: before
        searching, opening the entity and tapping a neighbour, whose expansion and details
        then go together) and ends the visit when it answers False (the load is over)."""
        if not pause():
            return
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
        if not pause():
            return
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
        if not pause():
            return
        ms, _, err = self.call(
            self.cb.expand, [{"id": "graph", "property": "tapNode", "value": tap}],
            [{"id": "view", "property": "data", "value": view},
             {"id": "url", "property": "search", "value": query}], ["graph.tapNode"])
        record("expand", ms, err)
        # The same tap also opens its details (a browser sends both callbacks at once).
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
    think: float = 1.0,
    server: str = "",
) -> LoadReport:
    """Drive `users` concurrent logged-in users against the dashboard at `base_url` (a
    loopback address) for `duration` seconds or `max_requests` callbacks. `credentials` are
    (name, password) pairs, shared round-robin among the users. Each user thinks for a
    random `think`/2 to 3`think`/2 seconds (mean `think`) before each click; 0 for none.
    `server` only labels the report."""
    host = urlsplit(base_url).hostname or ""
    if host not in LOOPBACK:
        raise LoadTestError(f"the load test only runs against loopback, not {host!r}")
    if not credentials or users < 1 or duration <= 0:
        raise LoadTestError("need credentials, at least one user and a positive duration")
    if think < 0:
        raise LoadTestError("the think time cannot be negative")
    base = base_url.rstrip("/")

    def logged_in(i: int) -> requests.Session:
        s = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=2)
        s.mount("http://", adapter)
        name, password = credentials[i % len(credentials)]
        login(s, base, name, password, timeout)
        return s

    # Logins are not measured; a few at a time (each costs an argon2 hash on the server).
    with ThreadPoolExecutor(max_workers=min(users, LOGIN_WORKERS)) as pool:
        sessions = list(pool.map(logged_in, range(users)))
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
        rng = random.Random(seed + i)
        user = _User(base, callbacks, sessions[i], rng, timeout)

        def going() -> bool:
            with lock:
                return time.monotonic() < deadline and sent < max_requests

        def pause() -> bool:
            """Think, then say whether the load goes on (never sleeps past the deadline)."""
            if think > 0:
                wait = rng.uniform(0.5, 1.5) * think
                left = deadline - time.monotonic()
                if wait >= left:
                    time.sleep(max(0.0, left))
                    return False
                time.sleep(wait)
            return going()

        while going():
            try:
                user.journey(record, pause)
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
        think=think, server=server, url=base,
    )


SERVER = "waitress (policykg serve) in its own process"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:].strip()
    except OSError:
        return ""


def _await_answer(proc: subprocess.Popen[bytes], base_url: str, log: Path,
                  timeout: float) -> None:
    """Poll the login page until the server answers; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LoadTestError(f"the dashboard server exited ({proc.returncode}) before "
                                f"answering: {_tail(log)}")
        try:
            if requests.get(f"{base_url}/login", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise LoadTestError(f"the dashboard server did not answer within {timeout:.0f} s: "
                        f"{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGINT first (waitress shuts down cleanly), then SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
            proc.wait(timeout=wait)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def serve_and_load(env: Mapping[str, str] | None = None, database: str | None = None, *,
                   users: int = 50, duration: float = 120.0, think: float = 1.0,
                   max_requests: int = 200_000, startup: float = 120.0,
                   profile: Path | None = None) -> LoadReport:
    """Run `policykg serve` (waitress, as in production) on a free loopback port in a child
    process and drive the load against it from this one.

    The child gets this process's environment with `env` (the Neo4j connection settings,
    as `policykg bench` passes them) on top, `NEO4J_DATABASE=database` when given, and its own
    POLICYKG_HOME, session key and account file (a temporary directory holding one
    RED-cleared viewer): the real accounts and secret key are never read or touched. The
    server is stopped, and the directory deleted, when the load ends, fails or is
    interrupted. `profile`: write the server's merged per-request cProfile statistics there."""
    from graph.accounts import AccountStore

    with tempfile.TemporaryDirectory(prefix="policykg-loadtest-") as tmp:
        folder = Path(tmp)
        store = AccountStore(folder / "users.json")
        name, password = f"loadtest-{secrets.token_hex(4)}", secrets.token_urlsafe(18)
        store.add(name, password, role="viewer", clearance="RED")
        child_env = {**os.environ, **(env or {}),
                     "POLICYKG_HOME": str(folder / "home"),
                     "POLICYKG_USERS_FILE": str(folder / "users.json"),
                     "POLICYKG_SECRET_KEY": secrets.token_urlsafe(48),
                     "POLICYKG_HTTPS": "false",  # plain http on loopback: no Secure cookies
                     "PYTHONUNBUFFERED": "1"}
        if database:
            child_env["NEO4J_DATABASE"] = database
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port)]
        if profile is not None:
            cmd = [sys.executable, "-m", "dashboard.loadtest", "--profile",
                   str(Path(profile).resolve()), *serve]
        else:
            cmd = [sys.executable, "-m", "policykg_cli", *serve]
        log = folder / "server.log"
        with log.open("wb") as out:
            # Its own session: a Ctrl-C at the terminal reaches this process, which stops it.
            proc = subprocess.Popen(cmd, env=child_env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _await_answer(proc, base_url, log, startup)
            report = run_load(base_url, [(name, password)], users=users, duration=duration,
                              think=think, max_requests=max_requests, server=SERVER)
            if proc.poll() is not None:
                raise LoadTestError(f"the dashboard server exited ({proc.returncode}) during "
                                    f"the load: {_tail(log)}")
            return report
        finally:
            _stop(proc)


# --- the profiled server child: python -m dashboard.loadtest --profile OUT serve ... --------


class _Profiled:
    """WSGI middleware: each request under its own cProfile (cProfile follows one thread),
    merged into one set of statistics."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.stats: Any = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        try:
            return prof.runcall(self.app, environ, start_response)
        finally:
            with self.lock:
                if self.stats is None:
                    self.stats = pstats.Stats(prof)
                else:
                    self.stats.add(prof)


def _profiled_serve(out: Path, args: list[str]) -> None:
    """`policykg serve ARGS` with every request profiled; the statistics go to `out` when the
    server stops (SIGINT)."""
    import dashboard.app
    from policykg_cli import main

    original = dashboard.app.serve
    profiled: list[_Profiled] = []

    def serve(app: Any, *a: Any, **kw: Any) -> None:
        wrapper = _Profiled(app.server.wsgi_app)
        app.server.wsgi_app = wrapper
        profiled.append(wrapper)
        original(app, *a, **kw)

    dashboard.app.serve = serve  # type: ignore[assignment]
    try:
        main(args, standalone_mode=False)
    finally:
        if profiled and profiled[0].stats is not None:
            profiled[0].stats.dump_stats(str(out))


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--profile":
        _profiled_serve(Path(sys.argv[2]), sys.argv[3:])
    else:
        raise SystemExit("usage: python -m dashboard.loadtest --profile OUT serve [OPTIONS]")
