"""An ingest run: stream documents from disk through extraction into the writer. The
documents waiting for the writer go in one transaction (group commit: one when extraction is
the slower side, more when the store is); one bad file is reported and skipped and the rest
still land."""

from __future__ import annotations

import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from graph.writer import GraphWriter, WriteResult
from ingest.loaders import LoadError, iter_paths, load_document
from ingest.records import Document, Extraction, Tlp

# Documents one write may take (one transaction): also how far extraction may run ahead.
WRITER_BATCH = 16


class Extracts(Protocol):
    def extract_many(self, documents: Iterable[Document], n_process: int = 1,
                     batch_size: int = 8) -> Iterator[Extraction]: ...


@dataclass
class IngestReport:
    run_id: str
    results: list[WriteResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    words: int = 0
    seconds: float = 0.0

    @property
    def written(self) -> list[WriteResult]:
        return [r for r in self.results if r.written]

    def summary(self) -> str:
        skipped = len(self.results) - len(self.written)
        return (
            f"ingested {len(self.written)} documents ({skipped} unchanged, "
            f"{len(self.errors)} failed): {sum(r.entities for r in self.written)} entities, "
            f"{sum(r.relations for r in self.written)} relations in {self.seconds:.1f} s"
        )


def list_files(paths: Iterable[Path | str], on_error: Callable[[str], None]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        try:
            files.extend(iter_paths([path]))
        except LoadError as exc:
            on_error(str(exc))
    return files


def load_all(files: Iterable[Path], default_tlp: Tlp,
             on_error: Callable[[str], None]) -> Iterator[Document]:
    """Documents one at a time; a file that cannot be read is reported, never raised."""
    for path in files:
        try:
            yield load_document(path, default_tlp=default_tlp)
        except LoadError as exc:
            on_error(str(exc))


class _WriterThread:
    """A single background writer: `put` hands it the next extraction, leaving the block
    waits until everything handed over is written. Each write takes every extraction waiting
    (up to `BATCH`), in order; a writer that died on an unexpected error re-raises it here
    instead of leaving the producer blocked. The thread starts with the first extraction,
    after the extraction pool has forked its workers."""

    BATCH = WRITER_BATCH

    def __init__(self, write: Callable[[list[Extraction]], None]) -> None:
        self._write = write
        self._queue: queue.Queue[Extraction | None] = queue.Queue(maxsize=self.BATCH)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="policykg-writer", daemon=True)

    def _run(self) -> None:
        try:
            while True:
                batch = [self._queue.get()]
                while batch[-1] is not None and len(batch) < self.BATCH:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if extractions := [x for x in batch if x is not None]:
                    self._write(extractions)
                if batch[-1] is None:
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the producer thread
            self._error = exc

    def put(self, extraction: Extraction) -> None:
        if self._thread.ident is None:
            self._thread.start()
        while True:
            self._check()
            try:
                self._queue.put(extraction, timeout=0.5)
                return
            except queue.Full:
                continue

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._thread.is_alive():
            raise RuntimeError("the writer thread stopped")

    def __enter__(self) -> _WriterThread:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._thread.ident is None:
            return
        while self._thread.is_alive():
            try:
                self._queue.put(None, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()
        if self._error is not None and exc_info[0] is None:
            raise self._error


def ingest(
    paths: Iterable[Path | str],
    extractor: Extracts,
    writer: GraphWriter,
    *,
    default_tlp: Tlp = "CLEAR",
    jobs: int = 1,
    on_error: Callable[[str], None] | None = None,
    on_document: Callable[[WriteResult], None] | None = None,
    progress: bool = False,
) -> IngestReport:
    report = IngestReport(run_id=uuid.uuid4().hex)
    started = time.perf_counter()

    def failed(message: str) -> None:
        report.errors.append(message)
        if on_error:
            on_error(message)

    def counted(docs: Iterator[Document]) -> Iterator[Document]:
        for doc in docs:
            report.words += len(doc.text.split())
            yield doc

    writer.ensure_schema()
    files = list_files(paths, failed)
    bar = tqdm(total=len(files), unit="doc", disable=not (progress and sys.stderr.isatty()))
    documents = counted(load_all(files, default_tlp, failed))

    def write(batch: list[Extraction]) -> None:
        outcomes: list[WriteResult | Exception]
        try:
            outcomes = writer.write_isolated(batch)
        except Exception as exc:  # noqa: BLE001 - one document's failure must not stop the batch
            outcomes = [exc] * len(batch)
        for extraction, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                failed(f"{extraction.document.path}: could not be written "
                       f"({type(outcome).__name__}: {outcome})")
                continue
            report.results.append(outcome)
            if on_document:
                on_document(outcome)

    # One writer thread, fed in extraction order: Neo4j works on the documents extracted so
    # far while this process extracts the next ones.
    with _WriterThread(write) as pending:
        for extraction in extractor.extract_many(documents, n_process=jobs):
            bar.update(1)
            pending.put(extraction)
    bar.close()
    report.seconds = time.perf_counter() - started
    if report.written:
        writer.record_run(
            {
                "id": report.run_id,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "documents": len(report.written),
                "failed": len(report.errors),
                "seconds": round(report.seconds, 3),
            },
            [r.document for r in report.written],
        )
    return report
