"""Lookup questions over the default corpus: accuracy, grounding and speed.

The questions (`benchmarks/data/qa_questions.json`, written for this benchmark) are single
facts, two-part questions, comparisons, numbers and dates, and questions the corpus cannot
answer. Each answerable question lists its expected facts (every group must appear in the
answer) and the articles that state them.

Printed per run: accuracy (answerable questions with every expected fact), right article
cited, unsupported-sentence share, not-found handled (unanswerable questions answered with a
statement that nothing was found and no cited claim), median and p90 wall time, model calls and
tokens per question; then a table per kind and, as the last line, one JSON object.

The unsupported-sentence check here is the benchmark's own, stricter than the agent's: a
sentence counts as supported only when it cites a source and every number and capitalised
name in it (outside the question's own words) occurs in the full text of a cited article.

    python benchmarks/qa.py [--limit N] [--kinds single,two_part] [--data-dir DIR]
                            [--config wideseek.toml] [--out runs.jsonl]

`--out` keeps one JSON line per question as it finishes; run again with the same file to go on
where a run stopped. `--config` selects other models (e.g. the `openai` backend against a
local `llama_cpp.server`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agent import Researcher, load_settings
from retriever.corpus_store import CorpusStore
from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents

QUESTIONS_FILE = Path(__file__).parent / "data" / "qa_questions.json"
NOT_FOUND = re.compile(
    r"\b(not (?:find|found|say|state|mention|contain|include|give|answer)|no (?:source|document"
    r"|information|mention)|(?:do|does|did) not (?:say|state|mention|contain|give|include)"
    r"|could not|cannot|unable to)\b",
    re.IGNORECASE,
)
_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<![\s(][A-Za-z]\.)(?<=[.!?])\s+(?=[A-Z0-9\"'(])")  # not "c. 1495"
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"\b[A-Z][\w-]*(?:['’][\w-]+)*")  # "O'Neill", not "State'" (a quote)


def fold(text: str) -> str:
    """Casefolded, accents removed, thousands separators dropped, spaces collapsed."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(?<=\d)[,\u202f\u00a0 ](?=\d{3}\b)", "", text)
    return " ".join(text.split())


def has_expected(answer: str, groups: list[list[str]]) -> bool:
    text = fold(answer)
    return all(any(fold(alt) in text for alt in group) for group in groups)


def sentences(answer: str) -> list[str]:
    out: list[str] = []
    for line in answer.splitlines():
        line = line.strip().lstrip("-*• ").strip()
        # markers after the full stop belong to the sentence before it: "... mi). [1] Next"
        line = re.sub(r"([.!?])((?:\s*\[\d+\])+)", r"\2\1", line)
        if line:
            out.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return out


def unsupported(answer: str, question: str, cited_texts: dict[int, str]) -> list[str]:
    """The answer's sentences this benchmark cannot find support for (see the module doc)."""
    asked = fold(question)
    bad = []
    for sentence in sentences(answer):
        marks = [int(n) for n in _MARKER.findall(sentence)]
        plain = _MARKER.sub("", sentence)
        if not marks:
            if NOT_FOUND.search(plain):
                continue  # a statement of what was not found
            bad.append(sentence)
            continue
        text = fold(" ".join(cited_texts.get(n, "") for n in marks))
        words = [fold(m) for m in _NUMBER.findall(plain)]
        words += [fold(m) for i, m in enumerate(_NAME.findall(plain)) if i or plain.find(m) > 0]
        missing = [w for w in words if w not in asked and w.strip(".,") not in text]
        if missing:
            bad.append(sentence)
    return bad


def not_found_handled(answer: str) -> bool:
    return bool(NOT_FOUND.search(answer))


def score(question: dict[str, Any], result: Any, articles: dict[str, str]) -> dict[str, Any]:
    cited = {c.n: articles.get(c.title, "") for c in result.citations}
    titles = [c.title for c in result.citations]
    bad = unsupported(result.answer, question["question"], cited)
    answerable = question["kind"] != "not_in_corpus"
    row: dict[str, Any] = {
        "id": question["id"],
        "kind": question["kind"],
        "question": question["question"],
        "answer": result.answer,
        "cited": titles,
        "sentences": len(sentences(result.answer)),
        "unsupported": bad,
        "wall_s": round(result.timings.wall_seconds, 2),
        "model_calls": result.usage.model_calls,
        "tool_calls": result.usage.tool_calls,
        "tokens": result.usage.total_tokens,
        "stop": result.stop_reason,
    }
    if answerable:
        row["correct"] = has_expected(result.answer, question["expected"])
        row["right_article"] = any(t in question["articles"] for t in titles)
    else:
        # says what was not found, and whatever else it says, its sources support
        row["correct"] = not_found_handled(result.answer) and not bad
        row["right_article"] = None
    return row


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["kind"] != "not_in_corpus"]
    unanswerable = [r for r in rows if r["kind"] == "not_in_corpus"]
    walls = sorted(r["wall_s"] for r in rows)
    n_sent = sum(r["sentences"] for r in rows)

    def share(items: list[dict[str, Any]], key: str) -> float | None:
        return round(100 * sum(bool(r[key]) for r in items) / len(items), 1) if items else None

    return {
        "questions": len(rows),
        "accuracy_pct": share(answerable, "correct"),
        "right_article_pct": share(answerable, "right_article"),
        "unsupported_sentence_pct": round(
            100 * sum(len(r["unsupported"]) for r in rows) / max(1, n_sent), 1
        ),
        "not_found_handled_pct": share(unanswerable, "correct"),
        "wall_s_median": round(statistics.median(walls), 1) if walls else None,
        "wall_s_p90": round(walls[min(len(walls) - 1, int(0.9 * len(walls)))], 1)
        if walls
        else None,
        "model_calls_mean": round(statistics.mean(r["model_calls"] for r in rows), 2)
        if rows
        else None,
        "tokens_mean": round(statistics.mean(r["tokens"] for r in rows)) if rows else None,
        "sentences_mean": round(n_sent / max(1, len(rows)), 2),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--kinds", default="", help="comma-separated kinds to run")
    parser.add_argument("--ids", default="", help="comma-separated question ids to run")
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None, help="JSONL of per-question rows")
    parser.add_argument("--summary", type=Path, default=None,
                        help="only summarise this JSONL of rows (no runs)")  # fmt: skip
    args = parser.parse_args()
    if args.summary is not None:
        stored = [json.loads(line) for line in args.summary.read_text().splitlines() if line]
        for row in stored:
            if row["kind"] == "not_in_corpus":
                row["correct"] = not_found_handled(row["answer"]) and not row["unsupported"]
        print_summary(stored, Console(stderr=True))
        return
    console = Console(stderr=True)
    questions = json.loads(QUESTIONS_FILE.read_text())
    if args.kinds:
        wanted = set(args.kinds.split(","))
        questions = [q for q in questions if q["kind"] in wanted]
    if args.ids:
        ids = set(args.ids.split(","))
        questions = [q for q in questions if q["id"] in ids]
    questions = questions[: args.limit]
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="wideseek-qa-"))
    settings = load_settings(args.config, data_dir=str(data_dir), corpora=[DEFAULT_CORPUS])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    documents = list(default_corpus_documents())
    articles = {d.title: d.text for d in documents}
    with CorpusStore(settings.corpus_db) as store:
        if not store.has_corpus(DEFAULT_CORPUS):
            store.add_documents(DEFAULT_CORPUS, documents)
    done: dict[str, dict[str, Any]] = {}
    if args.out and args.out.exists():
        for line in args.out.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                done[row["id"]] = row
    researcher = Researcher(settings)
    started = time.perf_counter()
    await researcher.check_models()
    load_s = time.perf_counter() - started
    rows: list[dict[str, Any]] = []
    with Progress(console=console) as progress:
        task = progress.add_task("asking", total=len(questions))
        for question in questions:
            if question["id"] in done:
                rows.append(done[question["id"]])
                progress.advance(task)
                continue
            result = await researcher.arun(question["question"])
            row = score(question, result, articles)
            rows.append(row)
            if args.out:
                with args.out.open("a") as out:
                    out.write(json.dumps(row) + "\n")
            progress.advance(task)
    await researcher.aclose()
    print_summary(rows, console, {"model_load_s": round(load_s, 1)})


def print_summary(
    rows: list[dict[str, Any]], console: Console, extra: dict[str, Any] | None = None
) -> None:
    """A table per kind, the questions answered wrong, and the summary as one JSON line."""
    table = Table("kind", "n", "right", "article", "unsupported", "median s", "calls",
                  title="lookup questions over the default corpus")  # fmt: skip
    for kind in sorted({r["kind"] for r in rows}):
        part = [r for r in rows if r["kind"] == kind]
        s = summarise(part)
        right = s["not_found_handled_pct"] if kind == "not_in_corpus" else s["accuracy_pct"]
        table.add_row(kind, str(len(part)), f"{right}%", f"{s['right_article_pct'] or '-'}",
                      f"{s['unsupported_sentence_pct']}%", f"{s['wall_s_median']}",
                      f"{s['model_calls_mean']}")  # fmt: skip
    Console().print(table)
    for r in rows:
        if not r["correct"] or r["unsupported"]:
            console.print(f"[dim]{r['id']} {r['kind']}: {r['answer'][:300]!r} "
                          f"unsupported={r['unsupported']}[/]")  # fmt: skip
    print(json.dumps({**summarise(rows), **(extra or {})}))


if __name__ == "__main__":
    asyncio.run(main())
