"""The benchmark suite behind `policykg bench`: each figure measured on the real Neo4j and
judged by a ratio taken in the same run, so a busy or slow machine moves both sides.

* ingest: end-to-end ingest (load, extract, write) and extraction alone, in words per second,
  against plain `nlp.pipe` of the same model over the same texts; `--jobs 2` against `--jobs 1`;
* write path: the writer as ingest drives it (the documents waiting for it in one transaction
  of `UNWIND` batches) against the same records sent one statement per row; per-document
  transactions and the stricter row-by-row reference in a note;
* scale: a synthetic graph (`graph.synthetic`) of 10,000 relationships in a second local
  Neo4j and the same stream grown to the chosen scale in the suite's database; search
  suggestions, the capped neighbourhood expansion and shortest paths, timed on both in turns,
  p50 and p95 (with no second server, the one graph is measured before and after it grows);
  the dashboard's expand (reader call and element building) against the Cypher it runs;
* load: 50 logged-in users (think time 1 s on average) searching, opening, expanding and
  reading details for two minutes against `policykg serve` (waitress) run in a child process:
  p95, judged by the share answered without error; p50, throughput and errors in a note;
* memory: peak RSS of an ingest in a child process, for a corpus and for ten times as many
  documents.

Timings are medians of several runs after a warm-up (latencies: percentiles over every call).
The suite erases the database it is given: the caller chooses which (see `policykg bench`).
Pure helpers (`percentile`, `Figure`, `machine_description`) are separate from the measuring
functions, which take the driver and the ontology as arguments.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neo4j import Driver, RoutingControl
from neo4j.exceptions import DriverError, Neo4jError, TransientError

from graph import queries
from graph.ontology import Ontology
from graph.server import ServerError, ServerPaths, bolt_address, start, stop
from graph.synthetic import SyntheticCorpus
from graph.writer import (
    GraphWriter,
    document_row,
    entity_rows,
    mention_rows,
    passage_rows,
    relation_rows,
)
from ingest.records import Extraction

if TYPE_CHECKING:
    from graph.settings import Settings

BASE_RELATIONSHIPS = 10_000
DEFAULT_SCALE = 100_000
EXPAND_LIMIT = 25
LOAD_THINK = 1.0  # seconds a simulated user pauses before each click, on average
Progress = Callable[[str], None]


class BenchError(RuntimeError):
    """The suite cannot run (no corpus, a child process failed); the message says why."""


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured value and the ratio it is judged by (`at_least`: ratio >= target)."""

    name: str
    value: float
    unit: str
    ratio: float
    target: float
    at_least: bool = True

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.at_least else self.ratio <= self.target

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 3), "unit": self.unit,
                "ratio": round(self.ratio, 3), "target": self.target, "met": self.met}

    def line(self) -> str:
        sign = ">=" if self.at_least else "<="
        # two decimals, or three when two would print the target for a ratio that misses it
        digits = 3 if f"{self.ratio:.2f}" == f"{self.target:.2f}" else 2
        return (f"{self.name}: {self.value:,.1f} {self.unit}  ratio {self.ratio:.{digits}f} "
                f"(target {sign} {self.target:g})  {'met' if self.met else 'NOT MET'}")


@dataclass
class Report:
    machine: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"machine": self.machine, "figures": [f.as_json() for f in self.figures]}

    def text(self) -> str:
        lines = [f"machine: {self.machine}", *(f.line() for f in self.figures)]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def interleaved_times(work: Sequence[tuple[Callable[[], object], Callable[[], object] | None]],
                      runs: int, warmup: int = 1) -> list[float]:
    """Median wall time of each `(fn, before)` over `runs` rounds after `warmup` untimed ones,
    the functions taking turns within each round, so a machine that speeds up or slows down
    during the measurement moves every side of a ratio alike; `before` runs untimed."""
    times: list[list[float]] = [[] for _ in work]
    for i in range(warmup + runs):
        for slot, (fn, before) in enumerate(work):
            if before is not None:
                before()
            started = time.perf_counter()
            fn()
            if i >= warmup:
                times[slot].append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def machine_description(driver: Driver | None = None) -> str:
    """CPU, cores, memory, OS and Python, and the Neo4j server when a driver is given."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 2**30:.0f} GB RAM"
    except (ValueError, OSError):
        pass
    parts = [f"{cpu}, {os.cpu_count()} cores{memory}", f"{platform.system()} "
             f"{platform.release()}", f"Python {platform.python_version()}"]
    if driver is not None:
        info = driver.get_server_info()
        parts.append(info.agent.replace("/", " "))  # "Neo4j/5.26.30"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if load is not None:
        parts.append(f"load {load:.1f}")
    return "; ".join(parts)


# --- database helpers ---------------------------------------------------------------------------


def wipe(driver: Driver, database: str | None = None) -> None:
    """Empty the database: relationships, then nodes, in transactions of 10,000."""
    for attempt in range(5):
        try:
            with driver.session(database=database) as session:
                session.run(queries.BENCH_WIPE_RELATIONSHIPS).consume()
                session.run(queries.BENCH_WIPE_NODES).consume()
            return
        except TransientError:  # a deadlock with a straggling write: try again
            if attempt == 4:
                raise
            time.sleep(1 + attempt)


def graph_size(driver: Driver, database: str | None = None) -> tuple[int, int]:
    records, _, _ = driver.execute_query(queries.BENCH_GRAPH_SIZE, database_=database,
                                         routing_=RoutingControl.READ)
    return int(records[0]["nodes"]), int(records[0]["relationships"])


VOLATILE_PROPERTIES = frozenset({"ingestedAt"})  # when, not what: differs between two ingests


def canonical_dump(driver: Driver, database: str | None = None) -> dict[str, Any]:
    """Every node (but ingest runs) and relationship with its properties, sorted, so that two
    graphs built in different ways compare equal when their content is the same."""
    def norm(value: Any) -> Any:
        return value if isinstance(value, str | int | float | bool | type(None) | list) \
            else str(value)

    def props(properties: dict[str, Any]) -> dict[str, Any]:
        return {k: norm(v) for k, v in properties.items() if k not in VOLATILE_PROPERTIES}

    nodes, _, _ = driver.execute_query(queries.BENCH_DUMP_NODES, database_=database)
    rels, _, _ = driver.execute_query(queries.BENCH_DUMP_RELATIONSHIPS, database_=database)
    node_items = sorted(json.dumps([sorted(r["labels"]),
                                    props(r["properties"])],
                                   sort_keys=True, default=str) for r in nodes)
    rel_items = sorted(json.dumps([r["source"], r["type"], r["target"],
                                   props(r["properties"])],
                                  sort_keys=True, default=str) for r in rels)
    return {"nodes": node_items, "relationships": rel_items}


# --- the write path -----------------------------------------------------------------------------


def row_count(ex: Extraction) -> int:
    """Rows the writer sends for one document (the document itself counts as one)."""
    return (1 + len(ex.passages) + len(ex.entities)
            + sum(len(e.mentions) for e in ex.entities) + len(ex.relations))


def _row_statements(ontology: Ontology, ex: Extraction) -> Iterator[tuple[str, dict[str, Any]]]:
    """The writer's own MERGE and CREATE statements for `ex`, one row each."""
    doc = ex.document
    yield queries.MERGE_DOCUMENT, {"doc": document_row(doc)}
    for row in passage_rows(ex):
        yield queries.CREATE_PASSAGES, {"docId": doc.id, "rows": [row]}
    for label, rows in entity_rows(ex).items():
        statement = queries.merge_entities(label, ontology)
        for row in rows:
            yield statement, {"rows": [row]}
    for row in mention_rows(ex):
        yield queries.CREATE_MENTIONS, {"rows": [row]}
    for rel_type, rows in relation_rows(ex).items():
        statement = queries.merge_relations(rel_type, ontology)
        for row in rows:
            yield statement, {"rows": [row]}


def write_row_by_row(driver: Driver, ontology: Ontology, ex: Extraction,
                     database: str | None = None, *, one_transaction: bool = False) -> None:
    """The baseline the writer is judged against: the same records and the same MERGE and
    CREATE statements, one statement per row, each its own transaction as `session.run`
    sends it (the plain loop). `one_transaction` keeps the document's statements in one
    transaction instead: the stricter reference, which only saves the commits."""
    with driver.session(database=database) as session:
        if one_transaction:
            def work(tx: Any) -> None:
                for statement, params in _row_statements(ontology, ex):
                    tx.run(statement, **params).consume()
            session.execute_write(work)
            return
        for statement, params in _row_statements(ontology, ex):
            session.run(statement, **params).consume()


def measure_write_path(driver: Driver, ontology: Ontology, *, documents: int = 20,
                       runs: int = 3, database: str | None = None,
                       progress: Progress | None = None) -> tuple[list[Figure], list[str]]:
    """The writer as ingest drives it (`write_isolated`: the documents waiting for the writer,
    up to `WRITER_BATCH`, in one transaction of `UNWIND` batches) against the same records sent
    one statement per row, each statement in its own transaction. The note gives the writer
    with one transaction per document (what ingest does when extraction is the slower side),
    and both against the stricter reference of one statement per row inside one transaction
    per document.

    The graph is first filled with a few thousand relationships so that the planner's
    statistics are settled; then each run writes new corpus-shaped documents of the same
    synthetic stream by each method in turn (half as many for the slow row-by-row
    methods: rows per second do not depend on it), so every write is real work on the same
    kind of graph, and no method profits from another's caches more than the other.
    """
    from graph.ingestion import WRITER_BATCH

    corpus = SyntheticCorpus(ontology, seed=7)
    writer = empty_graph(driver, ontology, database)
    build_synthetic(writer, corpus, 5_000)
    slow = max(2, documents // 2)

    def timed(fn: Callable[[list[Extraction]], object], n: int) -> tuple[float, int]:
        exs = [corpus.extraction() for _ in range(n)]
        started = time.perf_counter()
        fn(exs)
        return time.perf_counter() - started, sum(row_count(ex) for ex in exs)

    def batched(exs: list[Extraction]) -> None:
        for i in range(0, len(exs), WRITER_BATCH):
            failed = [o for o in writer.write_isolated(exs[i:i + WRITER_BATCH])
                      if isinstance(o, Exception)]
            if failed:
                raise BenchError(f"the writer refused a synthetic document: {failed[0]}")

    def naive(one_transaction: bool) -> Callable[[list[Extraction]], object]:
        def write(exs: list[Extraction]) -> None:
            for ex in exs:
                write_row_by_row(driver, ontology, ex, database, one_transaction=one_transaction)
        return write

    methods: dict[str, tuple[Callable[[list[Extraction]], object], int]] = {
        "batched": (batched, WRITER_BATCH * -(-documents // WRITER_BATCH)),  # whole batches
        "per-document": (lambda exs: [writer.write(ex) for ex in exs], documents),
        "naive": (naive(False), slow),
        "naive-tx": (naive(True), slow),
    }
    if progress:
        progress(f"write path: {documents} documents per method and run ({slow} row by row), "
                 f"{runs} runs")
    speeds: dict[str, list[float]] = {name: [] for name in methods}
    for i in range(runs + 1):  # the first round warms up
        for name, (fn, n) in methods.items():
            seconds, rows = timed(fn, n)
            if i:
                speeds[name].append(rows / seconds)
    wipe(driver, database)
    batch, single, naive_rate, naive_tx = (statistics.median(speeds[n]) for n in methods)
    note = (f"write path: one statement per row {naive_rate:,.0f} rows/s; one transaction per "
            f"document (ingest when extraction is the slower side) {single:,.0f} rows/s, "
            f"{single / naive_rate:.1f}x; against one statement per row inside one transaction "
            f"per document ({naive_tx:,.0f} rows/s) the writer is {batch / naive_tx:.1f}x "
            f"batched and {single / naive_tx:.1f}x per document")
    return [
        Figure(f"writer: ingest's batched UNWIND writes ({WRITER_BATCH} documents per "
               "transaction) vs one statement per row", batch, "rows/s", batch / naive_rate, 20.0),
    ], [note]


# --- scale ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Build:
    relationships: int
    entity_relationships: int
    nodes: int
    documents: int
    seconds: float


def build_synthetic(writer: GraphWriter, corpus: SyntheticCorpus, relationships: int, *,
                    batch_relationships: int = 20_000,
                    progress: Progress | None = None) -> float:
    """Write the corpus's extractions through the writer's bulk path until the graph holds
    `relationships` relationships; returns the seconds spent (generation included)."""
    started = time.perf_counter()
    batch: list[Extraction] = []
    mark = corpus.relationships
    last_report = started
    for ex in corpus.until(relationships):
        batch.append(ex)
        if corpus.relationships - mark >= batch_relationships:
            writer.write_batch(batch, audit=False)
            batch, mark = [], corpus.relationships
            if progress and time.perf_counter() - last_report > 30:
                last_report = time.perf_counter()
                progress(f"  {corpus.relationships:,} relationships "
                         f"({last_report - started:.0f} s)")
    if batch:
        writer.write_batch(batch, audit=False)
    return time.perf_counter() - started


def empty_graph(driver: Driver, ontology: Ontology, database: str | None) -> GraphWriter:
    """A writer on the erased database, its schema in place."""
    wipe(driver, database)
    writer = GraphWriter(driver, ontology, database)
    writer.ensure_schema()
    return writer


def build_base(writer: GraphWriter, corpus: SyntheticCorpus, relationships: int,
               progress: Progress | None = None) -> Workload:
    """The corpus's first `relationships` through `writer`, and the reads to time on it."""
    build_synthetic(writer, corpus, relationships, progress=progress)
    _await_indexes(writer.driver, writer.database)
    return choose_workload(writer.driver, database=writer.database)


@dataclass(frozen=True, slots=True)
class Workload:
    """What the latency measurements ask, fixed at the small graph and reused at scale."""

    searches: tuple[str, ...]
    expansions: tuple[str, ...]
    pairs: tuple[tuple[str, str], ...]


def choose_workload(driver: Driver, *, seed: int = 11, hubs: int = 5, others: int = 20,
                    database: str | None = None) -> Workload:
    """The most connected entities plus a random spread of the rest: searches type the first
    letters of a word of their names, expansions start from them, paths join pairs of them."""
    records, _, _ = driver.execute_query(queries.BENCH_SAMPLE_ENTITIES, database_=database,
                                         routing_=RoutingControl.READ)
    if not records:
        raise BenchError("the graph holds no connected entity to measure with")
    rng = random.Random(seed)
    top = [r for r in records[:hubs]]
    rest = list(records[hubs:])
    chosen = top + rng.sample(rest, min(others, len(rest)))
    searches = []
    for r in chosen:
        words = [w for w in r["name"].split() if len(w) >= 3] or [r["name"]]
        word = rng.choice(words)
        searches.append(word[: max(3, min(len(word), rng.randint(3, 6)))])
    keys = [r["key"] for r in chosen]
    pairs = [(keys[i], keys[(i * 7 + 3) % len(keys)]) for i in range(len(keys))]
    pairs = [(a, b) for a, b in pairs if a != b]
    return Workload(tuple(searches), tuple(keys), tuple(pairs))


def latencies(calls: Iterable[Callable[[], object]], rounds: int) -> list[float]:
    """Seconds per call, over `rounds` passes through the calls after one warm-up pass."""
    calls = list(calls)
    out: list[float] = []
    for i in range(rounds + 1):
        for call in calls:
            started = time.perf_counter()
            call()
            if i:
                out.append(time.perf_counter() - started)
    return out


def paired_latencies(pairs: Iterable[tuple[Callable[[], object], Callable[[], object]]],
                     rounds: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """`latencies` of two versions of each call, taken in turns (which goes first alternates
    by pass), so whatever slows the machine for a while slows both sides alike; the first
    `warmup` passes are not counted."""
    pairs = list(pairs)
    out: tuple[list[float], list[float]] = ([], [])
    for i in range(warmup + rounds):
        for pair in pairs:
            for side in ((0, 1) if i % 2 else (1, 0)):
                started = time.perf_counter()
                pair[side]()
                if i >= warmup:
                    out[side].append(time.perf_counter() - started)
    return out


def query_calls(driver: Driver, ontology: Ontology, work: Workload,
                database: str | None = None) -> dict[str, list[Callable[[], object]]]:
    """Search suggestions, the capped expansion and shortest paths, as the reader sends them."""
    from graph.reader import NO_FILTERS, GraphReader, search_query

    # every read takes the markings the reader may see; the default reader sees everything
    allowed = GraphReader(driver, ontology, database).allowed()

    def read(statement: str, **params: Any) -> Callable[[], object]:
        return lambda: driver.execute_query(statement, {**params, "allowed": allowed},
                                            database_=database, routing_=RoutingControl.READ)

    filters = NO_FILTERS.parameters(ontology)
    path_statement = queries.shortest_paths(ontology, 6, False)
    return {
        "search": [read(queries.SEARCH_ENTITIES, index=queries.FULLTEXT_INDEX,
                        query=search_query(text), limit=10) for text in work.searches],
        "expand": [read(queries.neighbours(ontology), key=key, skip=0, limit=EXPAND_LIMIT,
                        **filters) for key in work.expansions],
        "path": [read(path_statement, source=a, target=b, limit=20) for a, b in work.pairs],
    }


def expand_overhead(driver: Driver, ontology: Ontology, work: Workload, rounds: int,
                    database: str | None = None) -> tuple[float, float, bool]:
    """Median seconds of the dashboard's expand (reader call plus element building) and of
    the Cypher it runs; the flag says whether the element builders were found."""
    from graph.reader import NO_FILTERS, GraphReader

    try:
        from dashboard.elements import edge_element, node_element
        with_elements = True
    except ImportError:  # the dashboard is optional for the graph package
        with_elements = False
    reader = GraphReader(driver, ontology, database)
    filters = {**NO_FILTERS.parameters(ontology), "allowed": reader.allowed()}

    def dashboard(key: str) -> Callable[[], object]:
        def call() -> object:
            sub = reader.neighbours(key, limit=EXPAND_LIMIT)
            if with_elements:
                return [node_element(n) for n in sub.nodes] + [edge_element(e)
                                                               for e in sub.edges]
            return sub
        return call

    def raw(key: str) -> Callable[[], object]:
        def call() -> object:
            def run(statement: str, **params: Any) -> list[Any]:
                return driver.execute_query(statement, params, database_=database,
                                            routing_=RoutingControl.READ).records
            rows = run(queries.neighbours(ontology), key=key, skip=0, limit=EXPAND_LIMIT, **filters)
            page = list(rows[0]["page"]) if rows else []
            if page:
                run(queries.NODES_BY_KEYS, keys=page, allowed=filters["allowed"])
                run(queries.EDGES_AMONG, keys=[key, *page], touching=page, **filters)
            return page
        return call

    a = latencies([dashboard(k) for k in work.expansions], rounds)
    b = latencies([raw(k) for k in work.expansions], rounds)
    return statistics.median(a), statistics.median(b), with_elements


def measure_scale(driver: Driver, ontology: Ontology, *, scale: int = DEFAULT_SCALE,
                  base: int = BASE_RELATIONSHIPS, rounds: int = 3,
                  database: str | None = None, small: tuple[Driver, str | None] | None = None,
                  warmup: float = 30.0,
                  progress: Progress | None = None) -> tuple[list[Figure], list[str]]:
    """The reads at `base` relationships against the same reads at `scale`.

    With `small` (a second, empty database: driver and name), the `base` graph is built
    there and the same synthetic stream grown to `scale` here, and each read is timed on both
    in turns, call by call: the ratio then measures the graph's size, not what the machine did
    between two measurements minutes apart; both first answer the reads for `warmup`
    seconds untimed. Without it, the graph here is built to `base`,
    measured, grown to `scale` and measured again."""
    writer = empty_graph(driver, ontology, database)
    corpus = SyntheticCorpus(ontology, seed=1)
    if progress:
        progress(f"scale: building {base:,} relationships")
    if small is not None:
        small_driver, small_database = small
        work = build_base(empty_graph(small_driver, ontology, small_database),
                          SyntheticCorpus(ontology, seed=1), base, progress)
    else:
        work = build_base(writer, corpus, base, progress)
        before = {kind: latencies(calls, rounds)
                  for kind, calls in query_calls(driver, ontology, work, database).items()}
    grown_from = 0 if small is not None else base
    if progress:
        progress(f"scale: growing to {scale:,} relationships")
    seconds = build_synthetic(writer, corpus, scale, progress=progress)
    _await_indexes(driver, database)
    nodes, rels = graph_size(driver, database)
    notes = [f"synthetic graph: {rels:,} relationships ({corpus.entity_relationships:,} between "
             f"entities), {nodes:,} nodes, {corpus.documents:,} documents; grown from "
             f"{grown_from:,} to {scale:,} in {seconds:.0f} s "
             f"({(rels - grown_from) / max(seconds, 1e-9):,.0f} relationships/s)"]
    at_scale = query_calls(driver, ontology, work, database)
    if small is not None:
        at_base = query_calls(small_driver, ontology, work, small_database)
        # the second server's JVM has compiled little yet, against one that has just written a
        # graph: both answer the reads for a while before any is timed
        warm_until = time.monotonic() + warmup
        while time.monotonic() < warm_until:
            for call in (c for calls in (*at_base.values(), *at_scale.values()) for c in calls):
                call()
        timed = {kind: paired_latencies(zip(at_base[kind], at_scale[kind], strict=True), rounds)
                 for kind in at_scale}
        small_rels = graph_size(small_driver, small_database)[1]
        notes.append(f"scale: each read timed in turns on a {small_rels:,}-relationship graph in "
                     "a second local Neo4j and on this one")
        wipe(small_driver, small_database)
    else:
        timed = {kind: (before[kind], latencies(calls, rounds))
                 for kind, calls in at_scale.items()}
        notes.append("scale: the reads timed on this database before and after it grew")
    figures: list[Figure] = []
    labels = {"search": "search suggestions", "expand": f"expansion ({EXPAND_LIMIT} neighbours)",
              "path": "shortest path"}
    for kind, label in labels.items():
        small_times, large_times = timed[kind]
        for q in (50, 95):
            large_ms = percentile(large_times, q) * 1000
            small_ms = percentile(small_times, q) * 1000
            figures.append(Figure(
                f"{label} p{q} at {rels:,} rels (vs {base:,})", large_ms, "ms",
                large_ms / max(small_ms, 1e-6), 2.0, at_least=False))
    dash, cypher, with_elements = expand_overhead(driver, ontology, work, rounds, database)
    what = "reader + elements" if with_elements else "reader (no element builders found)"
    figures.append(Figure(f"dashboard expand: {what} vs its Cypher", dash * 1000, "ms",
                          dash / max(cypher, 1e-9), 2.0, at_least=False))
    return figures, notes


def measure_load(driver: Driver, ontology: Ontology, *, users: int, duration: float,
                 database: str | None = None, env: Mapping[str, str] | None = None,
                 think: float = LOAD_THINK, progress: Progress | None = None
                 ) -> tuple[list[Figure], list[str]]:
    """Logged-in users driving search, expand and details through the real dashboard on
    loopback, each thinking `think` seconds on average before each step; judged by its error
    rate (none allowed), with the p95 latency as its value. The dashboard runs as
    `policykg serve` does (waitress) in a child process reading the graph with the connection
    settings of `env` (default: this process's environment) and `database`; `driver` and
    `ontology` are not used (the child opens its own). The note gives p50, p95, throughput
    and errors."""
    from dashboard.loadtest import serve_and_load

    if progress:
        progress(f"load: {users} users, think time {think:g} s, for {duration:.0f} s")
    load = serve_and_load(env, database, users=users, duration=duration, think=think)
    answered = 1 - load.errors / max(load.requests, 1)
    note = f"load: {load.text()}"
    if load.error_samples:
        note += f"; errors: {'; '.join(load.error_samples[:3])}"
    return [Figure(f"dashboard under load, {users} users, think time {think:g} s: p95 "
                   "(ratio: share answered)", load.p95_ms, "ms", answered, 1.0)], [note]


def _await_indexes(driver: Driver, database: str | None) -> None:
    driver.execute_query("CALL db.awaitIndexes(300)", database_=database)


# --- ingest -----------------------------------------------------------------------------------


def replicate_corpus(source: Path, target: Path, copies: int) -> list[Path]:
    """`copies` copies of every text document of `source` (.txt, .md, with sidecars) in
    `target`, each copy's text made distinct by a closing line so that it is ingested anew."""
    from ingest.loaders import SIDECAR_SUFFIX, iter_paths

    target.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for path in iter_paths([source]):
        if path.suffix.lower() not in (".txt", ".md"):
            continue
        text = path.read_text(encoding="utf-8")
        sidecar = path.with_name(path.stem + SIDECAR_SUFFIX)
        for k in range(copies):
            out = target / f"{path.stem}-copy{k:03d}{path.suffix}"
            out.write_text(f"{text.rstrip()}\n\n(Copy {k}.)\n", encoding="utf-8")
            if sidecar.exists():
                shutil.copy(sidecar, out.with_name(out.stem + SIDECAR_SUFFIX))
            made.append(out)
    if not made:
        raise BenchError(f"no .txt or .md document in {source}")
    return made


def measure_ingest(driver: Driver, ontology: Ontology, corpus: Path, *, copies: int = 2,
                   runs: int = 3, jobs: int = 2, database: str | None = None,
                   model: str | None = None,
                   progress: Progress | None = None) -> list[Figure]:
    """End-to-end ingest and extraction alone vs plain `nlp.pipe` (same model, same texts),
    and ingest with `jobs` extraction processes vs one."""
    from graph.ingestion import ingest
    from ingest.extract import Extractor
    from ingest.loaders import load_document
    from ingest.nlp import load_nlp

    with tempfile.TemporaryDirectory(prefix="policykg-bench-") as tmp:
        files = replicate_corpus(corpus, Path(tmp), copies)
        documents = [load_document(p) for p in files]
        texts = [d.text for d in documents]
        words = sum(len(t.split()) for t in texts)
        nlp = load_nlp(model)
        extractor = Extractor(ontology, load_nlp(model))
        writer = GraphWriter(driver, ontology, database)

        def empty() -> None:
            wipe(driver, database)

        def run_ingest(n: int) -> None:
            report = ingest([tmp], extractor, writer, jobs=n)
            if report.errors or len(report.written) != len(files):
                raise BenchError(f"ingest failed during the benchmark: {report.errors[:3]}")

        if progress:
            progress(f"ingest: {len(files)} documents, {words:,} words, {runs} runs each")
        pipe, extract, one, many = interleaved_times([
            (lambda: list(nlp.pipe(texts, batch_size=8)), None),
            (lambda: list(extractor.extract_many(documents)), None),
            (lambda: run_ingest(1), empty),
            (lambda: run_ingest(jobs), empty),
        ], runs)
        wipe(driver, database)
    return [
        Figure("ingest --jobs 1 vs plain nlp.pipe", words / one, "words/s", pipe / one, 0.7),
        Figure("extraction vs plain nlp.pipe", words / extract, "words/s", pipe / extract, 0.5),
        Figure(f"ingest --jobs {jobs} vs --jobs 1", words / many, "words/s", one / many, 1.6),
    ]


# --- memory -------------------------------------------------------------------------------------


def child_peak_rss(folder: Path, env: dict[str, str]) -> int:
    """Peak RSS in bytes of an ingest of `folder` run in a child process (its own peak,
    reported by the child from getrusage, and its extraction workers' if any)."""
    cmd = [sys.executable, "-m", "graph.bench", "--ingest-rss", str(folder)]
    result = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **env},
                            cwd=Path(__file__).resolve().parents[1], check=False)
    if result.returncode != 0:
        raise BenchError(f"the ingest child failed: {result.stderr.strip()[-800:]}")
    return int(json.loads(result.stdout.strip().splitlines()[-1])["peak_rss"])


def measure_memory(driver: Driver, corpus: Path, env: dict[str, str], *, copies: int = 1,
                   factor: int = 10, database: str | None = None,
                   progress: Progress | None = None) -> list[Figure]:
    """Peak RSS of ingesting a corpus and ten times as many documents, each in a fresh child
    process into an empty graph."""
    peaks: list[int] = []
    with tempfile.TemporaryDirectory(prefix="policykg-bench-rss-") as tmp:
        for n in (copies, copies * factor):
            folder = Path(tmp) / f"x{n}"
            files = replicate_corpus(corpus, folder, n)
            if progress:
                progress(f"memory: ingest of {len(files)} documents in a child process")
            wipe(driver, database)
            peaks.append(child_peak_rss(folder, env))
    wipe(driver, database)
    return [Figure(f"peak RSS of ingest, {factor}x the documents", peaks[1] / 2**20, "MB",
                   peaks[1] / peaks[0], 1.2, at_least=False)]


def _ingest_rss_child(folder: str) -> None:
    """Entry point of the memory child: ingest `folder` with the settings of the environment
    and print the peak RSS (kilobytes from getrusage on Linux)."""
    from graph.ingestion import ingest
    from graph.ontology import default_ontology
    from graph.settings import load_settings
    from ingest.extract import Extractor
    from ingest.nlp import load_nlp

    settings = load_settings()
    onto = default_ontology()
    with settings.driver() as driver:
        writer = GraphWriter(driver, onto, settings.neo4j_database)
        report = ingest([folder], Extractor(onto, load_nlp(settings.policykg_spacy_model)),
                        writer)
    if report.errors:
        raise SystemExit(f"ingest failed: {report.errors[:3]}")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"peak_rss": max(own, children) * 1024,
                      "documents": len(report.written)}))


# --- where the suite runs ------------------------------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def scratch_server(settings: Settings, *, use_configured: bool,
                   progress: Progress | None = None
                   ) -> Iterator[tuple[Driver, dict[str, str], str | None]]:
    """The database the suite may erase: the configured one (`use_configured`), or a scratch
    local Neo4j started under `<home>/bench-scratch` on a free port and deleted afterwards.
    Yields the driver, the connection environment for child processes, and the database."""
    if use_configured:
        env = {"NEO4J_URI": settings.neo4j_uri, "NEO4J_USER": settings.neo4j_user,
               "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
               "NEO4J_DATABASE": settings.neo4j_database}
        driver = settings.driver()
        try:
            yield driver, env, settings.neo4j_database
        finally:
            driver.close()
        return
    if not is_local(settings):
        raise BenchError(
            "the configured database holds a graph and is not on this machine; the benchmark "
            "erases its database: point NEO4J_URI at a scratch server or pass --wipe")
    if progress:
        progress("starting a scratch Neo4j for the suite")
    with local_server(settings.policykg_home / "bench-scratch") as started:
        yield started


def is_local(settings: Settings) -> bool:
    """Whether the configured server is on this machine (so the suite may start others)."""
    try:
        bolt_address(settings.neo4j_uri)
    except ServerError:
        return False
    return True


@contextmanager
def local_server(home: Path) -> Iterator[tuple[Driver, dict[str, str], str]]:
    """A scratch Neo4j under `home` on a free port (configured as `policykg neo4j start`
    configures one), deleted afterwards: its driver, the connection environment for child
    processes, and the database."""
    import secrets

    from neo4j import GraphDatabase

    paths = ServerPaths(home)
    stop(paths, wipe=True)
    password = secrets.token_urlsafe(18)
    uri = f"bolt://127.0.0.1:{_free_port()}"
    driver = GraphDatabase.driver(uri, auth=("neo4j", password))
    try:
        try:
            start(paths, uri, password)
        except (ServerError, Neo4jError) as exc:
            # A fresh server answers Bolt a moment before its password is set; probing then
            # can trip its authentication rate limit. Wait it out rather than give up.
            if not _await_login(driver):
                raise BenchError(f"cannot start a scratch Neo4j: {exc}") from exc
    except BaseException:
        driver.close()
        stop(paths, wipe=True)
        raise
    env = {"NEO4J_URI": uri, "NEO4J_USER": "neo4j", "NEO4J_PASSWORD": password,
           "NEO4J_DATABASE": "neo4j"}
    try:
        yield driver, env, "neo4j"
    finally:
        driver.close()
        stop(paths, wipe=True)


def _await_login(driver: Driver, timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(5)
        try:
            driver.verify_connectivity()
            return True
        except (Neo4jError, DriverError, OSError):
            continue
    return False


# --- the suite ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Options:
    corpus: Path = Path("corpus")
    scale: int = DEFAULT_SCALE
    quick: bool = False
    jobs: int = 2
    model: str | None = None
    database: str | None = None
    env: dict[str, str] = field(default_factory=dict)  # connection settings for the child
    # where a second local Neo4j may hold the small graph of the scale figures (None: the
    # small graph is measured on the one database, before it grows)
    small_home: Path | None = None


def run_suite(driver: Driver, ontology: Ontology, options: Options,
              progress: Progress | None = None) -> Report:
    """Every figure, in order of cost; `quick` shrinks each workload to seconds (for tests).
    The database is erased, used and left empty."""
    report = Report(machine_description(driver))

    def add(measured: list[Figure] | tuple[list[Figure], list[str]]) -> None:
        figures, notes = measured if isinstance(measured, tuple) else (measured, [])
        report.figures.extend(figures)
        report.notes.extend(notes)
        if progress:
            for line in [*(f.line() for f in figures), *notes]:
                progress(f"  {line}")

    quick = options.quick
    runs = 1 if quick else 5
    add(measure_write_path(driver, ontology, documents=4 if quick else 20, runs=1 if quick else 5,
                           database=options.database, progress=progress))
    add(measure_ingest(driver, ontology, options.corpus, copies=1 if quick else 3, runs=runs,
                       jobs=options.jobs, database=options.database, model=options.model,
                       progress=progress))
    scale = min(options.scale, 30_000) if quick else options.scale
    with ExitStack() as stack:
        small = None
        if options.small_home is not None:
            if progress:
                progress("scale: starting a second local Neo4j for the small graph")
            try:
                small_driver, _, small_database = stack.enter_context(
                    local_server(options.small_home))
                small = (small_driver, small_database)
            except (BenchError, ServerError) as exc:
                if progress:
                    progress(f"scale: no second Neo4j ({exc}); the small graph is measured "
                             "here before it grows")
        add(measure_scale(driver, ontology, scale=scale,
                          base=3_000 if quick else BASE_RELATIONSHIPS, rounds=1 if quick else 10,
                          database=options.database, small=small, warmup=1.0 if quick else 30.0,
                          progress=progress))
    add(measure_load(driver, ontology, users=5 if quick else 50,
                     duration=5.0 if quick else 120.0, database=options.database,
                     env=options.env, progress=progress))
    add(measure_memory(driver, options.corpus, options.env, factor=3 if quick else 10,
                       database=options.database, progress=progress))
    wipe(driver, options.database)
    return report


def report_json(report: Report) -> str:
    return json.dumps(report.as_json(), indent=2)


def figure_dicts(report: Report) -> list[dict[str, Any]]:
    return [asdict(f) for f in report.figures]


if __name__ == "__main__":  # the memory child: python -m graph.bench --ingest-rss FOLDER
    if len(sys.argv) == 3 and sys.argv[1] == "--ingest-rss":
        _ingest_rss_child(sys.argv[2])
    else:
        raise SystemExit("usage: python -m graph.bench --ingest-rss FOLDER")
