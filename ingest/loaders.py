"""Turn files on disk into `Document` records: clean text plus what is known about it.

This is the first step of ingestion and the only one that touches raw bytes. Each format
has one small loader built on its library (charset-normalizer and python-frontmatter for
.txt/.md, pypdf, python-docx, trafilatura); they all feed the same pipeline that cleans the
text, merges metadata (sidecar `NAME.meta.yaml` > front matter > the file's own metadata >
the text itself > defaults) and hashes the text into the document id.

Every failure a user can cause with a bad file comes out as `LoadError`, whose message names
the file, so `policykg ingest` can report it and carry on with the other files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docx
import trafilatura
import yaml
from charset_normalizer import from_bytes
from docx.text.paragraph import Paragraph
from frontmatter import YAMLHandler
from pypdf import PdfReader
from pypdf.errors import DependencyError

from ingest.records import TLP_LEVELS, Document, Tlp

SUPPORTED = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")

# .docx are zip archives; python-docx inflates parts fully, so refuse archives that would
# expand past these bounds (zipfile never yields more than a member's declared size).
MAX_UNZIPPED_BYTES = 200_000_000
MAX_ZIP_RATIO = 200  # deflate of real XML stays well below this; zeros reach ~1000
ZIP_RATIO_FLOOR = 1_000_000  # small members may compress extremely well; ignore their ratio
MAX_SIDECAR_BYTES = 1_000_000

SIDECAR_SUFFIX = ".meta.yaml"
META_FIELDS = ("title", "issuer", "date", "source", "tlp")
TITLE_MAX = 200
TLP_SCAN_CHARS = 2000

# Legacy single-byte code pages of European documents, for charset-normalizer to choose from.
_LEGACY_ENCODINGS = [
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "latin_1",
    "iso8859_2", "iso8859_5", "iso8859_7", "iso8859_13", "iso8859_15", "koi8_r",
]  # fmt: skip
_WIDE_ENCODINGS = ["utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be"]
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_BINARY_RATIO = 0.05  # share of control characters above which "text" is really binary

_TLP_MARK = re.compile(r"\bTLP\s*:\s*(CLEAR|WHITE|GREEN|AMBER\+STRICT|AMBER|RED)\b", re.I)
# EUR-Lex PDF renderings mark a hyphenated line break with U+0002 ("manu\x02 facturer").
_WORD_BREAK = re.compile("\x02[ \t]*")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f\u00ad\ufeff]")
_LIGATURES = str.maketrans(
    {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
     "\ufb05": "st", "\ufb06": "st"}
)  # fmt: skip
_PLACEHOLDER_TITLES = {"untitled", "title", "document", "no title", "microsoft word"}


class LoadError(Exception):
    """A file that cannot become a `Document`; `str()` is "<path>: <reason>" on one line."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self) -> tuple[type[LoadError], tuple[str, str]]:
        # keeps the two-argument constructor picklable for process pools
        return (LoadError, (self.path, self.reason))


@dataclass
class _Loaded:
    """What a format loader hands to the common pipeline."""

    text: str
    page_starts: tuple[int, ...] = ()
    declared: dict[str, Any] = field(default_factory=dict)  # front matter
    embedded: dict[str, Any] = field(default_factory=dict)  # the format's own metadata


# --------------------------------------------------------------------------- paths


def iter_paths(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Expand the command line's files and folders into the documents to load.

    Files are yielded as given (an unsupported one then fails in `load_document`, visibly);
    folders are walked recursively in sorted order, keeping only supported documents and
    leaving out hidden entries, metadata sidecars and source listings (README, SOURCES,
    LICENSE). A path that does not exist raises `LoadError`. Each file is yielded once.
    """
    seen: set[Path] = set()
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise LoadError(path, "no such file or directory")
        found = _walk(path) if path.is_dir() else [path]
        for item in found:
            key = item.resolve()
            if key not in seen:
                seen.add(key)
                yield item


def _walk(folder: Path) -> list[Path]:
    """Documents under `folder`, sorted; hidden folders are not entered."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(Path(root, name) for name in files if _is_document_name(name))
    return sorted(found)


def _is_document_name(name: str) -> bool:
    """Whether a file met in a folder walk is a document rather than a companion file."""
    lower = name.lower()
    if name.startswith(".") or lower.endswith(SIDECAR_SUFFIX):
        return False
    if lower in ("readme.md", "sources.md") or lower.startswith("license"):
        return False
    return Path(lower).suffix in SUPPORTED


# --------------------------------------------------------------------------- entry point


def load_document(
    path: Path | str, *, default_tlp: str = "CLEAR", max_bytes: int = 50_000_000
) -> Document:
    """Load one file into a `Document`; any failure is a `LoadError` naming the file.

    `default_tlp` applies when neither metadata nor a "TLP:" marking in the text sets one;
    files larger than `max_bytes` are refused before they are read.
    """
    path = Path(path)
    try:
        return _load(path, default_tlp, max_bytes)
    except LoadError:
        raise
    except Exception as exc:  # a library failing on odd input must not stop a whole run
        raise LoadError(path, f"{type(exc).__name__}: {exc}") from exc


def _load(path: Path, default_tlp: str, max_bytes: int) -> Document:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise LoadError(
            path,
            f"unsupported format {suffix or '(no suffix)'!r}; "
            f"expected one of {', '.join(SUPPORTED)}",
        )
    fallback_tlp = _tlp(default_tlp)
    if fallback_tlp is None:
        raise LoadError(path, f"invalid default_tlp {default_tlp!r}")
    loaded = _LOADERS[suffix](path, _read(path, max_bytes))
    text, starts = _finish_text(loaded.text, loaded.page_starts)
    if not text:
        raise LoadError(path, "empty document")
    meta = _merge_metadata(path, loaded)
    return Document(
        id=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        path=str(path),
        title=meta.get("title") or _title_from_text(text) or path.stem,
        text=text,
        format="html" if suffix == ".htm" else suffix[1:],
        issuer=meta.get("issuer"),
        date=meta.get("date"),
        source=meta.get("source"),
        tlp=meta.get("tlp") or _tlp_in_text(text) or fallback_tlp,
        page_starts=starts,
    )


def _read(path: Path, max_bytes: int) -> bytes:
    """The file's bytes, refusing what is not a readable regular file within the limit."""
    if path.is_dir():
        raise LoadError(path, "is a directory, not a file")
    if path.exists() and not path.is_file():
        raise LoadError(path, "not a regular file")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(path, f"file too large ({size:,} bytes > limit {max_bytes:,})")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise LoadError(path, "no such file") from None
    except PermissionError:
        raise LoadError(path, "permission denied") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:  # grew after stat, or a special file
        raise LoadError(path, f"file too large (> limit {max_bytes:,} bytes)")
    return data


# --------------------------------------------------------------------------- text formats


def _load_text(path: Path, data: bytes) -> _Loaded:
    """.txt and .md: decode whatever the encoding, then split off YAML front matter."""
    text = _decode(path, data).replace("\r\n", "\n").replace("\r", "\n")
    declared, body = _split_front_matter(path, text)
    return _Loaded(body, declared=declared)


def _decode(path: Path, data: bytes) -> str:
    """Bytes to text: BOM, then UTF-8, then charset-normalizer's best guess among encodings.

    On short texts charset-normalizer cannot tell the Western code pages apart, so it is
    limited to the families European documents use and cp1252 wins ties (latin-1 text
    decodes identically under it, except for unused control codes).
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _checked_text(path, data.decode(encoding))
    try:
        return _checked_text(path, data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    if data.count(0) > len(data) // 10:  # UTF-16/32 without a BOM
        match = from_bytes(data, cp_isolation=_WIDE_ENCODINGS).best()
        if match is None:
            raise LoadError(path, "binary content, not text")
        return _checked_text(path, str(match))
    results = from_bytes(data, cp_isolation=_LEGACY_ENCODINGS)
    best = results.best()
    if best is None:
        encoding = "cp1252" if _decodes(data, "cp1252") else "latin_1"
    else:
        ties = [m for m in results if m.chaos <= best.chaos and m.coherence >= best.coherence]
        western = any("cp1252" in m.could_be_from_charset for m in [best, *ties])
        encoding = "cp1252" if western else best.encoding
    return _checked_text(path, data.decode(encoding, errors="replace"))


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _checked_text(path: Path, text: str) -> str:
    """Refuse decoded "text" that is mostly control characters: a binary file misnamed."""
    if text:
        odd = sum(1 for ch in text if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r\f\v"))
        if odd / len(text) > _BINARY_RATIO:
            raise LoadError(path, "binary content, not text")
    return text


def _split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (a mapping between `---` lines at the very top) and the body."""
    handler = YAMLHandler()
    if not handler.detect(text):
        return {}, text
    try:
        raw, body = handler.split(text)
    except ValueError:  # a lone opening `---`: a rule, not front matter
        return {}, text
    try:
        meta = handler.load(raw)
    except yaml.YAMLError as exc:
        raise LoadError(path, f"invalid YAML front matter: {_first_line(exc)}") from None
    if not isinstance(meta, dict):  # prose between two rules, keep it as text
        return {}, text
    return meta, body


# --------------------------------------------------------------------------- PDF


def _load_pdf(path: Path, data: bytes) -> _Loaded:
    """Text of each page, joined with blank lines, with the offset where each page starts."""
    try:
        reader = PdfReader(io.BytesIO(data))
        _unlock(path, reader)
        pages = [_clean(page.extract_text() or "").strip() for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:
        raise LoadError(path, f"corrupt PDF ({type(exc).__name__}: {_first_line(exc)})") from None
    if not any(pages):
        raise LoadError(path, "no extractable text (scanned PDF?)")
    starts, offset = [], 0
    for text in pages:
        starts.append(offset)
        offset += len(text) + 2
    return _Loaded("\n\n".join(pages), tuple(starts), embedded=_pdf_metadata(reader))


def _unlock(path: Path, reader: PdfReader) -> None:
    """Open PDFs encrypted only against editing (empty user password); refuse the rest."""
    if not reader.is_encrypted:
        return
    try:
        opened = reader.decrypt("")
    except DependencyError:
        raise LoadError(path, "encrypted PDF (AES; needs the 'cryptography' package)") from None
    if not opened:
        raise LoadError(path, "encrypted PDF (a password is needed to read it)")


def _pdf_metadata(reader: PdfReader) -> dict[str, Any]:
    """Title and creation date from the document information dictionary, if sane."""
    try:
        info = reader.metadata
        if info is None:
            return {}
        return {"title": _usable_title(info.title), "date": info.creation_date}
    except Exception:  # malformed info dictionaries are common and never fatal
        return {}


# --------------------------------------------------------------------------- DOCX


def _load_docx(path: Path, data: bytes) -> _Loaded:
    """Paragraphs and table cells in document order, one block per blank-line-separated part."""
    _check_zip(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoadError(
            path, f"not a valid .docx ({type(exc).__name__}: {_first_line(exc)})"
        ) from None
    blocks = [block for block in _docx_blocks(document) if block.strip()]
    # core_properties.created is not used as a date: files inherit it from their template
    embedded = {"title": _usable_title(document.core_properties.title)}
    return _Loaded("\n\n".join(blocks), embedded=embedded)


def _docx_blocks(container: Any) -> Iterator[str]:
    """Texts of paragraphs, and of each table cell once (merged cells repeat), recursively."""
    for item in container.iter_inner_content():
        if isinstance(item, Paragraph):
            yield item.text
            continue
        seen: set[Any] = set()  # the cell elements themselves: ids of lxml proxies get reused
        for row in item.rows:
            for cell in row.cells:
                if cell._tc not in seen:
                    seen.add(cell._tc)
                    yield from _docx_blocks(cell)


def _check_zip(path: Path, data: bytes) -> None:
    """Refuse non-zip files and zip bombs before python-docx inflates anything."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise LoadError(path, "not a .docx (not a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise LoadError(path, f"corrupt .docx ({_first_line(exc)})") from None
    total = sum(m.file_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise LoadError(
            path,
            f"refused: archive would expand to {total:,} bytes "
            f"(limit {MAX_UNZIPPED_BYTES:,}); possible zip bomb",
        )
    for m in members:
        if m.file_size > ZIP_RATIO_FLOOR and m.file_size > MAX_ZIP_RATIO * max(m.compress_size, 1):
            raise LoadError(
                path,
                f"refused: member {m.filename} expands "
                f"{m.file_size // max(m.compress_size, 1)}x; possible zip bomb",
            )


# --------------------------------------------------------------------------- HTML


def _load_html(path: Path, data: bytes) -> _Loaded:
    """Main text without navigation, footers and scripts; plain text if trafilatura finds none."""
    text = trafilatura.extract(data, include_comments=False, include_tables=True) or ""
    if not text.strip():
        text = trafilatura.html2txt(data)
    tree = trafilatura.load_html(data)
    embedded: dict[str, Any] = {}
    if tree is not None:
        meta = trafilatura.extract_metadata(tree, extensive=False)
        embedded = {
            "title": _usable_title(meta.title) or _html_title(tree),
            "date": meta.date,
            "source": meta.url,
        }
    return _Loaded(text, embedded=embedded)


def _html_title(tree: Any) -> str | None:
    """The <title> element, for pages whose metadata trafilatura does not recognise."""
    found = tree.findtext(".//title")
    return _usable_title(found)


_LOADERS: dict[str, Callable[[Path, bytes], _Loaded]] = {
    ".txt": _load_text,
    ".md": _load_text,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
    ".html": _load_html,
    ".htm": _load_html,
}


# --------------------------------------------------------------------------- text clean-up


def _clean(text: str) -> str:
    """Uniform text for extraction: \\n newlines, NFC, no ligatures or stray control codes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\v", "\n").replace("\f", "\n")
    text = _CONTROL.sub("", _WORD_BREAK.sub("", text))
    return unicodedata.normalize("NFC", text.translate(_LIGATURES))


def _finish_text(text: str, page_starts: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """Clean and trim the text, keeping page offsets valid (pages are cleaned already)."""
    if not page_starts:
        return _clean(text).strip(), ()
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    return text, tuple(min(max(s - lead, 0), len(text)) for s in page_starts)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


# --------------------------------------------------------------------------- metadata


def _merge_metadata(path: Path, loaded: _Loaded) -> dict[str, Any]:
    """Normalised metadata: sidecar over front matter over the format's own metadata."""
    merged: dict[str, Any] = {}
    layers = [
        ("file metadata", loaded.embedded, False),
        ("front matter", loaded.declared, True),
        *_sidecar_layer(path),
    ]
    for origin, raw, strict in layers:
        for key in META_FIELDS:
            value = _field(path, origin, key, raw.get(key), strict)
            if value is not None:
                merged[key] = value
    return merged


def _sidecar_layer(path: Path) -> list[tuple[str, dict[str, Any], bool]]:
    """The sidecar's mapping: `x.pdf.meta.yaml` if present, else `x.meta.yaml`."""
    for sidecar in (path.with_name(path.name + SIDECAR_SUFFIX), path.with_suffix(SIDECAR_SUFFIX)):
        if sidecar.is_file():
            return [(sidecar.name, _read_sidecar(path, sidecar), True)]
    return []


def _read_sidecar(path: Path, sidecar: Path) -> dict[str, Any]:
    try:
        with sidecar.open("rb") as handle:
            raw = handle.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise LoadError(path, f"{sidecar.name}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > MAX_SIDECAR_BYTES:
        raise LoadError(path, f"{sidecar.name}: too large for a metadata file")
    try:
        meta = yaml.safe_load(raw.decode("utf-8-sig"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LoadError(path, f"{sidecar.name}: invalid YAML ({_first_line(exc)})") from None
    if meta is None:
        return {}
    if not isinstance(meta, dict):
        raise LoadError(path, f"{sidecar.name}: expected a mapping of title, issuer, date, ...")
    return meta


def _field(path: Path, origin: str, key: str, value: Any, strict: bool) -> Any:
    """One metadata value normalised; bad declared values fail, bad embedded ones are dropped."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if key == "tlp":
        result: Any = _tlp(value)
        expected = "CLEAR, GREEN, AMBER or RED"
    elif key == "date":
        result = _iso_date(value)
        expected = "an ISO 8601 date such as 2024-09-04"
    else:
        ok = isinstance(value, str | int | float | dt.date)
        result = " ".join(str(value).split()) if ok else None
        expected = "a single text value"
    if result is None and strict:
        raise LoadError(path, f"{origin}: invalid {key} {value!r} (expected {expected})")
    return result


def _tlp(value: Any) -> Tlp | None:
    """A TLP level from "AMBER", "tlp:amber", "TLP: WHITE" (= CLEAR), or None if not one.

    AMBER+STRICT has no level of its own here; RED, the stricter neighbour, is used.
    """
    if not isinstance(value, str):
        return None
    level = re.sub(r"^TLP\s*:?\s*", "", value.strip().upper())
    level = {"WHITE": "CLEAR", "AMBER+STRICT": "RED"}.get(level, level)
    return next((t for t in TLP_LEVELS if t == level), None)


def _tlp_in_text(text: str) -> Tlp | None:
    """The strictest "TLP:XXX" marking near the top of the text, where markings are put."""
    found = [_tlp(m.group(1)) for m in _TLP_MARK.finditer(text[:TLP_SCAN_CHARS])]
    levels = [t for t in found if t is not None]
    return max(levels, key=TLP_LEVELS.index) if levels else None


def _iso_date(value: Any) -> str | None:
    """YYYY-MM-DD from a date, datetime or ISO 8601 string; YYYY and YYYY-MM stay as given."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        return str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if re.fullmatch(r"\d{4}(-(0[1-9]|1[0-2]))?", text):
        return text
    for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
        try:
            parsed = parse(text)
        except ValueError:
            continue
        return (parsed.date() if isinstance(parsed, dt.datetime) else parsed).isoformat()
    return None


def _usable_title(value: Any) -> str | None:
    """A title from embedded metadata, unless it is empty or an editor's placeholder."""
    if not isinstance(value, str):
        return None
    title = " ".join(value.split())
    lower = title.lower()
    if not title or len(title) > TITLE_MAX or lower in _PLACEHOLDER_TITLES:
        return None
    if lower.startswith("microsoft word - ") or lower.endswith((".doc", ".docx", ".pdf")):
        return None
    return title


def _title_from_text(text: str) -> str | None:
    """The first non-empty line, if short enough to be a title (TLP marking lines skipped)."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if not line or _TLP_MARK.fullmatch(line):
            continue
        return line if len(line) <= TITLE_MAX else None
    return None
