from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from retriever.ingest import IngestError, IngestReport, load_documents
from retriever.types import Document

BENCH_WIKI = Path("/work/shared/bench/corpus/wiki.jsonl.gz")


def _load(path: Path, **kwargs: object) -> tuple[list[Document], IngestReport]:
    report = IngestReport()
    docs = list(load_documents(path, report=report, **kwargs))  # type: ignore[arg-type]
    return docs, report


def _jsonl_lines() -> list[str]:
    return [
        json.dumps({"id": "a", "url": "https://a", "title": "A", "text": "alpha text"}),
        "",
        "{not json",
        json.dumps({"id": "b", "title": "no text"}),
        json.dumps({"text": "no id"}),
        json.dumps(["not", "an", "object"]),
        json.dumps({"id": 7, "text": "numeric id", "source": "mine"}),
        json.dumps({"id": "c", "text": "   "}),
    ]


def test_jsonl_reads_good_lines_and_reports_bad_ones(tmp_path: Path) -> None:
    file = tmp_path / "docs.jsonl"
    file.write_text("\n".join(_jsonl_lines()) + "\n", encoding="utf-8")
    docs, report = _load(file, source="default-src")
    assert [d.doc_id for d in docs] == ["a", "7"]
    assert docs[0] == Document("a", "alpha text", "https://a", "A", "default-src")
    assert docs[1].source == "mine"  # a record's own source wins
    assert report.documents == 2
    assert report.lines_skipped == 5
    assert report.files_read == 1
    assert report.problem_count == 5
    assert report.problems[0].startswith(f"{file}:3: bad JSON")
    assert f"{file}:4: missing or empty 'text'" in report.problems[1]
    assert f"{file}:5: missing or empty 'id'" in report.problems[2]
    assert "expected a JSON object" in report.problems[3]
    assert "2 documents from 1 files" in report.summary()


def test_jsonl_gz_and_truncated_gzip(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"d{i}", "text": f"text number {i} " * 50}) for i in range(200)]
    good = tmp_path / "good.jsonl.gz"
    good.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    docs, report = _load(good)
    assert len(docs) == 200 and report.ok

    broken = tmp_path / "broken.jsonl.gz"
    data = good.read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    docs, report = _load(broken)
    assert len(docs) < 200
    assert report.problem_count == 1
    assert "rest of file skipped" in report.problems[0]


def test_invalid_utf8_line_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "mixed.jsonl"
    good = json.dumps({"id": "ok", "text": "fine"}).encode()
    file.write_bytes(good + b"\n" + b'{"id": "bad", "text": "\xff\xfe"}\n' + good + b"\n")
    docs, report = _load(file)
    assert [d.doc_id for d in docs] == ["ok", "ok"]
    assert report.lines_skipped == 1
    assert "not UTF-8" in report.problems[0]


def test_markdown_text_and_html_titles(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Intro line\n\n# The Heading\n\nBody text.\n", encoding="utf-8")
    (tmp_path / "b.markdown").write_text(
        "---\ntitle: 'From Front Matter'\ntags: x\n---\n# Other\n", encoding="utf-8"
    )
    (tmp_path / "c.md").write_text("Setext Title\n============\n\ntext\n", encoding="utf-8")
    (tmp_path / "d.txt").write_text("\n\nFirst line title\nmore text\n", encoding="utf-8")
    (tmp_path / "e.txt").write_text("x" * 150 + "\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_documents(tmp_path)}
    assert docs["a.md"].title == "The Heading"
    assert docs["a.md"].text.startswith("Intro line")
    assert docs["b.markdown"].title == "From Front Matter"
    assert docs["c.md"].title == "Setext Title"
    assert docs["d.txt"].title == "First line title"
    assert docs["e.txt"].title == "e"  # first line too long for a title: the file name


def test_html_visible_text(tmp_path: Path) -> None:
    html = """<!doctype html><html><head><title>  Page
      Title </title><style>body { color: red }</style>
      <script>var hidden = "secret";</script></head>
      <body><nav>Menu</nav><h1>Big &amp; Bold</h1><p>First <b>para</b>graph.</p>
      <script type="text/javascript">alert("no")</script><p>Second&nbsp;para.</p>
      <noscript>enable js</noscript><ul><li>one</li><li>two</li></ul></body></html>"""
    (tmp_path / "page.html").write_text(html, encoding="utf-8")
    [doc] = load_documents(tmp_path / "page.html")
    assert doc.title == "Page Title"
    assert "secret" not in doc.text and "color" not in doc.text and "alert" not in doc.text
    assert "enable js" not in doc.text
    assert "Big & Bold" in doc.text
    assert "First paragraph." in doc.text
    assert "Second para." in doc.text
    assert "Menu" not in doc.text  # navigation is dropped
    assert doc.text == "# Big & Bold\n\nFirst paragraph.\n\nSecond para.\n\n- one\n- two"
    assert doc.structure is not None
    [(section, listing)] = [(s, b) for s, b in doc.structure.blocks() if b.kind == "list"]
    assert section.path == ("Big & Bold",)
    assert [item.text for item in listing.items] == ["one", "two"]  # type: ignore[union-attr]


def test_html_title_from_h1_and_broken_html(tmp_path: Path) -> None:
    (tmp_path / "a.htm").write_text("<h1>Only <i>H1</i></h1><p>text", encoding="utf-8")
    (tmp_path / "b.html").write_text(
        "<html><body><div><p>unclosed <b>tags <script>x = '<p>'; <</body", encoding="utf-8"
    )
    (tmp_path / "c.html").write_text("<p>ok</p><![CDATA[ broken <!-- comment", encoding="utf-8")
    docs, _ = _load(tmp_path)
    by_id = {d.doc_id: d for d in docs}
    assert by_id["a.htm"].title == "Only H1"
    assert "unclosed tags" in by_id["b.html"].text
    assert "x = " not in by_id["b.html"].text
    assert by_id["b.html"].title == "b"
    assert "ok" in by_id["c.html"].text


def test_directory_walk_ids_urls_and_skips(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "z.txt").write_text("zed", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# B\n", encoding="utf-8")
    (tmp_path / "sub" / "deeper" / "a.txt").write_text("deep", encoding="utf-8")
    (tmp_path / "sub" / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "blob.txt").write_bytes(b"abc\x00def")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.md").write_text("  \n", encoding="utf-8")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "secret.txt").write_text("hidden", encoding="utf-8")
    (tmp_path / ".dotfile.txt").write_text("hidden", encoding="utf-8")

    docs, report = _load(tmp_path, source="local")
    assert [d.doc_id for d in docs] == ["sub/b.md", "sub/deeper/a.txt", "z.txt"]
    deep = docs[1]
    assert deep.url == (tmp_path / "sub" / "deeper" / "a.txt").resolve().as_uri()
    assert deep.url.startswith("file:///")
    assert deep.source == "local"
    assert report.files_skipped == 3  # png, NUL bytes, latin-1
    joined = "\n".join(report.problems)
    assert "image.png: unsupported file type '.png'" in joined
    assert "blob.txt: binary or not UTF-8 text" in joined
    assert "latin1.txt: binary or not UTF-8 text" in joined
    assert "empty.md: no text" in joined
    assert "hidden" not in "".join(d.text for d in docs)


def test_single_file_id_is_its_name(tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("hello", encoding="utf-8")
    [doc] = load_documents(file)
    assert doc.doc_id == "notes.txt"
    assert doc.url == file.resolve().as_uri()


def test_unsupported_single_file_is_reported(tmp_path: Path) -> None:
    file = tmp_path / "data.csv"
    file.write_text("a,b\n", encoding="utf-8")
    docs, report = _load(file)
    assert docs == [] and report.files_skipped == 1


def test_long_text_is_truncated_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("word " * 100, encoding="utf-8")
    (tmp_path / "big.jsonl").write_text(json.dumps({"id": "j", "text": "y" * 80}) + "\n")
    docs, report = _load(tmp_path, max_chars=50)
    assert all(len(d.text) == 50 for d in docs)
    assert report.truncated == 2
    assert any("truncated from 500 to 50 characters" in p for p in report.problems)
    assert any(p.startswith(f"{tmp_path / 'big.jsonl'}:1: text truncated") for p in report.problems)


def test_problems_are_capped_but_counted(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text("nope\n" * 100)
    docs, report = _load(tmp_path)
    assert docs == []
    assert report.problem_count == 100 and len(report.problems) == 20


def test_missing_path_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="no such file or directory"):
        list(load_documents(tmp_path / "nope"))


def test_without_report_problems_are_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "bad.jsonl").write_text("nope\n")
    assert list(load_documents(tmp_path)) == []
    assert "1 problems" in caplog.text


@pytest.mark.skipif(not BENCH_WIKI.exists(), reason=f"{BENCH_WIKI} not present")
def test_bench_corpus_format() -> None:
    report = IngestReport()
    docs = []
    for doc in load_documents(BENCH_WIKI, report=report):
        docs.append(doc)
        if len(docs) == 50:
            break
    assert docs[0].doc_id == "wiki/0"
    assert docs[0].url == "https://en.wikipedia.org/wiki/0"
    assert all(d.source == "wiki" and d.title and d.text for d in docs)
    assert report.ok
