"""Real HTML manuals read both ways: the raw pages of two Debian documentation packages through
`parse_html`, and the text dumps of the same pages in `shared/bench/docs/corpus` through the
corpus store (`parse_text`). Whichever way a page is read, its tables must come out as tables
with their header rows, and the two readings must agree on them.

The raw HTML comes from the Debian packages `sqlite3-doc` and `postgresql-doc-15` (`.ci/run`
installs them); without them these tests are skipped with the reason."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from retriever.corpus_store import CorpusStore
from retriever.ingest import IngestReport, load_documents
from retriever.parse_html import parse_html
from retriever.structure import Table
from retriever.types import Document

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
DOCS_CORPUS = SHARED / "bench" / "docs" / "corpus"
HTML_ROOTS = {
    "postgres": Path("/usr/share/doc/postgresql-doc-15/html"),
    "sqlite": Path("/usr/share/doc/sqlite3"),
}
SAMPLE = 150


def _records(name: str) -> list[dict[str, str]]:
    path = DOCS_CORPUS / f"{name}-docs.jsonl.gz"
    if not path.exists():
        pytest.skip(f"{path} is not here (the shared benchmark folder)")
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _html(record: dict[str, str]) -> Path | None:
    source, _, rest = record["id"].partition("/")
    root = HTML_ROOTS[source]
    if not (root / "index.html").exists():
        pytest.skip(f"{root} missing: apt-get install sqlite3-doc postgresql-doc-15")
    page = root / f"{rest}.html"
    return page if page.exists() else None


def _with_tables(records: list[dict[str, str]]) -> list[tuple[dict[str, str], list[Table]]]:
    """A sample of the pages whose HTML reading has a table with a header and 2+ rows, each with
    those tables."""
    chosen = []
    for record in records:
        page = _html(record)
        if page is None:
            continue
        parsed = parse_html(page.read_text(encoding="utf-8", errors="replace"))
        tables = [t for _, t in parsed.document.structure.tables()]
        if any(t.header and len(t.rows) >= 2 and len(_key(t.header[0])) >= 2 for t in tables):
            chosen.append((record, tables))
    random.Random(17).shuffle(chosen)
    return chosen[:SAMPLE]


def _key(cells: list[str]) -> tuple[str, ...]:
    """A header row compared across readings: cells normalised, blanks and the repeats a
    colspan leaves dropped (a text dump may write a spanning cell once)."""
    out: list[str] = []
    for cell in cells:
        cell = " ".join(cell.replace("~~", "").split()).casefold()
        if cell and (not out or out[-1] != cell):
            out.append(cell)
    return tuple(out)


@pytest.mark.parametrize("name", ["postgres", "sqlite"])
def test_tables_of_real_pages_keep_their_headers_both_ways(name: str, tmp_path: Path) -> None:
    pages = _with_tables(_records(name))
    assert len(pages) >= 20
    with CorpusStore(tmp_path / "corpus.db") as store:
        store.add_documents(
            "text", (Document(r["id"], r["text"], r["url"], r["title"]) for r, _ in pages)
        )
        compared = agreed = html_tables = with_tables = 0
        for record, from_html in pages:
            _, from_text = store.get_structure("text", record["id"])
            tables = [t for _, t in from_text.tables()]
            with_tables += bool(tables)
            for table in tables:  # a table read from text has its header and whole rows
                assert table.header and any(table.header[0])
                assert all(len(row) == len(table.header[0]) for row in table.rows)
            text_headers = {_key(t.header[0]) for t in tables}
            for table in from_html:
                html_tables += 1
                if not table.header or len(table.rows) < 2 or len(_key(table.header[0])) < 2:
                    continue
                compared += 1
                agreed += _key(table.header[0]) in text_headers
    # both readings find the tables of pages whose HTML has header cells
    assert with_tables >= 0.9 * len(pages)
    assert html_tables >= len(pages)
    assert compared >= 30
    # every table the HTML reading finds with a header, the text reading finds with that header
    assert agreed / compared >= 0.9, (agreed, compared)


def test_a_real_manual_is_indexed_from_html_with_tables_sections_and_no_site_menu(
    tmp_path: Path,
) -> None:
    root = HTML_ROOTS["postgres"]
    if not (root / "index.html").exists():
        pytest.skip(f"{root} missing: apt-get install postgresql-doc-15")
    pages = sorted(root.glob("*.html"))
    assert len(pages) > 1000
    sample = random.Random(5).sample(pages, 120)
    folder = tmp_path / "pages"
    folder.mkdir()
    for page in sample:
        (folder / page.name).write_bytes(page.read_bytes())
    report = IngestReport()
    with CorpusStore(tmp_path / "corpus.db") as store:
        store.add_documents("pg", load_documents(folder, report=report))
        assert report.documents == 120 and report.files_skipped == 0
        tables = sections = 0
        for page in sample:
            document, structure = store.get_structure("pg", page.name)
            assert document.text.strip()
            tables += len(structure.tables())
            sections += len(structure.sections())
            # the Prev/Up/Next bars around every page are navigation, not content
            assert not document.text.startswith("Prev")
            assert "Prev | Up | Next" not in document.text
        assert sections >= 120 and tables >= 20
        store.check()
