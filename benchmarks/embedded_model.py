"""Benchmark the embedded models: load time, speed, memory and structured-output validity.

    python benchmarks/embedded_model.py [--models a,b] [--n 50] [--threads 2] [--log PATH]

Each candidate model runs in a fresh subprocess (so load time is cold and peak RSS is the
model's own) with `EmbeddedChatModel(n_threads=2)`. It measures:

- load: seconds to load the weights and create the context (`import llama_cpp` is timed apart);
- prompt and generation tokens/s from llama.cpp's own timings (median of 3 runs: a long prompt
  with max_tokens=1, then a short prompt generating up to 128 tokens);
- peak RSS of the subprocess (`ru_maxrss`);
- structured output over the planner and reflector prompts in
  `benchmarks/data/structured_prompts.json` (`model.complete(..., schema=...)`, which repairs and
  retries once): valid on the first try, valid after the retry, failed, mean seconds per call.

A candidate whose weight packages are missing is reported as skipped. Figures are noisy on a
shared 2-core machine. The last line of output is one JSON object with the figures per model.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

DATA = Path(__file__).parent / "data" / "structured_prompts.json"
CANDIDATES = ("qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "smollm2-135m")
EVENT = "@@bench "  # worker lines on stdout start with this; anything else is ignored
SPEED_RUNS = 3
GEN_TOKENS = 128
# The same output budgets as agent/graph.py gives the planner and the reflector.
MAX_TOKENS = {"planner": 400, "reflection": 500}

LONG_PROMPT_TOPIC = (
    "Read the following notes and reply with the single word OK.\n\n"
    "The history of bridge building runs from fallen logs and rope spans to steel suspension "
    "bridges kilometres long. Roman engineers built stone arch bridges and aqueducts whose "
    "semicircular arches carried loads in compression; many still stand. Medieval builders "
    "added pointed arches and lined spans with houses and shops. The industrial revolution "
    "brought cast iron, then wrought iron and steel, which work well in tension and allowed "
    "trusses, cantilevers and suspension designs. Suspension bridges hang the deck from cables "
    "draped over towers and anchored at each end; their light decks must be stiffened against "
    "wind, a lesson learned when slender decks oscillated and failed. Cable-stayed bridges run "
    "cables straight from the towers to the deck and suit medium spans. Reinforced and "
    "prestressed concrete made cheap, durable beam and box-girder bridges common after the "
    "Second World War. Modern design uses computer models, wind-tunnel tests of deck sections, "
    "and monitoring systems that measure strain, vibration and corrosion over decades.\n\n"
)


# --- worker: one model, in its own process ----------------------------------------------------


def _emit(**event: Any) -> None:
    print(EVENT + json.dumps(event), flush=True)


def _perf(llama: Any) -> tuple[float, int, float, int] | None:
    """(prompt ms, prompt tokens, generation ms, generated tokens) since the last reset."""
    import llama_cpp

    try:
        data = llama_cpp.llama_perf_context(llama.ctx)
    except (AttributeError, TypeError):
        return None
    return data.t_p_eval_ms, data.n_p_eval, data.t_eval_ms, data.n_eval


def _reset_perf(llama: Any) -> None:
    import llama_cpp

    with contextlib.suppress(AttributeError, TypeError):
        llama_cpp.llama_perf_context_reset(llama.ctx)


async def _speed(model: Any, llama: Any, text: str, max_tokens: int) -> tuple[float, float, int]:
    """One call from an empty cache: (prompt tok/s, generation tok/s, generated tokens)."""
    from agent.llm.base import user

    llama.reset()  # forget the cached prefix so the whole prompt is evaluated
    _reset_perf(llama)
    completion = await model.complete([user(text)], max_tokens=max_tokens)
    usage = completion.usage
    perf = _perf(llama)
    if perf is not None and perf[0] > 0:
        p_ms, p_n, g_ms, g_n = perf
        return p_n / (p_ms / 1000), (g_n / (g_ms / 1000) if g_ms > 0 else 0.0), g_n
    # Fallback: wall time of the whole call (prompt and generation together).
    rate = usage.total_tokens / usage.seconds if usage.seconds else 0.0
    return rate, rate, usage.completion_tokens


async def _worker(model_name: str, jobs_path: Path, n_threads: int) -> None:
    import resource

    from pydantic import ValidationError

    from agent.llm.base import Message, ModelError, StructuredOutputError, user
    from agent.llm.embedded import EmbeddedChatModel  # sets OMP_WAIT_POLICY=PASSIVE
    from agent.llm.repair import parse_reply
    from agent.schemas import Plan, Reflection

    class RecordingModel(EmbeddedChatModel):
        """Keeps every raw reply so invalid first attempts can be described."""

        raw: list[tuple[str, str | None, int]]

        async def _generate(self, messages: Any, **kwargs: Any) -> Any:
            result = await super()._generate(messages, **kwargs)
            self.raw.append((result.text, result.finish_reason, result.usage.completion_tokens))
            return result

    jobs = json.loads(jobs_path.read_text(encoding="utf-8"))
    started = time.perf_counter()
    import llama_cpp  # noqa: F401 - timed apart from loading the weights

    import_s = time.perf_counter() - started
    model = RecordingModel(model_name, n_threads=n_threads)
    model.raw = []
    started = time.perf_counter()
    llama = model.load()
    load_s = time.perf_counter() - started
    _emit(kind="loaded", load_s=load_s, import_s=import_s)

    await model.complete([user("Say OK.")], max_tokens=1)  # warm-up: first-call allocations
    long_text = LONG_PROMPT_TOPIC * 4
    prompt_rates = []
    for _ in range(SPEED_RUNS):
        rate, _g, _n = await _speed(model, llama, long_text, 1)
        prompt_rates.append(rate)
    prompt_tokens = len(llama.tokenize(long_text.encode()))
    _emit(kind="prompt_speed", prompt_tok_s=statistics.median(prompt_rates), tokens=prompt_tokens)
    gen_rates = []
    gen_counts = []
    for _ in range(SPEED_RUNS):
        _p, rate, count = await _speed(
            model,
            llama,
            "Write a long, detailed essay about the history of bridge building.",
            GEN_TOKENS,
        )
        gen_rates.append(rate)
        gen_counts.append(count)
    _emit(kind="gen_speed", gen_tok_s=statistics.median(gen_rates), tokens=min(gen_counts))

    schemas = {"planner": Plan, "reflection": Reflection}
    llama.reset()
    for index, job in enumerate(jobs):
        messages = [Message(m["role"], m["content"]) for m in job["messages"]]
        schema = schemas[job["kind"]]
        model.raw = []
        record: dict[str, Any] = {"kind": "call", "index": index, "prompt": job["kind"]}
        started = time.perf_counter()
        try:
            completion = await model.complete(
                messages, schema=schema, max_tokens=MAX_TOKENS[job["kind"]]
            )
        except StructuredOutputError as error:
            record["outcome"] = "failed"
            record["error"] = str(error)
        except ModelError as error:
            record["outcome"] = "failed"
            record["error"] = f"model error: {error}"
        else:
            record["outcome"] = "first" if len(model.raw) == 1 else "retry"
            parsed = completion.parsed
            record["parsed"] = parsed.model_dump() if parsed is not None else None
            if isinstance(parsed, Plan):
                record["agrees"] = parsed.task_kind == job["expected"]
                record["sub_goals"] = len(parsed.sub_goals)
            elif isinstance(parsed, Reflection):
                record["agrees"] = parsed.verdict == job["expected"]
        record["seconds"] = time.perf_counter() - started
        invalid = []
        for text, finish, tokens in model.raw:
            try:
                parse_reply(text, schema)
            except (ValueError, ValidationError) as error:
                reason = str(error).splitlines()
                invalid.append(
                    {
                        "error": _error_kind(error),
                        "detail": " ".join(reason[:3])[:300],
                        "finish_reason": finish,
                        "completion_tokens": tokens,
                        "text": text[:1500],
                    }
                )
        record["invalid_attempts"] = invalid
        _emit(**record)

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    _emit(kind="done", peak_rss_mb=peak_kb / 1024)


def _error_kind(error: Exception) -> str:
    """A short label for what was wrong with a reply."""
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        first = error.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        return f"schema: {loc}: {first['type']}"
    message = str(error)
    if "no JSON object" in message:
        return "no JSON"
    return message[:80]


# --- parent: prompts, subprocesses, progress and the report -----------------------------------


def build_jobs(n: int) -> list[dict[str, Any]]:
    """Render the first n prompts: half planner, half reflection (planner first when odd)."""
    from agent.graph import _format_notes, _format_results
    from agent.prompts import load_prompt
    from agent.text import clip

    data = json.loads(DATA.read_text(encoding="utf-8"))
    n_plan = min(len(data["planner"]), (n + 1) // 2)
    n_reflect = min(len(data["reflection"]), n - n_plan)
    jobs: list[dict[str, Any]] = []
    planner = load_prompt("planner")
    for item in data["planner"][:n_plan]:
        messages = planner.render(question=item["question"])
        jobs.append(
            {
                "kind": "planner",
                "expected": item["expected_task_kind"],
                "messages": [m.to_dict() for m in messages],
            }
        )
    reflector = load_prompt("reflector")
    for item in data["reflection"][:n_reflect]:
        observations = [
            {"title": r["title"], "text": r["text"], "source_id": f"doc-{i}"}
            for i, r in enumerate(item["results"], 1)
        ]
        arguments = {"query": item["tool_query"], "k": 5}
        messages = reflector.render(
            question=item["question"],
            goal=item["goal"],
            evidence_needed=item["evidence_needed"],
            queries="; ".join(item["queries"]) or "(none)",
            notes=_format_notes([{"text": t} for t in item["notes"]]),
            tool=f"search({clip(str(arguments), 160)})",
            results=_format_results(observations, 2400),
        )
        jobs.append(
            {
                "kind": "reflection",
                "expected": item["expected_verdict"],
                "messages": [m.to_dict() for m in messages],
            }
        )
    return jobs


def run_model(
    name: str,
    jobs_path: Path,
    n_jobs: int,
    n_threads: int,
    progress: Progress,
    log: Any,
) -> dict[str, Any]:
    from agent.llm.weights import WeightsError, resolve_model_path

    task = progress.add_task(f"{name}: weights", total=3 + n_jobs)
    try:
        resolve_model_path(name)  # joins chunk packages once (not part of the load time)
    except WeightsError as error:
        progress.update(task, description=f"{name}: skipped", completed=3 + n_jobs)
        return {"skipped": str(error)}
    progress.update(task, description=f"{name}: loading")
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        name,
        "--jobs",
        str(jobs_path),
        "--threads",
        str(n_threads),
    ]
    figures: dict[str, Any] = {}
    calls: list[dict[str, Any]] = []
    with tempfile.TemporaryFile("w+") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith(EVENT):
                continue
            event = json.loads(line[len(EVENT) :])
            kind = event.pop("kind")
            if kind == "loaded":
                figures.update(event)
                progress.update(task, advance=1, description=f"{name}: prompt speed")
            elif kind == "prompt_speed":
                figures["prompt_tok_s"] = event["prompt_tok_s"]
                figures["prompt_speed_tokens"] = event["tokens"]
                progress.update(task, advance=1, description=f"{name}: generation speed")
            elif kind == "gen_speed":
                figures["gen_tok_s"] = event["gen_tok_s"]
                figures["gen_speed_tokens"] = event["tokens"]
                progress.update(task, advance=1, description=f"{name}: structured output")
            elif kind == "call":
                calls.append(event)
                if log is not None:
                    log.write(json.dumps({"model": name, **event}, ensure_ascii=False) + "\n")
                    log.flush()
                progress.update(task, advance=1)
            elif kind == "done":
                figures.update(event)
        code = proc.wait()
        if code != 0 or "peak_rss_mb" not in figures:
            stderr.seek(0)
            tail = stderr.read()[-2000:].strip()
            progress.update(task, description=f"{name}: failed")
            return {"error": f"worker exited with {code}: {tail}"}
    progress.update(task, description=f"{name}: done")
    figures["calls"] = calls
    return figures


def summarise(figures: dict[str, Any]) -> dict[str, Any]:
    calls = figures["calls"]
    outcomes = Counter(c["outcome"] for c in calls)
    return {
        "load_s": round(figures["load_s"], 2),
        "prompt_tok_s": round(figures["prompt_tok_s"], 1),
        "gen_tok_s": round(figures["gen_tok_s"], 1),
        "peak_rss_mb": round(figures["peak_rss_mb"]),
        "structured": {
            "n": len(calls),
            "valid_first": outcomes["first"],
            "valid_after_retry": outcomes["retry"],
            "failed": outcomes["failed"],
            "mean_call_s": round(statistics.mean(c["seconds"] for c in calls), 2) if calls else 0,
        },
    }


def _agreement(calls: list[dict[str, Any]], prompt: str) -> str:
    valid = [c for c in calls if c["prompt"] == prompt and "agrees" in c]
    if not valid:
        return "-"
    return f"{sum(c['agrees'] for c in valid)}/{len(valid)}"


def report(console: Console, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    table = Table(title="Embedded models (noisy: shared CPU)")
    for column in (
        "model",
        "import s",
        "load s",
        "prompt tok/s",
        "gen tok/s",
        "peak RSS MB",
        "valid 1st",
        "after retry",
        "failed",
        "mean call s",
        "plan kind ok",
        "verdict ok",
    ):
        if column == "model":
            table.add_column(column, no_wrap=True, min_width=18)
        else:
            table.add_column(column, justify="right")
    out: dict[str, Any] = {}
    notes: list[str] = []
    for name, figures in results.items():
        if "skipped" in figures or "error" in figures:
            status = "skipped" if "skipped" in figures else "error"
            table.add_row(name, status, *[""] * 10)
            notes.append(f"{name}: {status}: {figures.get('skipped') or figures.get('error')}")
            out[name] = {status: figures.get("skipped") or figures.get("error")}
            continue
        summary = summarise(figures)
        out[name] = summary
        s = summary["structured"]
        calls = figures["calls"]
        table.add_row(
            name,
            f"{figures['import_s']:.2f}",
            f"{summary['load_s']:.2f}",
            f"{summary['prompt_tok_s']:.1f}",
            f"{summary['gen_tok_s']:.1f}",
            f"{summary['peak_rss_mb']:,}",
            f"{s['valid_first']}/{s['n']}",
            str(s["valid_after_retry"]),
            str(s["failed"]),
            f"{s['mean_call_s']:.2f}",
            _agreement(calls, "planner"),
            _agreement(calls, "reflection"),
        )
        problems = Counter(
            f"{c['prompt']}: {a['error']}"
            + (" (hit max_tokens)" if a["finish_reason"] == "length" else "")
            for c in calls
            for a in c["invalid_attempts"]
        )
        if problems:
            listed = "; ".join(f"{k} x{v}" for k, v in problems.most_common(6))
            notes.append(f"{name}: invalid replies: {listed}")
        notes.append(
            f"{name}: prompt speed over {figures['prompt_speed_tokens']} tokens, generation over "
            f"{figures['gen_speed_tokens']}+ tokens (median of {SPEED_RUNS})"
        )
    console.print(table)
    for note in notes:
        console.print(f"- {note}", highlight=False)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--models",
        default=",".join(CANDIDATES),
        help=f"comma-separated model names (default: {','.join(CANDIDATES)})",
    )
    parser.add_argument("--n", type=int, default=50, help="structured prompts (default 50, max 50)")
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    parser.add_argument("--log", type=Path, help="write every structured call here (JSON lines)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        asyncio.run(_worker(args.worker, args.jobs, args.threads))
        return 0
    if args.n < 1:
        parser.error("--n must be at least 1")

    from agent.llm.weights import MODELS

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the table into 80 columns
        console = Console(width=max(console.width, 150))
    jobs = build_jobs(args.n)
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    log = args.log.open("w", encoding="utf-8") if args.log else None
    try:
        with tempfile.TemporaryDirectory(prefix="wideseek-bench-") as tmp:
            jobs_path = Path(tmp) / "jobs.json"
            jobs_path.write_text(json.dumps(jobs), encoding="utf-8")
            columns = (
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
            )
            with Progress(*columns, console=console) as progress:
                for name in models:
                    results[name] = run_model(
                        name, jobs_path, len(jobs), args.threads, progress, log
                    )
    finally:
        if log is not None:
            log.close()
    figures = report(console, results)
    load_after = os.getloadavg()
    console.print(
        f"- {len(jobs)} structured prompts, {args.threads} threads; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs",
        highlight=False,
    )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
