"""Parallel ingest gives the same graph as a plain one: `--jobs 1`, `--jobs 2` and extraction on
a local Dask cluster of two worker processes, compared as a canonical dump of every node,
relationship and property (ingest runs aside). Also: the Dask path never imports neo4j."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph.bench import canonical_dump, wipe
from graph.ingestion import ingest
from graph.writer import GraphWriter
from tests.conftest import CORPUS, ROOT

SMALL = ("karpacz-2024-cyber-ministers-meeting.txt",
         "08_healthcare-cybersecurity-action-plan-2025.txt",
         "17_nis2-articles-14-16-eu-cooperation.txt")


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("parallel")
    for name in SMALL:
        shutil.copy(CORPUS / name, folder / name)
        meta = (CORPUS / name).with_suffix(".meta.yaml")
        if meta.exists():
            shutil.copy(meta, folder / meta.name)
    return folder


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address


def test_distributed_module_does_not_import_neo4j() -> None:
    code = "import sys, ingest.distributed; print('neo4j' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def _ingest_and_dump(writer: GraphWriter, driver: Any, documents: Path, extractor: Any,
                     jobs: int = 1) -> dict[str, Any]:
    wipe(driver)
    writer.ensure_schema()
    report = ingest([documents], extractor, writer, jobs=jobs)
    assert report.errors == []
    assert len(report.written) == len(SMALL)
    return canonical_dump(driver)


def test_jobs_and_dask_give_the_same_graph(empty_graph: GraphWriter, neo4j_driver: Any,
                                           extractor: Any, documents: Path,
                                           dask_address: str) -> None:
    from ingest.distributed import DaskExtractor

    plain = _ingest_and_dump(empty_graph, neo4j_driver, documents, extractor, jobs=1)
    assert len(plain["nodes"]) > 50 and len(plain["relationships"]) > 50
    two = _ingest_and_dump(empty_graph, neo4j_driver, documents, extractor, jobs=2)
    assert two == plain
    on_dask = _ingest_and_dump(empty_graph, neo4j_driver, documents,
                               DaskExtractor(dask_address, batch_size=1))
    assert on_dask == plain
    # ingesting again through Dask changes nothing: same content, same ids
    again = ingest([documents], DaskExtractor(dask_address), empty_graph)
    assert again.errors == [] and again.written == []
    assert canonical_dump(neo4j_driver) == plain
    wipe(neo4j_driver)


def test_dask_extraction_streams_in_input_order(extractor: Any, documents: Path,
                                                dask_address: str) -> None:
    from ingest.distributed import extract_on_dask
    from ingest.loaders import load_document

    docs = [load_document(documents / name) for name in SMALL] * 2
    out = list(extract_on_dask(iter(docs), dask_address, batch_size=1, in_flight=2))
    assert [x.document.id for x in out] == [d.id for d in docs]
    local = {x.document.id: x for x in extractor.extract_many(docs[:3])}
    assert all(x == local[x.document.id] for x in out)
