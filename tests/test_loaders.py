"""Loading documents: every format, encodings, metadata precedence, TLP and clean failures.

Fixtures are built in `tmp_path` by code (a hand-written PDF, python-docx, zipfile), so each
test shows the input it judges. No database and no spaCy are needed.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from ingest import loaders
from ingest.loaders import SUPPORTED, LoadError, iter_paths, load_document

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
PARA = (
    "The European Union Agency for Cybersecurity (ENISA) supports Member States in building "
    "capacity against ransomware and other threats to hospitals and healthcare providers. "
)

# --------------------------------------------------------------------------- builders


def make_pdf(pages: list[list[str]], title: str | None = None) -> bytes:
    """A minimal valid PDF: one Helvetica text line per string, one page per list."""

    def esc(s: str) -> str:
        return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages))).encode(), len(pages)),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, lines in enumerate(pages):
        ops = ["BT /F1 12 Tf 14 TL 72 720 Td", *(f"({esc(line)}) Tj T*" for line in lines), "ET"]
        stream = "\n".join(ops).encode("cp1252")
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    info = ""
    if title is not None:
        objects.append(b"<< /Title (%s) >>" % esc(title).encode("latin-1"))
        info = f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{info} >>\n".encode()
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def encrypt_pdf(data: bytes, user: str, owner: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        content = content.encode(encoding)
    path.write_bytes(content)
    return path


def make_docx(path: Path, title: str | None = None) -> Path:
    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    document.add_paragraph("Cyber Ministers' Meeting")
    document.add_paragraph("The CSIRTs network coordinates incident response across the Union.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Actor"
    table.cell(0, 1).text = "Role"
    table.cell(1, 0).text = "ENISA"
    table.cell(1, 1).text = "EU agency for cybersecurity"
    document.add_paragraph("Closing paragraph after the table.")
    document.save(str(path))
    return path


def html_page(body_extra: str = "") -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>ENISA supports hospitals</title>
<script>var tracking = "SCRIPTSECRET";</script><style>.x {{color: red}}</style></head>
<body><nav><ul><li><a href="/">Home</a></li><li><a href="/a">NAVLINK About us</a></li></ul></nav>
<main><article><h1>ENISA supports hospitals</h1><p>{PARA * 3}</p>
<p>The Cyber Solidarity Act funds the European Cybersecurity Reserve through the Digital
Europe Programme, and the CSIRTs network coordinates incident response. Café “quoted” €.</p>
{body_extra}</article></main>
<footer>FOOTERTEXT Copyright 2024. All rights reserved. Privacy policy.</footer></body></html>"""


def reason_of(path: Path, **kwargs: object) -> str:
    """Load a file that must fail, check the error names it, and return the message."""
    with pytest.raises(LoadError) as caught:
        load_document(path, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert path.name in message
    assert "\n" not in message
    assert caught.value.path == str(path)
    return message


# --------------------------------------------------------------------------- LoadError


def test_load_error_formats_path_and_reason_on_one_line_and_pickles() -> None:
    error = LoadError(Path("/docs/x.pdf"), "corrupt PDF\n  (bad xref)")
    assert str(error) == "/docs/x.pdf: corrupt PDF (bad xref)"
    assert (error.path, error.reason) == ("/docs/x.pdf", "corrupt PDF (bad xref)")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, LoadError)
    assert str(copy) == str(error)


# --------------------------------------------------------------------------- text formats


def test_txt_loads_with_id_format_and_title_from_first_line(tmp_path: Path) -> None:
    text = "\n\nEnhancing Cooperation\n\nENISA and the CSIRTs network met in Karpacz.\n"
    path = write(tmp_path / "note.txt", text)
    doc = load_document(path)
    assert doc.text == "Enhancing Cooperation\n\nENISA and the CSIRTs network met in Karpacz."
    assert doc.id == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()
    assert doc.path == str(path)
    assert doc.format == "txt"
    assert doc.title == "Enhancing Cooperation"
    assert doc.tlp == "CLEAR"
    assert (doc.issuer, doc.date, doc.source, doc.page_starts) == (None, None, None, ())
    assert doc.page_at(5) is None


def test_markdown_front_matter_is_metadata_and_stripped_from_text(tmp_path: Path) -> None:
    path = write(
        tmp_path / "paper.md",
        "---\ntitle: Cyber crises paper\nissuer: Ministry of Digital Affairs\n"
        "date: 2024-09-04T09:30:00\nsource: https://example.org/paper\ntlp: TLP:GREEN\n"
        "---\n# Heading\n\nBody text about ENISA.\n",
    )
    doc = load_document(path)
    assert doc.text == "# Heading\n\nBody text about ENISA."
    assert doc.format == "md"
    assert doc.title == "Cyber crises paper"
    assert doc.issuer == "Ministry of Digital Affairs"
    assert doc.date == "2024-09-04"
    assert doc.source == "https://example.org/paper"
    assert doc.tlp == "GREEN"


def test_markdown_heading_gives_title_and_rules_are_not_front_matter(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.md", "---\n\nJust prose between rules.\n\n---\n\n# Later\n")
    doc = load_document(path)
    assert doc.text.startswith("---")
    assert "Just prose between rules." in doc.text
    assert load_document(write(tmp_path / "h.md", "# The Title\n\ntext\n")).title == "The Title"


def test_invalid_front_matter_yaml_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.md", "---\ntitle: [unclosed\n---\nBody\n")
    assert "front matter" in reason_of(path)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", "Cyber “policy” — €5 for ENISA in Zürich.\n"),
        ("utf-8-sig", "Cyber “policy” — €5 for ENISA in Zürich.\n"),
        ("utf-16", "Cyber “policy” — €5 for ENISA in Zürich.\n"),
        ("utf-16-le", "Cyber “policy” — €5 for ENISA in Zürich, without a byte order mark.\n"),
        ("cp1252", "The Commission said “cyber resilience” costs €5 million – a ‘fair’ price.\n"),
        ("cp1252", "€5 “x”\n"),
        ("latin-1", "Café à Zürich; naïve façade. Größe über Ähnlichkeit.\n"),
        ("cp1250", "Współpraca w dziedzinie cyberbezpieczeństwa między państwami.\n"),
    ],
)
def test_text_encodings_are_detected(tmp_path: Path, encoding: str, text: str) -> None:
    path = write(tmp_path / "enc.txt", text, encoding)
    doc = load_document(path)
    assert doc.text == text.strip()
    assert doc.id == hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def test_newlines_are_normalised(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "crlf.txt", "one\r\ntwo\rthree\n"))
    assert doc.text == "one\ntwo\nthree"


def test_same_content_in_two_encodings_has_one_id(tmp_path: Path) -> None:
    text = "Café “ENISA” €\r\n"
    a = load_document(write(tmp_path / "a.txt", text, "utf-16"))
    b = load_document(write(tmp_path / "b.txt", text.replace("\r\n", "\n"), "cp1252"))
    assert a.id == b.id


def test_pdf_word_break_marks_and_ligatures_are_repaired(tmp_path: Path) -> None:
    path = write(tmp_path / "eurlex.txt", "The manu\x02 facturer shall ﬁle a notiﬁcation.\n")
    assert load_document(path).text == "The manufacturer shall file a notification."


# --------------------------------------------------------------------------- PDF


def test_pdf_pages_are_joined_and_page_starts_point_at_each_page(tmp_path: Path) -> None:
    pages = [["Alpha page one", "ENISA opening"], ["Beta page two"], ["Gamma page three"]]
    path = write(tmp_path / "three.pdf", make_pdf(pages))
    doc = load_document(path)
    assert doc.format == "pdf"
    assert len(doc.page_starts) == 3
    assert doc.page_starts[0] == 0
    markers = ("Alpha", "Beta", "Gamma")
    for number, (start, marker) in enumerate(zip(doc.page_starts, markers, strict=True), 1):
        assert doc.text.startswith(marker, start)
        assert doc.page_at(doc.text.index(marker)) == number
    assert doc.text[doc.page_starts[1] - 2 : doc.page_starts[1]] == "\n\n"
    assert doc.page_at(doc.text.index("ENISA")) == 1
    assert doc.page_at(len(doc.text) - 1) == 3
    assert doc.title == "Alpha page one"


def test_pdf_blank_page_keeps_later_pages_aligned(tmp_path: Path) -> None:
    path = write(tmp_path / "gap.pdf", make_pdf([["First"], [], ["Third page text"]]))
    doc = load_document(path)
    assert len(doc.page_starts) == 3
    assert doc.page_at(doc.text.index("Third")) == 3
    assert doc.page_at(0) == 1


def test_pdf_title_comes_from_metadata_unless_a_placeholder(tmp_path: Path) -> None:
    named = write(tmp_path / "named.pdf", make_pdf([["Body line"]], title="EU Cyber Posture"))
    assert load_document(named).title == "EU Cyber Posture"
    junk = write(tmp_path / "junk.pdf", make_pdf([["Body line"]], title="Microsoft Word - x.docx"))
    assert load_document(junk).title == "Body line"


def test_pdf_with_user_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "locked.pdf", encrypt_pdf(make_pdf([["Secret"]]), "user", "owner"))
    assert "encrypted PDF" in reason_of(path)


def test_pdf_encrypted_only_against_editing_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "owner.pdf", encrypt_pdf(make_pdf([["Readable text"]]), "", "owner"))
    assert load_document(path).text == "Readable text"


def test_corrupt_pdf_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.pdf", b"%PDF-1.4\nthis is not really a PDF at all\n")
    assert "corrupt PDF" in reason_of(path)


def test_pdf_without_text_is_reported_as_scanned(tmp_path: Path) -> None:
    path = write(tmp_path / "scan.pdf", make_pdf([[], []]))
    assert "no extractable text (scanned PDF?)" in reason_of(path)


# --------------------------------------------------------------------------- DOCX


def test_docx_paragraphs_and_table_cells_in_order(tmp_path: Path) -> None:
    doc = load_document(make_docx(tmp_path / "memo.docx", title="Memo on cyber crises"))
    assert doc.format == "docx"
    assert doc.title == "Memo on cyber crises"
    assert doc.date is None  # python-docx's template creation date is not the document's
    blocks = doc.text.split("\n\n")
    assert blocks[0] == "Cyber Ministers' Meeting"
    assert blocks.index("ENISA") < blocks.index("EU agency for cybersecurity")
    assert blocks[-1] == "Closing paragraph after the table."
    assert "Actor" in blocks


def test_docx_merged_cells_are_read_once(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Spanning header"
    table.cell(1, 1).text = "Middle"
    document.save(str(tmp_path / "merged.docx"))
    doc = load_document(tmp_path / "merged.docx")
    assert doc.text == "Spanning header\n\nMiddle"


def test_docx_title_falls_back_to_first_line(tmp_path: Path) -> None:
    assert load_document(make_docx(tmp_path / "plain.docx")).title == "Cyber Ministers' Meeting"


def test_docx_zip_bomb_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * 30_000_000)
    assert path.stat().st_size < 200_000
    assert "zip bomb" in reason_of(path)


def test_docx_total_uncompressed_size_is_capped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_docx(tmp_path / "normal.docx")
    monkeypatch.setattr(loaders, "MAX_UNZIPPED_BYTES", 1000)
    assert "zip bomb" in reason_of(path)


def test_docx_that_is_not_a_zip_or_not_a_document_is_refused(tmp_path: Path) -> None:
    assert "not a zip" in reason_of(write(tmp_path / "fake.docx", "plain text, not a zip"))
    other = tmp_path / "other.docx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("hello.txt", "not an office document")
    assert "not a valid .docx" in reason_of(other)


# --------------------------------------------------------------------------- HTML


def test_html_main_text_without_boilerplate(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "page.html", html_page()))
    assert doc.format == "html"
    assert doc.title == "ENISA supports hospitals"
    assert "Cyber Solidarity Act" in doc.text
    assert "Café “quoted” €" in doc.text
    for boilerplate in ("SCRIPTSECRET", "NAVLINK", "FOOTERTEXT", "color: red"):
        assert boilerplate not in doc.text


def test_htm_is_html_and_metadata_url_is_source(tmp_path: Path) -> None:
    canonical = '<link rel="canonical" href="https://example.eu/news/enisa">'
    page = html_page().replace("<title>", canonical + "<title>")
    doc = load_document(write(tmp_path / "page.htm", page))
    assert doc.format == "html"
    assert doc.source == "https://example.eu/news/enisa"


def test_html_falls_back_to_plain_text_when_trafilatura_finds_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loaders.trafilatura, "extract", lambda *a, **k: None)
    doc = load_document(write(tmp_path / "tiny.html", html_page()))
    assert "Cyber Solidarity Act" in doc.text
    assert "SCRIPTSECRET" not in doc.text


def test_html_without_text_is_empty(tmp_path: Path) -> None:
    path = write(tmp_path / "blank.html", "<html><head><script>x=1</script></head><body></body>")
    assert "empty document" in reason_of(path)


# --------------------------------------------------------------------------- metadata


def test_sidecar_wins_over_front_matter_field_by_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.md",
        "---\ntitle: From front matter\nissuer: Front issuer\ntlp: AMBER\n---\nBody\n",
    )
    write(tmp_path / "x.meta.yaml", "title: From sidecar\ndate: 2022-12-14\ntlp: white\n")
    doc = load_document(path)
    assert doc.title == "From sidecar"
    assert doc.issuer == "Front issuer"
    assert doc.date == "2022-12-14"
    assert doc.tlp == "CLEAR"


def test_sidecar_beside_pdf_in_both_namings(tmp_path: Path) -> None:
    pdf = make_pdf([["Body of the communication"]], title="Embedded title")
    short = write(tmp_path / "a.pdf", pdf)
    write(tmp_path / "a.meta.yaml", "title: Short sidecar\nissuer: European Commission\n")
    assert load_document(short).title == "Short sidecar"
    assert load_document(short).issuer == "European Commission"
    full = write(tmp_path / "b.pdf", pdf)
    write(tmp_path / "b.pdf.meta.yaml", "title: Full-name sidecar\ntlp: TLP:RED\n")
    write(tmp_path / "b.meta.yaml", "title: Less specific sidecar\n")
    doc = load_document(full)
    assert (doc.title, doc.tlp) == ("Full-name sidecar", "RED")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-09-04", "2024-09-04"),
        ("'2024-09-04T10:00:00Z'", "2024-09-04"),
        ("'20240904'", "2024-09-04"),
        ("2024-09", "2024-09"),
        ("2024", "2024"),
    ],
)
def test_dates_are_normalised(tmp_path: Path, value: str, expected: str) -> None:
    path = write(tmp_path / "d.txt", "Body\n")
    write(tmp_path / "d.meta.yaml", f"date: {value}\n")
    assert load_document(path).date == expected


@pytest.mark.parametrize(
    ("sidecar", "field"),
    [("tlp: PURPLE\n", "tlp"), ("tlp: 3\n", "tlp"), ("date: 4 September\n", "date"),
     ("title: [a, b]\n", "title")],
)  # fmt: skip
def test_invalid_metadata_names_the_field(tmp_path: Path, sidecar: str, field: str) -> None:
    path = write(tmp_path / "m.txt", "Body\n")
    write(tmp_path / "m.meta.yaml", sidecar)
    message = reason_of(path)
    assert f"invalid {field}" in message
    assert "m.meta.yaml" in message


def test_broken_sidecar_yaml_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "s.txt", "Body\n")
    write(tmp_path / "s.meta.yaml", "title: [oops\n")
    assert "s.meta.yaml: invalid YAML" in reason_of(path)
    write(tmp_path / "s.meta.yaml", "- just\n- a list\n")
    assert "expected a mapping" in reason_of(path)


def test_unknown_sidecar_keys_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "k.txt", "Body\n")
    write(tmp_path / "k.meta.yaml", "# comment\nlicence: CC BY 4.0\nissuer: ENISA\n")
    assert load_document(path).issuer == "ENISA"


# --------------------------------------------------------------------------- TLP


def test_tlp_marking_in_text_sets_level(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "t.txt", "TLP:AMBER\n\nIncident summary\n"))
    assert doc.tlp == "AMBER"
    assert doc.title == "Incident summary"


def test_strictest_marking_wins_and_amber_strict_is_red(tmp_path: Path) -> None:
    doc = load_document(write(tmp_path / "t.txt", "TLP:GREEN header\nTLP: RED annex\n"))
    assert doc.tlp == "RED"
    strict = load_document(write(tmp_path / "s.txt", "TLP:AMBER+STRICT\nBody\n"))
    assert strict.tlp == "RED"


def test_marking_after_2000_characters_is_ignored_and_default_applies(tmp_path: Path) -> None:
    path = write(tmp_path / "late.txt", "Title\n" + "x " * 1100 + "\nTLP:RED\n")
    assert load_document(path).tlp == "CLEAR"
    assert load_document(path, default_tlp="GREEN").tlp == "GREEN"
    assert load_document(path, default_tlp="tlp:amber").tlp == "AMBER"


def test_metadata_tlp_overrides_text_marking(tmp_path: Path) -> None:
    path = write(tmp_path / "o.txt", "TLP:RED\nBody\n")
    write(tmp_path / "o.meta.yaml", "tlp: GREEN\n")
    assert load_document(path).tlp == "GREEN"


def test_invalid_default_tlp_is_a_load_error(tmp_path: Path) -> None:
    path = write(tmp_path / "p.txt", "Body\n")
    assert "default_tlp" in reason_of(path, default_tlp="SECRET")


# --------------------------------------------------------------------------- failures


def test_empty_and_whitespace_only_files(tmp_path: Path) -> None:
    assert "empty document" in reason_of(write(tmp_path / "empty.txt", b""))
    assert "empty document" in reason_of(write(tmp_path / "blank.md", " \n\t\r\n  "))
    front_only = write(tmp_path / "front.md", "---\ntitle: Nothing else\n---\n\n")
    assert "empty document" in reason_of(front_only)


def test_random_binary_junk_as_txt_is_refused_cleanly(tmp_path: Path) -> None:
    junk = write(tmp_path / "junk.txt", os.urandom(4096))
    assert "binary" in reason_of(junk)
    png = write(tmp_path / "image.txt", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    assert "binary" in reason_of(png)


def test_nonexistent_directory_and_unsupported_paths(tmp_path: Path) -> None:
    assert "no such file" in reason_of(tmp_path / "missing.txt")
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    assert "directory" in reason_of(folder)
    assert "unsupported format" in reason_of(write(tmp_path / "data.csv", "a,b\n"))


def test_too_large_files_are_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 2000)
    assert "file too large" in reason_of(path, max_bytes=1000)
    assert load_document(path, max_bytes=2000).text == "x" * 2000


def test_permission_denied_is_a_load_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "locked.txt", "Body\n")

    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "open", refuse)
    assert "permission denied" in reason_of(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_mode(tmp_path: Path) -> None:
    path = write(tmp_path / "mode.txt", "Body\n")
    path.chmod(0)
    try:
        assert "permission denied" in reason_of(path)
    finally:
        path.chmod(0o644)


def test_unexpected_exceptions_are_wrapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(path: Path, data: bytes) -> None:
        raise RuntimeError("library exploded")

    monkeypatch.setitem(loaders._LOADERS, ".txt", boom)
    message = reason_of(write(tmp_path / "any.txt", "Body\n"))
    assert "RuntimeError: library exploded" in message


# --------------------------------------------------------------------------- iter_paths


def test_iter_paths_walks_folders_sorted_and_filters(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    keep = [
        write(root / "b.pdf", b"%PDF"),
        write(root / "a.txt", "x"),
        write(root / "sub" / "c.docx", b"PK"),
        write(root / "sub" / "d.HTML", "x"),
        write(root / "sub" / "e.htm", "x"),
        write(root / "z.md", "x"),
    ]
    for skipped in (
        "a.meta.yaml", "b.pdf.meta.yaml", ".hidden.txt", ".git/config.txt", "README.md",
        "SOURCES.md", "LICENSE", "LICENSE.md", "notes.csv", "sub/readme.md",
    ):  # fmt: skip
        write(root / skipped, "x")
    found = list(iter_paths([root]))
    assert found == sorted(keep)
    assert all(p.suffix.lower() in SUPPORTED for p in found)


def test_iter_paths_yields_files_as_given_once_and_rejects_missing(tmp_path: Path) -> None:
    readme = write(tmp_path / "README.md", "x")
    doc = write(tmp_path / "a.txt", "x")
    assert list(iter_paths([str(readme), doc, tmp_path])) == [readme, doc]
    with pytest.raises(LoadError, match="nothing-here"):
        list(iter_paths([doc, tmp_path / "nothing-here"]))


# --------------------------------------------------------------------------- corpus


def test_corpus_documents_load_with_their_sidecars() -> None:
    paths = list(iter_paths([CORPUS]))
    names = [p.name for p in paths]
    assert "SOURCES.md" not in names
    assert len(paths) == len(list(CORPUS.glob("*.txt"))) >= 9
    docs = [load_document(p) for p in paths]
    assert len({d.id for d in docs}) == len(docs)
    for path, doc in zip(paths, docs, strict=True):
        assert path.with_suffix(".meta.yaml").is_file()
        assert doc.title != path.stem
        assert doc.date is not None and doc.tlp == "CLEAR"
    karpacz = next(d for d in docs if d.path.endswith("karpacz-2024-cyber-ministers-meeting.txt"))
    assert karpacz.date == "2024-09-04"
    assert "Karpacz" in karpacz.title
