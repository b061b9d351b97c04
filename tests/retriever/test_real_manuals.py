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
from collections.abc import Iterator
from pathlib import Path

import pytest

from retriever.corpus_store import CorpusStore
from retriever.ingest import IngestReport, load_documents
from retriever.parse_html import parse_html
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
    if not root.exists():
        pytest.skip(f"{root} missing: apt-get install sqlite3-doc postgresql-doc-15")
    page = root / f"{rest}.html"
    return page if page.exists() else None


def _with_tables(records: list[dict[str, str]]) -> Iterator[dict[str, str]]:
    chosen = [r for r in records if "\n" in r["text"] and " | " in r["text"]]
    random.Random(17).shuffle(chosen)
    return iter(chosen[:SAMPLE])


def _norm(cells: list[str]) -> list[str]:
    return [" ".join(cell.replace("~~", "").split()).casefold() for cell in cells]


@pytest.mark.parametrize("name", ["postgres", "sqlite"])
def test_tables_of_real_pages_keep_their_headers_both_ways(name: str, tmp_path: Path) -> None:
    records = list(_with_tables(_records(name)))
    assert len(records) >= 20
    with CorpusStore(tmp_path / "corpus.db") as store:
        store.add_documents(
            "text", (Document(r["id"], r["text"], r["url"], r["title"]) for r in records)
        )
        compared = agreed = text_tables = 0
        for record in records:
            _, from_text = store.get_structure("text", record["id"])
            tables = [t for _, t in from_text.tables()]
            text_tables += len(tables)
            for table in tables:  # a table read from text has its header and whole rows
                assert table.header and any(table.header[0])
                assert all(len(row) == len(table.header[0]) for row in table.rows)
            page = _html(record)
            if page is None:
                continue
            parsed = parse_html(page.read_text(encoding="utf-8", errors="replace"))
            html_tables = [t for _, t in parsed.document.structure.tables() if t.header]
            headers = {tuple(_norm(t.header[-1])) for t in html_tables}
            for table in tables:
                if len(table.rows) < 2:
                    continue
                compared += 1
                agreed += tuple(_norm(table.header[0])) in headers
    assert text_tables >= len(records)  # every sampled page has at least one table
    assert compared >= 30
    # the HTML reading finds the same header rows as the text reading, table after table
    assert agreed / compared >= 0.9, (agreed, compared)


def test_a_real_manual_is_indexed_from_html_with_tables_sections_and_no_site_menu(
    tmp_path: Path,
) -> None:
    root = HTML_ROOTS["postgres"]
    if not root.exists():
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
