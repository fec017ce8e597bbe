"""Extraction on a Dask cluster: documents go out in small batches, `Extraction` records come
back, in input order, to the one writer of the calling process.

Each worker builds the spaCy pipeline once (a worker plugin keeps the `Extractor` on the
worker), so a batch costs only its own text. The records are plain frozen dataclasses and
travel by pickle. Like the rest of `ingest/`, this module never touches the database; the
caller writes what it yields.

Workers must be able to import policykg and load the same spaCy model as the client (install
the project into the workers' environment, e.g. the same image or `pip install .`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ingest.records import Document, Extraction

try:
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover - reported when a cluster is asked for
    WorkerPlugin = object  # type: ignore[assignment,misc]

PLUGIN_NAME = "policykg-extractor"


class DaskUnavailable(RuntimeError):
    """dask.distributed is not installed, or the scheduler cannot be reached."""


class ExtractorPlugin(WorkerPlugin):  # type: ignore[misc,valid-type]
    """A Dask worker plugin that builds the `Extractor` once per worker, at registration."""

    name = PLUGIN_NAME

    def __init__(self, model: str | None = None) -> None:
        self.model = model
        self.extractor: Any = None

    def setup(self, worker: Any) -> None:
        from ingest.extract import Extractor
        from ingest.nlp import load_nlp

        self.extractor = Extractor(nlp=load_nlp(self.model))

    def teardown(self, worker: Any) -> None:
        self.extractor = None


def _extract_batch(documents: list[Document], model: str | None) -> list[Extraction]:
    """Runs on a worker: the plugin's extractor, or one built here if the plugin is missing
    (a worker that joined without it)."""
    from distributed import get_worker

    plugin: Any = get_worker().plugins.get(PLUGIN_NAME)
    if plugin is None or getattr(plugin, "extractor", None) is None:
        plugin = ExtractorPlugin(model)
        plugin.setup(get_worker())
        get_worker().plugins[PLUGIN_NAME] = plugin
    return list(plugin.extractor.extract_many(documents))


def _client(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise DaskUnavailable(
            'dask.distributed is not installed: pip install "dask[distributed]"') from exc
    try:
        return Client(address, timeout=30)
    except OSError as exc:
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {address}: {exc}") from exc


def extract_on_dask(
    documents: Iterable[Document],
    address: str,
    *,
    model: str | None = None,
    batch_size: int = 2,
    in_flight: int | None = None,
) -> Iterator[Extraction]:
    """Extract `documents` on the Dask cluster at `address` (e.g. `tcp://10.0.0.5:8786`),
    yielding one `Extraction` per document in input order.

    Documents are read lazily: at most `in_flight` batches (default: two per worker thread)
    are out at once, so memory stays flat however large the corpus."""
    from ingest.extract import in_input_order

    client = _client(address)
    try:
        client.register_plugin(ExtractorPlugin(model), name=PLUGIN_NAME)
        if in_flight is None:
            threads = sum(client.nthreads().values()) or 1
            in_flight = 2 * threads
        yield from in_input_order(
            documents, lambda docs: client.submit(_extract_batch, docs, model, pure=False),
            per_task=batch_size, in_flight=in_flight)
    finally:
        client.close()


class DaskExtractor:
    """The `Extracts` protocol of `graph.ingestion.ingest`, served by a Dask cluster:
    `ingest(paths, DaskExtractor(address), writer)` extracts on the cluster and writes here."""

    def __init__(self, address: str, model: str | None = None, batch_size: int = 2) -> None:
        self.address = address
        self.model = model
        self.batch_size = batch_size

    def extract_many(self, documents: Iterable[Document], n_process: int = 1,
                     batch_size: int = 8) -> Iterator[Extraction]:
        """`n_process` and `batch_size` of the local extractor do not apply: the cluster's
        workers are the processes."""
        return extract_on_dask(documents, self.address, model=self.model,
                               batch_size=self.batch_size)
