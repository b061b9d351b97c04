"""Read documents from files: JSONL (optionally gzipped), Markdown, plain text, HTML and PDF.

`load_documents(path)` takes a file or a directory (walked recursively in sorted order, hidden
files and folders skipped) and yields `Document`s. Nothing here raises for bad input except a
path that does not exist: malformed JSONL lines, binary or non-UTF-8 files and unsupported
extensions are skipped, and every skip is recorded in an `IngestReport` (pass one in to read it).

Formats:
- `.jsonl`, `.ndjson`, `.jsonl.gz`, `.ndjson.gz`: one JSON object per line with `id` and `text`
  (required) and `url`, `title`, `source` (optional); the format of `bench/corpus/*.jsonl.gz`.
- `.md`, `.markdown`: title from YAML front matter `title:`, else the first `#` heading, else the
  file name; the text is the Markdown source, its structure (headings, pipe tables, lists, code)
  read from it (`retriever.parse_text`).
- `.txt`: title is the first non-empty line when it is short (at most 100 characters), else the
  file name; structure as for JSONL text.
- `.html`, `.htm`: title from `<title>`, else the first `<h1>`; the page's structure read with lxml
  (`retriever.parse_html`: sections, tables with headers, lists, definition lists, code;
  scripts, navigation, footers and link bars around the content dropped) and written out as
  plain text whose spans the structure keeps.
- `.pdf`: the pages' text (`retriever.parse_pdf`), title from the document information.

Every document carries its `structure`; for JSONL the corpus store reads it from the `text`
(pipe- or tab-separated runs of lines become tables, `Label: value` lines definition lists).

For files other than JSONL the document id is the path relative to the root given (a single
file: its name) and the URL is the file's absolute `file://` URI. Texts longer than
`MAX_TEXT_CHARS` characters are truncated, with a note in the report.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retriever.parse_html import parse_html
from retriever.parse_pdf import PdfError, pdf_text
from retriever.parse_text import parse_text
from retriever.structure import DocumentStructure
from retriever.types import Document

__all__ = [
    "MAX_TEXT_CHARS",
    "SUPPORTED_SUFFIXES",
    "IngestError",
    "IngestReport",
    "load_documents",
]

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1_000_000
"""Longer document texts are cut to this many characters (and the cut is reported)."""

MAX_PROBLEMS_KEPT = 20
"""How many problem descriptions an `IngestReport` keeps; all are counted."""

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_TEXT_SUFFIXES = (".txt",)
_HTML_SUFFIXES = (".html", ".htm")
_PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES: tuple[str, ...] = (
    _JSONL_SUFFIXES + _MARKDOWN_SUFFIXES + _TEXT_SUFFIXES + _HTML_SUFFIXES + _PDF_SUFFIXES
)
_SNIFF_BYTES = 8192


class IngestError(Exception):
    """The input cannot be read at all (for example, the path does not exist)."""


@dataclass
class IngestReport:
    """What a `load_documents` pass read and what it skipped, and why."""

    files_read: int = 0
    files_skipped: int = 0
    documents: int = 0
    lines_skipped: int = 0
    truncated: int = 0
    problem_count: int = 0
    problems: list[str] = field(default_factory=list)
    """The first `MAX_PROBLEMS_KEPT` problems, each "file:line: reason" or "file: reason"."""

    def add_problem(self, where: str, reason: str) -> None:
        self.problem_count += 1
        message = f"{where}: {reason}"
        log.debug("ingest: %s", message)
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(message)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def summary(self) -> str:
        """One line: counts of what was read and skipped."""
        parts = [f"{self.documents} documents from {self.files_read} files"]
        if self.files_skipped:
            parts.append(f"{self.files_skipped} files skipped")
        if self.lines_skipped:
            parts.append(f"{self.lines_skipped} lines skipped")
        if self.truncated:
            parts.append(f"{self.truncated} texts truncated to {MAX_TEXT_CHARS:,} characters")
        return ", ".join(parts)


def load_documents(
    path: Path | str,
    *,
    source: str = "",
    report: IngestReport | None = None,
    max_chars: int = MAX_TEXT_CHARS,
) -> Iterator[Document]:
    """Yield the documents in a file or, recursively and in sorted order, a directory.

    `source` is the default `Document.source` (a JSONL record's own `source` wins). Problems are
    recorded in `report` (created and logged if not given). Raises `IngestError` if `path` does
    not exist.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise IngestError(f"no such file or directory: {root}")
    own_report = report is None
    report = report if report is not None else IngestReport()

    if root.is_dir():
        files = _walk(root)
        base = root
    else:
        files = iter([root])
        base = root.parent
    for file in files:
        yield from _load_file(file, base, source, report, max_chars)

    if own_report and not report.ok:
        log.warning(
            "ingest %s: %s; %d problems, first: %s",
            root,
            report.summary(),
            report.problem_count,
            report.problems[0],
        )


def _walk(root: Path) -> Iterator[Path]:
    """Regular files under `root`, sorted by relative path, skipping hidden entries."""
    found: list[tuple[str, Path]] = []
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [name for name in dirnames if not name.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            file = Path(directory, name)
            found.append((file.relative_to(root).as_posix(), file))
    found.sort(key=lambda item: item[0])
    return (file for _, file in found)


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in SUPPORTED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return path.suffix.lower()


def _load_file(
    file: Path, base: Path, source: str, report: IngestReport, max_chars: int
) -> Iterator[Document]:
    suffix = _suffix(file)
    where = str(file)
    if suffix not in SUPPORTED_SUFFIXES:
        report.files_skipped += 1
        report.add_problem(where, f"unsupported file type {suffix or '(none)'!r}; skipped")
        return
    if not file.is_file():
        report.files_skipped += 1
        report.add_problem(where, "not a regular file; skipped")
        return
    if suffix in _JSONL_SUFFIXES:
        yield from _load_jsonl(file, suffix, source, report, max_chars)
        return

    try:
        data = file.read_bytes()
    except OSError as error:
        report.files_skipped += 1
        report.add_problem(where, f"cannot read: {error.strerror or error}; skipped")
        return
    if suffix in _PDF_SUFFIXES:
        yield from _load_pdf(file, base, data, source, report, max_chars)
        return
    text = _decode(data)
    if text is None:
        report.files_skipped += 1
        report.add_problem(where, "binary or not UTF-8 text; skipped")
        return
    report.files_read += 1

    structure: DocumentStructure | None = None
    if suffix in _HTML_SUFFIXES:
        title, text, structure = _parse_html(text, where, report, max_chars)
    else:
        markdown = suffix in _MARKDOWN_SUFFIXES
        title = _markdown_title(text) if markdown else _text_title(text)
        text = _cap(text, where, report, max_chars)
        structure = parse_text(text, markdown=markdown, title=title)
    if not text.strip():
        report.add_problem(where, "no text; skipped")
        return
    report.documents += 1
    yield Document(
        doc_id=file.relative_to(base).as_posix(),
        text=text,
        url=file.resolve().as_uri(),
        title=title or file.stem,
        source=source,
        structure=structure,
    )


def _load_pdf(
    file: Path, base: Path, data: bytes, source: str, report: IngestReport, max_chars: int
) -> Iterator[Document]:
    where = str(file)
    try:
        pdf = pdf_text(data, where)
    except PdfError as error:
        report.files_skipped += 1
        report.add_problem(where, f"{error}; skipped")
        return
    report.files_read += 1
    text = _cap(pdf.text.replace("\x00", ""), where, report, max_chars)
    report.documents += 1
    yield Document(
        doc_id=file.relative_to(base).as_posix(),
        text=text,
        url=file.resolve().as_uri(),
        title=pdf.title or file.stem,
        source=source,
        structure=parse_text(text, title=pdf.title),
    )


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:_SNIFF_BYTES]:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.replace("\x00", "")


def _cap(text: str, where: str, report: IngestReport, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    report.truncated += 1
    report.add_problem(where, f"text truncated from {len(text):,} to {max_chars:,} characters")
    return text[:max_chars]


# --- JSONL ----------------------------------------------------------------------------------


def _load_jsonl(
    file: Path, suffix: str, source: str, report: IngestReport, max_chars: int
) -> Iterator[Document]:
    try:
        handle: io.BufferedIOBase = (
            gzip.open(file, "rb") if suffix.endswith(".gz") else file.open("rb")  # noqa: SIM115
        )
    except OSError as error:
        report.files_skipped += 1
        report.add_problem(str(file), f"cannot read: {error.strerror or error}; skipped")
        return
    report.files_read += 1
    line_number = 0
    with handle:
        try:
            for line_number, raw in enumerate(handle, start=1):
                where = f"{file}:{line_number}"
                if not raw.strip():
                    continue
                document = _jsonl_document(raw, where, source, report, max_chars)
                if document is None:
                    report.lines_skipped += 1
                    continue
                report.documents += 1
                yield document
        except (OSError, EOFError, zlib.error) as error:
            report.add_problem(
                f"{file}:{line_number + 1}", f"cannot read further ({error}); rest of file skipped"
            )


def _jsonl_document(
    raw: bytes, where: str, source: str, report: IngestReport, max_chars: int
) -> Document | None:
    try:
        record: Any = json.loads(raw)
    except UnicodeDecodeError:
        report.add_problem(where, "not UTF-8; skipped")
        return None
    except json.JSONDecodeError as error:
        report.add_problem(where, f"bad JSON ({error.msg} at column {error.colno}); skipped")
        return None
    if not isinstance(record, dict):
        report.add_problem(where, f"expected a JSON object, got {type(record).__name__}; skipped")
        return None
    doc_id = record.get("id")
    if isinstance(doc_id, int | float) and not isinstance(doc_id, bool):
        doc_id = str(doc_id)
    if not isinstance(doc_id, str) or not doc_id.strip():
        report.add_problem(where, "missing or empty 'id'; skipped")
        return None
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        report.add_problem(where, "missing or empty 'text'; skipped")
        return None
    return Document(
        doc_id=doc_id.strip(),
        text=_cap(text.replace("\x00", ""), where, report, max_chars),
        url=_string(record.get("url")),
        title=_string(record.get("title")),
        source=_string(record.get("source")) or source,
    )


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


# --- Markdown and text ----------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n(?:---|\.\.\.)\s*(?:\n|\Z)", re.DOTALL)
_FRONT_MATTER_TITLE = re.compile(r"^title\s*:\s*(.+?)\s*$", re.MULTILINE)
_ATX_HEADING = re.compile(r"^ {0,3}#\s+(.+?)(?:\s+#+)?\s*$", re.MULTILINE)
_SETEXT_HEADING = re.compile(r"^(\S[^\n]*)\n=+\s*$", re.MULTILINE)


def _markdown_title(text: str) -> str:
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_MATTER_TITLE.search(front.group(1))
        if found:
            return found.group(1).strip("'\"").strip()
        text = text[front.end() :]
    candidates = [m for m in (_ATX_HEADING.search(text), _SETEXT_HEADING.search(text)) if m]
    if not candidates:
        return ""
    first = min(candidates, key=lambda match: match.start())
    return first.group(1).strip()


def _text_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= 100 else ""
    return ""


# --- HTML -----------------------------------------------------------------------------------


def _parse_html(
    html: str, where: str, report: IngestReport, max_chars: int
) -> tuple[str, str, DocumentStructure]:
    parsed = parse_html(html, max_chars=max_chars)
    for problem in parsed.problems:
        report.add_problem(where, problem)
    if parsed.truncated:
        report.truncated += 1
    document = parsed.document
    return parsed.title, document.text, document.structure
