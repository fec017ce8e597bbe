"""Bad input survived: over a thousand malformed files (truncated, mutated and encrypted PDFs,
zip bombs and broken archives as .docx, binary junk, invalid UTF-8, deep HTML, random bytes
under every supported suffix) each end in a `Document` or one `LoadError`, within a deadline
and bounded memory; a batch with bad files still ingests the good ones."""

from __future__ import annotations

import hashlib
import io
import resource
import shutil
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loaders import SUPPORTED, LoadError, load_document
from tests.conftest import FOUNDING

DEADLINE = timedelta(seconds=5)
MAX_RSS_GROWTH_MB = 400
FUZZ = settings(max_examples=300, deadline=DEADLINE, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------- seed files


def pdf_bytes(text: str = "The NIS2 Directive covers energy and health.") -> bytes:
    """A small valid PDF with one page of text, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
              % (len(objects) + 1, xref))
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("ENISA and CERT-EU cooperate on ransomware.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def zip_bomb(member_mb: int = 60, members: int = 1) -> bytes:
    """A .docx-shaped archive whose members inflate to zeros (about 1000x)."""
    out = io.BytesIO()
    zeros = bytes(member_mb * 1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for i in range(members):
            archive.writestr(f"word/document{i or ''}.xml", zeros)
    return out.getvalue()


def wide_bomb() -> bytes:
    """Many members, each small enough to slip under the per-member ratio check."""
    out = io.BytesIO()
    chunk = bytes(900_000)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        for i in range(300):
            archive.writestr(f"word/media/part{i}.xml", chunk)
    return out.getvalue()


SEEDS: dict[str, tuple[str, bytes]] = {}


def seeds() -> dict[str, tuple[str, bytes]]:
    if not SEEDS:
        SEEDS.update({
            "pdf": (".pdf", pdf_bytes()),
            "encrypted-pdf": (".pdf", encrypted_pdf()),
            "docx": (".docx", docx_bytes()),
            "zip-bomb": (".docx", zip_bomb()),
            "wide-bomb": (".docx", wide_bomb()),
            "html": (".html", b"<html><head><title>Cyber</title></head><body><article><p>"
                     + b"ENISA supports the CSIRTs Network. " * 20
                     + b"</p></article></body></html>"),
            "text": (".txt", FOUNDING.read_bytes()[:3000]),
            "markdown": (".md", b"---\ntitle: Note\ntlp: GREEN\n---\n# Note\n\nENISA works.\n"),
        })
    return SEEDS


# --------------------------------------------------------------------------- strategies


@st.composite
def malformed(draw: st.DrawFn) -> tuple[str, bytes]:
    """A suffix and the bytes of a file that is probably broken in some way."""
    kind = draw(st.sampled_from(["random", "truncated", "mutated", "spliced", "utf8", "seed"]))
    if kind == "random":
        return draw(st.sampled_from(SUPPORTED)), draw(st.binary(max_size=4096))
    if kind == "utf8":  # text with invalid UTF-8 sequences and stray control bytes
        good = draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
        junk = draw(st.binary(min_size=1, max_size=64).filter(lambda b: b != b""))
        at = draw(st.integers(0, len(good)))
        return draw(st.sampled_from([".txt", ".md", ".html"])), good[:at] + junk + good[at:]
    name = draw(st.sampled_from(sorted(seeds())))
    suffix, data = seeds()[name]
    if name in ("zip-bomb", "wide-bomb") and kind != "seed":
        kind = "truncated"  # mutating 60 MB of zeros in memory would only test the test
    if kind == "truncated":
        return suffix, data[: draw(st.integers(0, max(len(data) - 1, 0)))]
    if kind == "mutated":
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 12))):
            buf[draw(st.integers(0, len(buf) - 1))] = draw(st.integers(0, 255))
        return suffix, bytes(buf)
    if kind == "spliced":  # the right suffix on another format's bytes
        other = seeds()[draw(st.sampled_from(sorted(seeds())))][1][:20000]
        return suffix, other
    return suffix, data


# --------------------------------------------------------------------------- the fuzz


def outcome(path: Path) -> str:
    """"ok" or "error"; anything but a Document or one LoadError fails the test."""
    try:
        document = load_document(path)
    except LoadError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        assert "\n" not in str(exc)
        return "error"
    assert document.text.strip()
    assert document.id == hashlib.sha256(document.text.encode("utf-8")).hexdigest()
    return "ok"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _fuzz(workdir: Path, strategy: st.SearchStrategy[tuple[str, bytes]], tally: dict[str, int],
          examples: int) -> None:
    @settings(FUZZ, max_examples=examples)
    @given(case=strategy)
    def run(case: tuple[str, bytes]) -> None:
        suffix, data = case
        path = workdir / f"case{suffix}"
        path.write_bytes(data)
        tally[outcome(path)] += 1

    run()


def test_a_thousand_malformed_files_end_in_a_document_or_a_load_error(workdir: Path) -> None:
    seeds()
    tally = {"ok": 0, "error": 0}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    started = time.monotonic()
    _fuzz(workdir, malformed(), tally, 800)
    _fuzz(workdir, st.tuples(st.sampled_from(SUPPORTED), st.binary(max_size=2048)), tally, 250)
    elapsed = time.monotonic() - started
    growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024 - rss_before
    assert sum(tally.values()) >= 1000, tally
    assert tally["error"] > 0 and tally["ok"] > 0, tally
    assert growth < MAX_RSS_GROWTH_MB, f"peak memory grew by {growth} MB"
    assert elapsed < 150, f"fuzzing took {elapsed:.0f} s"


# --------------------------------------------------------------------------- named hostile files


def _measured(call: Callable[[], str]) -> tuple[str, float, float]:
    """Outcome, seconds and traced peak MB of one load."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = call()
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, time.monotonic() - started, peak / 2**20


@pytest.mark.parametrize(("name", "expect"), [
    ("encrypted-pdf", "error"), ("zip-bomb", "error"), ("wide-bomb", "error"),
    ("pdf", "ok"), ("docx", "ok"), ("html", "ok"),
])
def test_named_file(workdir: Path, name: str, expect: str) -> None:
    suffix, data = seeds()[name]
    path = workdir / f"{name}{suffix}"
    path.write_bytes(data)
    result, seconds, peak = _measured(lambda: outcome(path))
    assert result == expect
    assert seconds < 10 and peak < 300, (seconds, peak)


def test_a_hundred_megabyte_text_is_refused_unread(workdir: Path) -> None:
    path = workdir / "huge.txt"
    with path.open("wb") as fh:
        fh.truncate(100 * 2**20)  # sparse: 100 MB on paper, nothing on disk
    result, seconds, peak = _measured(lambda: outcome(path))
    assert result == "error" and seconds < 2 and peak < 10


@pytest.mark.parametrize("depth", [100_000])
def test_deeply_nested_html(workdir: Path, depth: int) -> None:
    path = workdir / "nested.html"
    path.write_bytes(b"<html><body>" + b"<div>" * depth + b"ENISA works on ransomware."
                     + b"</div>" * depth + b"</body></html>")
    result, seconds, peak = _measured(lambda: outcome(path))
    assert result in ("ok", "error")
    assert seconds < 30 and peak < 500, (seconds, peak)


def test_invalid_utf8_and_binary_junk(workdir: Path) -> None:
    cases = {
        "latin.txt": "Stratégie de cybersécurité de l'UE".encode("cp1252"),
        "junk.txt": bytes(range(256)) * 40,
        "junk.md": b"\x00\x01\x02\xff" * 1000,
        "overlong.txt": b"ENISA \xc0\xaf \xed\xa0\x80 " * 50,
        "junk.pdf": b"%PDF-1.7\n" + bytes(range(256)) * 20,
        "junk.docx": b"PK\x03\x04" + bytes(4000),
        "junk.html": b"<html>\xff\xfe\x00<body>" + bytes(range(256)) * 8,
    }
    for name, data in cases.items():
        (workdir / name).write_bytes(data)
        assert outcome(workdir / name) in ("ok", "error")
    assert outcome(workdir / "latin.txt") == "ok"
    assert outcome(workdir / "junk.md") == "error"


def test_batch_with_bad_files_ingests_the_good_ones(empty_graph, extractor, neo4j_driver,  # noqa: ANN001
                                                    tmp_path: Path) -> None:
    from graph.ingestion import ingest

    shutil.copy(FOUNDING, tmp_path / FOUNDING.name)
    bad = {"bomb.docx": seeds()["zip-bomb"][1], "locked.pdf": seeds()["encrypted-pdf"][1],
           "junk.pdf": b"%PDF-1.4\n" + bytes(range(256)) * 4, "junk.md": b"\x00\xff" * 500,
           "cut.docx": seeds()["docx"][1][:700]}
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    report = ingest([tmp_path], extractor, empty_graph)
    assert len(report.written) == 1
    assert sorted(Path(e.split(":")[0]).name for e in report.errors) == sorted(bad)
    records, _, _ = neo4j_driver.execute_query("MATCH (d:Document) RETURN d.path AS path")
    assert [Path(r["path"]).name for r in records] == [FOUNDING.name]
