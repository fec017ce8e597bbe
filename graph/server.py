"""The bundled local Neo4j 5.26 Community server: built from Maven Central by
`graph/server/pom.xml`, run as a child process, tracked by a pid file under the home folder.

Only loopback addresses are served; anything else is a remote server the user runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

SERVER_DIR = Path(__file__).with_name("server")
MAIN_CLASS = "org.policykg.Launcher"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
READY_MARKER = b"policykg-neo4j ready"


class ServerError(RuntimeError):
    """The local server could not be built, started or stopped; the message says why."""


class ServerExited(ServerError):
    """The server process ended before it answered."""


@dataclass(frozen=True, slots=True)
class ServerPaths:
    home: Path

    @property
    def data(self) -> Path:
        return self.home / "neo4j" / "data"

    @property
    def log(self) -> Path:
        return self.home / "neo4j" / "neo4j.log"

    @property
    def pid(self) -> Path:
        return self.home / "neo4j" / "neo4j.pid"


@dataclass(frozen=True, slots=True)
class ServerStatus:
    running: bool
    pid: int | None
    address: str
    data: Path
    version: str | None = None
    edition: str | None = None
    auth: bool | None = None


def bolt_address(uri: str) -> tuple[str, int]:
    """Host and port of a loopback Bolt URI; a remote URI is not ours to start."""
    parsed = urlparse(uri)
    host = parsed.hostname or "127.0.0.1"
    if host not in LOOPBACK:
        raise ServerError(f"NEO4J_URI points at {host}, not this machine: start that server there")
    return ("127.0.0.1" if host == "localhost" else host), parsed.port or 7687


def build(quiet: bool = True) -> Path:
    """Resolve Neo4j from Maven Central and compile the launcher (once; Maven caches it)."""
    target = SERVER_DIR / "target"
    compiled = target / "classes" / "org" / "policykg" / "Launcher.class"
    sources = [SERVER_DIR / "pom.xml", *SERVER_DIR.glob("src/**/*.java")]
    if (
        compiled.exists()
        and (target / "lib").is_dir()
        and all(src.stat().st_mtime <= compiled.stat().st_mtime for src in sources)
    ):
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServerError("Maven (mvn) is not installed; it is needed to fetch Neo4j")
    cmd = [mvn, "-B", "-f", str(SERVER_DIR / "pom.xml"), "package", "-DskipTests"]
    if quiet:
        cmd.insert(2, "-q")
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise ServerError(f"Maven could not build the Neo4j launcher:\n{tail}")
    return target


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _read_pid(paths: ServerPaths) -> int | None:
    try:
        pid = int(paths.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _probe(uri: str, user: str, password: str) -> tuple[str, str] | None:
    """Version and edition when Bolt answers with these credentials, else None."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ServiceUnavailable

    try:
        with GraphDatabase.driver(uri, auth=(user, password), connection_timeout=2) as driver:
            with driver.session(database="system") as session:
                record = session.run(
                    "CALL dbms.components() YIELD versions, edition "
                    "RETURN versions[0] AS v, edition"
                ).single(strict=True)
            return record["v"], record["edition"]
    except (ServiceUnavailable, OSError):
        return None
    except AuthError as exc:
        raise ServerError(f"Neo4j answers but refuses the password: {exc.message}") from exc


def start(
    paths: ServerPaths,
    uri: str,
    password: str,
    *,
    heap: str = "2g",
    pagecache_mb: int = 1024,
    timeout: float = 180.0,
) -> ServerStatus:
    """Start the server and return once Bolt answers; a no-op when it already runs."""
    if len(password) < 8:
        raise ServerError("NEO4J_PASSWORD must be set to at least 8 characters")
    host, port = bolt_address(uri)
    current = status(paths, uri, password)
    if current.running and current.version:
        return current
    if current.pid:
        try:  # a server that is still starting, or still dying after a crash
            return _wait(paths, uri, password, current.pid, None, timeout)
        except ServerExited:
            pass
    target = build()
    java = shutil.which("java")
    if not java:
        raise ServerError("Java 17 or later is needed to run Neo4j")
    paths.data.mkdir(parents=True, exist_ok=True)
    classpath = f"{target / 'classes'}{os.pathsep}{target / 'lib' / '*'}"
    cmd = [java, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-cp", classpath, MAIN_CLASS,
           str(paths.data), host, str(port)]
    env = {**os.environ, "NEO4J_PASSWORD": password, "POLICYKG_PAGECACHE_MB": str(pagecache_mb)}
    log_offset = paths.log.stat().st_size if paths.log.exists() else 0
    with open(paths.log, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    paths.pid.write_text(str(proc.pid))
    return _wait(paths, uri, password, proc.pid, proc, timeout, log_offset)


def _wait(
    paths: ServerPaths,
    uri: str,
    password: str,
    pid: int,
    proc: subprocess.Popen[bytes] | None,
    timeout: float,
    log_offset: int | None = None,
) -> ServerStatus:
    host, port = bolt_address(uri)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        exited = proc.poll() is not None if proc else not _alive(pid)
        if exited:
            paths.pid.unlink(missing_ok=True)
            tail = "\n".join(paths.log.read_text(errors="replace").splitlines()[-20:])
            raise ServerExited(f"Neo4j exited before Bolt answered; log {paths.log}:\n{tail}")
        info = _probe(uri, "neo4j", password) if _ready(paths, log_offset) else None
        if info:
            return ServerStatus(True, pid, f"{host}:{port}", paths.data, *info, auth=True)
        time.sleep(0.5)
    raise ServerError(
        f"Neo4j did not answer on {host}:{port} within {timeout:.0f}s; see {paths.log}"
    )


def _ready(paths: ServerPaths, log_offset: int | None) -> bool:
    """True once the launcher has set the password (it logs READY_MARKER); probing earlier
    would fail authentication and trip Neo4j's login rate limit."""
    if log_offset is None:
        return True
    try:
        with open(paths.log, "rb") as fh:
            fh.seek(log_offset)
            return READY_MARKER in fh.read()
    except OSError:
        return False


def stop(paths: ServerPaths, *, wipe: bool = False, timeout: float = 60.0) -> bool:
    """Stop gracefully (SIGTERM runs the shutdown hook); True when a server was running."""
    pid = _read_pid(paths)
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    paths.pid.unlink(missing_ok=True)
    if wipe:
        shutil.rmtree(paths.data, ignore_errors=True)
    return pid is not None


def status(paths: ServerPaths, uri: str, password: str) -> ServerStatus:
    pid = _read_pid(paths)
    host, port = bolt_address(uri)
    info = _probe(uri, "neo4j", password) if pid else None
    if info:
        auth = _auth_required(uri)
        return ServerStatus(True, pid, f"{host}:{port}", paths.data, *info, auth=auth)
    return ServerStatus(pid is not None, pid, f"{host}:{port}", paths.data)


def _auth_required(uri: str) -> bool:
    """True when the server refuses a connection without credentials."""
    from neo4j import GraphDatabase
    from neo4j.exceptions import AuthError, ClientError, ServiceUnavailable

    try:
        with GraphDatabase.driver(uri, auth=None, connection_timeout=2) as driver:
            driver.verify_connectivity()
    except (AuthError, ClientError):
        return True
    except ServiceUnavailable:
        return True
    return False

