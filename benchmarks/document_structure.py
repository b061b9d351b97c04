"""Document structure at ingest: what the parsers recover, and what it costs, against the code of
another checkout.

    python benchmarks/document_structure.py [INPUT ...] [--limit 5000] [--repeat 3]
                                            [--baseline-root PATH] [--json]

For each input (a JSONL(.gz) file, an HTML/Markdown/text file or a directory of them; `NAME=PATH`
names it) this reads the first `--limit` documents and reports:

- **Structure**: documents, and the sums over them of sections, tables (and how many have a header
  row), table body rows, lists, list items (nested ones included), definition lists, definitions
  and code blocks (`DocumentStructure.counts()`, `.tables()`, `.blocks()`).
- **Parse speed**: documents/s and MB/s of reading the documents with their structure:
  `load_documents` (HTML pages through `retriever.parse_html`), plus `parse_text` on each JSONL
  text (as the corpus store does). MB are the input bytes: the files on disk for files and
  directories, the documents' UTF-8 text for JSONL.
- **Ingest speed**: the same read plus `CorpusStore.add_documents` into a fresh SQLite file in a
  temporary directory: documents/s, MB/s and passages per document.

Every time is the best of `--repeat` runs (each document's own time too), which keeps the figures
steady on a busy machine.

With `--baseline-root PATH` (a checkout of another commit, e.g. `git worktree add /tmp/base HEAD~1`)
the same measurement runs again in a subprocess that imports `retriever` from PATH (this script
with `--worker`, `PYTHONPATH=PATH`), one "before" row per input. Code without document structure
shows its structure counts as "-".

Default inputs: the SQLite and PostgreSQL manuals as JSONL text (`../shared/bench/docs/corpus`),
the Debian package records (`../shared/bench/corpus/debian.jsonl.gz`) and, when the Debian
packages `sqlite3-doc` and `postgresql-doc-15` are installed, their HTML manuals. A missing input
is skipped with a note. Progress goes to stderr; the table to stdout, then notes (skipped files,
problems the ingest reported, HTML pages whose source holds data-like tables but gave none, the
slowest documents to parse); with `--json` one JSON object with every figure is the last line.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
DEFAULT_INPUTS: tuple[tuple[str, Path], ...] = (
    ("sqlite-docs", SHARED / "bench" / "docs" / "corpus" / "sqlite-docs.jsonl.gz"),
    ("postgres-docs", SHARED / "bench" / "docs" / "corpus" / "postgres-docs.jsonl.gz"),
    ("debian", SHARED / "bench" / "corpus" / "debian.jsonl.gz"),
    ("sqlite-html", Path("/usr/share/doc/sqlite3")),
    ("postgres-html", Path("/usr/share/doc/postgresql-doc-15/html")),
)
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
HTML_SUFFIXES = (".html", ".htm")
COUNT_KEYS = (
    "sections", "tables", "header_tables", "table_rows", "lists", "list_items",
    "definition_lists", "definitions", "code",
)  # fmt: skip
SLOWEST_KEPT = 5
ODD_PAGES_KEPT = 8


# --- measuring (runs with whichever `retriever` is importable) --------------------------------


class Progress:
    """A counter on stderr: redrawn in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.tty = sys.stderr.isatty()
        self.every = 0.5 if self.tty else 10.0
        self.started = time.perf_counter()
        self.shown = self.started

    def update(self, done: int, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.shown < self.every:
            return
        self.shown = now
        total = f"/{self.total}" if self.total else ""
        line = f"{self.label}: {done}{total} documents, {now - self.started:.1f} s"
        if self.tty:
            sys.stderr.write(f"\r\x1b[K{line}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self, done: int) -> None:
        self.update(done, force=True)
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def is_jsonl(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(JSONL_SUFFIXES)


def limited(docs: Iterator[Any], limit: int) -> Iterator[Any]:
    for count, doc in enumerate(docs):
        if limit and count >= limit:
            return
        yield doc


def count_items(items: list[Any]) -> int:
    return sum(1 + count_items(item.children) for item in items)


def add_counts(totals: Counter[str], structure: Any) -> int:
    """Add a document's structure to `totals`; returns its number of tables."""
    counts = structure.counts()
    totals["sections"] += counts["sections"]
    totals["tables"] += counts["table"]
    totals["lists"] += counts["list"]
    totals["definition_lists"] += counts["definitions"]
    totals["code"] += counts["code"]
    for _, block in structure.blocks():
        if block.kind == "table":
            totals["header_tables"] += bool(block.header)
            totals["table_rows"] += len(block.rows)
        elif block.kind == "list":
            totals["list_items"] += count_items(block.items)
        elif block.kind == "definitions":
            totals["definitions"] += len(block.entries)
    return int(counts["table"])


def source_bytes(root: Path, doc: Any, jsonl: bool) -> int:
    if jsonl:
        return len(doc.text.encode("utf-8"))
    file = root / doc.doc_id if root.is_dir() else root
    try:
        return file.stat().st_size
    except OSError:
        return len(doc.text.encode("utf-8"))


def data_tables(file: Path) -> int:
    """Tables in an HTML file that look like data: two rows or more, with two cells or more in a
    row or a header cell, no table inside, not navigation (by summary, class or id, or an
    enclosing nav/header/footer)."""
    try:
        import lxml.html
    except ImportError:
        return 0
    try:
        root = lxml.html.fromstring(file.read_bytes())
    except (OSError, ValueError, lxml.etree.ParserError):
        return 0
    found = 0
    for table in root.iter("table"):
        if table.find(".//table") is not None:
            continue
        marks = [table, *table.iterancestors()]
        if any(
            getattr(el, "tag", "") in ("nav", "header", "footer")
            or "nav" in " ".join(el.get(a, "") for a in ("summary", "class", "id")).lower()
            for el in marks
        ):
            continue
        rows = table.xpath("./tr|./thead/tr|./tbody/tr|./tfoot/tr")
        if len(rows) >= 2 and (
            max(len(row.xpath("./td|./th")) for row in rows) >= 2 or table.find(".//th") is not None
        ):
            found += 1
    return found


def measure(label: str, path: Path, limit: int, tag: str, repeat: int) -> dict[str, Any]:
    """Parse, then parse and store, the first `limit` documents of `path`; every time is the
    best of `repeat` runs (per document too)."""
    from retriever.corpus_store import CorpusStore
    from retriever.ingest import IngestReport, load_documents

    parse_text: Any
    try:
        from retriever.parse_text import parse_text
    except ImportError:  # code from before document structure
        parse_text = None

    jsonl = is_jsonl(path)
    total = limit if jsonl else None
    runs = max(repeat, 1)

    def run_label(phase: str, attempt: int) -> str:
        return f"{tag}{label} {phase}" + (f" (run {attempt + 1}/{runs})" if runs > 1 else "")

    # (a) parsing alone; a document's time excludes the counting done after it
    report = IngestReport()
    best: list[float] = []  # by position in the input
    ids: list[str] = []
    sizes: list[int] = []
    structured = 0
    totals: Counter[str] = Counter()
    html_pages = 0
    source_tables = 0
    source_table_pages = 0
    tableless_pages: list[str] = []
    tableless_count = 0
    parse_s = float("inf")
    for attempt in range(runs):
        first = attempt == 0
        progress = Progress(run_label("parse", attempt), total)
        iterator = iter(load_documents(path, report=report if first else IngestReport()))
        seconds = 0.0
        docs = 0
        while not limit or docs < limit:
            started = time.perf_counter()
            doc = next(iterator, None)
            if doc is None:
                break
            structure = getattr(doc, "structure", None)
            if structure is None and parse_text is not None:
                structure = parse_text(doc.text, title=doc.title)
            took = time.perf_counter() - started
            seconds += took
            docs += 1
            progress.update(docs)
            if not first:
                if docs <= len(best):
                    best[docs - 1] = min(best[docs - 1], took)
                continue
            best.append(took)
            ids.append(doc.doc_id)
            sizes.append(source_bytes(path, doc, jsonl))
            if structure is None:
                continue
            structured += 1
            tables = add_counts(totals, structure)
            if not jsonl and doc.doc_id.lower().endswith(HTML_SUFFIXES):
                html_pages += 1
                expected = data_tables(path / doc.doc_id if path.is_dir() else path)
                source_tables += expected
                source_table_pages += expected > 0
                if expected and not tables:
                    tableless_count += 1
                    if len(tableless_pages) < ODD_PAGES_KEPT:
                        tableless_pages.append(f"{doc.doc_id} ({expected})")
        progress.done(docs)
        parse_s = min(parse_s, seconds)
    docs = len(best)
    nbytes = sum(sizes)

    # (b) parse + store into a fresh database
    ingest_s = float("inf")
    stored = passages = 0
    for attempt in range(runs):
        progress = Progress(run_label("ingest", attempt), docs or None)
        with tempfile.TemporaryDirectory(prefix="wideseek-structure-bench-") as tmp:
            store = CorpusStore(Path(tmp) / "bench.db")
            try:
                started = time.perf_counter()
                stored = store.add_documents(
                    "bench",
                    limited(iter(load_documents(path, report=IngestReport())), limit),
                    progress=progress.update,
                )
                ingest_s = min(ingest_s, time.perf_counter() - started)
                info = next((c for c in store.corpora() if c.name == "bench"), None)
                passages = info.passages if info is not None else 0
            finally:
                store.close()
        progress.done(stored)

    slowest = heapq.nlargest(SLOWEST_KEPT, range(docs), key=best.__getitem__)
    has_structure = parse_text is not None and structured == docs
    return {
        "label": label,
        "path": str(path),
        "documents": docs,
        "mb": round(nbytes / 1e6, 2),
        "structure": has_structure,
        "counts": {key: totals[key] for key in COUNT_KEYS} if has_structure else None,
        "runs": runs,
        "parse_s": round(parse_s, 3),
        "parse_docs_per_s": round(docs / parse_s, 1) if parse_s else None,
        "parse_mb_per_s": round(nbytes / 1e6 / parse_s, 2) if parse_s else None,
        "stored": stored,
        "ingest_s": round(ingest_s, 3),
        "ingest_docs_per_s": round(stored / ingest_s, 1) if ingest_s else None,
        "ingest_mb_per_s": round(nbytes / 1e6 / ingest_s, 2) if ingest_s else None,
        "passages": passages,
        "passages_per_doc": round(passages / stored, 2) if stored else None,
        "files_skipped": report.files_skipped,
        "lines_skipped": report.lines_skipped,
        "truncated": report.truncated,
        "problems": report.problem_count,
        "html_pages": html_pages,
        "source_tables": source_tables,
        "source_table_pages": source_table_pages,
        "tableless_pages": tableless_count,
        "tableless_examples": tableless_pages,
        "slowest": [
            {"doc_id": ids[i], "ms": round(1000 * best[i], 1), "kb": round(sizes[i] / 1e3, 1)}
            for i in slowest
        ],
    }


def measure_all(
    inputs: list[tuple[str, Path]], limit: int, tag: str, repeat: int
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for label, path in inputs:
        try:
            results[label] = measure(label, path, limit, tag, repeat)
        except Exception as error:  # a note in the table, never a traceback
            results[label] = {"label": label, "error": f"{type(error).__name__}: {error}"}
    try:
        import retriever
    except ImportError as error:
        return {"retriever": f"not importable ({error})", "results": results, "foreign": []}
    package = Path(retriever.__file__).resolve().parent
    foreign = sorted(
        name
        for name, module in list(sys.modules.items())
        if name.startswith("retriever.")
        and getattr(module, "__file__", None)
        and package not in Path(module.__file__ or "").resolve().parents
    )
    return {"retriever": str(package), "results": results, "foreign": foreign}


def drop_editable_finders() -> None:
    """Import only from `sys.path`: an editable install's finder would otherwise supply the
    modules that the other checkout lacks (`retriever.parse_text`) from this checkout."""
    sys.meta_path[:] = [
        finder
        for finder in sys.meta_path
        if not str(getattr(finder, "__module__", "")).startswith("__editable__")
    ]


# --- the baseline subprocess ------------------------------------------------------------------


def run_baseline(
    root: Path, inputs: list[tuple[str, Path]], limit: int, repeat: int
) -> tuple[dict[str, Any] | None, str]:
    """Run this script as a `--worker` importing `retriever` from `root`; (figures, note)."""
    if not (root / "retriever" / "__init__.py").is_file():
        return None, f"baseline: no retriever package under {root}; skipped"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH", "")]))
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--limit", str(limit)]
    command += ["--repeat", str(repeat)]
    command += [f"{label}={path}" for label, path in inputs]
    done = subprocess.run(command, env=env, cwd=root, stdout=subprocess.PIPE, text=True)
    lines = done.stdout.strip().splitlines()
    try:
        figures: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        return None, f"baseline: the worker exited with {done.returncode} and no figures; skipped"
    note = ""
    if Path(figures["retriever"]) != (root / "retriever").resolve():
        note = f"baseline: warning: imported retriever from {figures['retriever']}, not {root}"
    elif figures["foreign"]:
        note = "baseline: warning: modules from elsewhere: " + ", ".join(figures["foreign"])
    return figures, note


# --- showing ----------------------------------------------------------------------------------

HEADERS = (
    "corpus", "code", "docs", "MB", "sections", "tables", "w/ header", "rows", "lists", "items",
    "def lists", "defs", "code blocks", "parse docs/s", "parse MB/s", "ingest docs/s",
    "ingest MB/s", "passages/doc",
)  # fmt: skip


def number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}"


def row(result: dict[str, Any], code: str) -> list[str]:
    counts = result.get("counts") or {}
    return [
        result["label"],
        code,
        number(result["documents"]),
        number(result["mb"]),
        *(number(counts.get(key)) for key in COUNT_KEYS),
        number(result["parse_docs_per_s"]),
        number(result["parse_mb_per_s"]),
        number(result["ingest_docs_per_s"]),
        number(result["ingest_mb_per_s"]),
        number(result["passages_per_doc"]),
    ]


def markdown_table(rows: list[list[str]]) -> str:
    """Names left-aligned, figures right-aligned, every column as wide as its widest cell."""
    table = [list(HEADERS), *rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(len(HEADERS))]
    text_columns = 2

    def line(cells: list[str]) -> str:
        padded = [
            cell.ljust(width) if i < text_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        "-" * (width + 2) if i < text_columns else "-" * (width + 1) + ":"
        for i, width in enumerate(widths)
    ]
    return "\n".join([line(table[0]), "|" + "|".join(rule) + "|", *map(line, rows)])


def parse_inputs(specs: list[str]) -> list[tuple[str, Path]]:
    inputs: list[tuple[str, Path]] = []
    for spec in specs:
        label, sep, raw = spec.partition("=")
        if not sep:
            raw = spec
            path = Path(spec)
            name = path.name.lower()
            for suffix in (*JSONL_SUFFIXES, ".gz", *HTML_SUFFIXES, ".md", ".txt"):
                if name.endswith(suffix):
                    name = path.name[: -len(suffix)]
                    break
            else:
                name = path.name
            label = f"{path.parent.name}-{name}" if name in ("html", "") else name
        inputs.append((label, Path(raw).expanduser()))
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("inputs", nargs="*", help="files or directories, NAME=PATH to name one")
    parser.add_argument("--limit", type=int, default=5000, help="documents per input (0: all)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement; the best time counts"
    )
    parser.add_argument("--baseline-root", type=Path, help="also measure the code of this checkout")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    inputs = parse_inputs(args.inputs) if args.inputs else list(DEFAULT_INPUTS)

    if args.worker:
        drop_editable_finders()
        print(json.dumps(measure_all(inputs, args.limit, "[before] ", args.repeat)))
        return 0

    notes: list[str] = []
    present: list[tuple[str, Path]] = []
    for label, path in inputs:
        if path.exists():
            present.append((label, path.resolve()))
        else:
            notes.append(f"{label}: {path} not found; skipped")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if not present:
        print("nothing to measure", file=sys.stderr)
        return 2

    now = measure_all(present, args.limit, "", args.repeat)
    before: dict[str, Any] | None = None
    if args.baseline_root is not None:
        before, note = run_baseline(
            args.baseline_root.expanduser().resolve(), present, args.limit, args.repeat
        )
        if note:
            notes.append(note)

    rows: list[list[str]] = []
    for label, _ in present:
        for code, figures in (("now", now), ("before", before)):
            if figures is None:
                continue
            result = figures["results"].get(label)
            if result is None:
                continue
            if "error" in result:
                notes.append(f"{label} ({code}): {result['error']}")
                continue
            rows.append(row(result, code))

    print(
        f"first {args.limit or 'all'} documents per input, best of {args.repeat} runs; "
        f"code now: {now['retriever']}" + (f", before: {before['retriever']}" if before else "")
    )
    print()
    print(markdown_table(rows))
    print()
    slowest: list[tuple[float, str, float]] = []
    for label, _ in present:
        result = now["results"].get(label, {})
        if "error" in result:
            continue
        skipped = [
            f"{result[key]} {what}"
            for key, what in (
                ("files_skipped", "files skipped (unsupported or unreadable)"),
                ("lines_skipped", "lines skipped"),
                ("truncated", "texts truncated"),
                ("problems", "problems reported by the ingest (skips and parse errors included)"),
            )
            if result[key]
        ]
        if skipped:
            notes.append(f"{label}: " + ", ".join(skipped))
        if result["html_pages"]:
            examples = ", ".join(result["tableless_examples"])
            more = ", ..." if result["tableless_pages"] > len(result["tableless_examples"]) else ""
            notes.append(
                f"{label}: the HTML sources hold {result['source_tables']:,} data-like tables "
                f"(2+ rows, 2+ columns or a header cell, not navigation, no nested table) on "
                f"{result['source_table_pages']:,} of {result['html_pages']:,} pages, "
                f"{result['counts']['tables']:,} tables recovered; "
                f"{result['tableless_pages']:,} of those pages gave no table"
                + (f": {examples}{more}" if examples else "")
            )
        for item in result["slowest"]:
            slowest.append((item["ms"], f"{label}:{item['doc_id']}", item["kb"]))
    if slowest:
        top = heapq.nlargest(SLOWEST_KEPT, slowest)
        notes.append(
            "slowest documents to parse (now): "
            + "; ".join(f"{name} {ms:,.0f} ms ({kb:,.0f} kB)" for ms, name, kb in top)
        )
    for note in notes:
        print(f"- {note}")
    if args.json:
        print(json.dumps({"limit": args.limit, "now": now, "before": before, "notes": notes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
