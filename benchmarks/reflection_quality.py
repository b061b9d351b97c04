"""Reflection quality on labelled cases: verdicts, grounded evidence and facts, per call time.

    python benchmarks/reflection_quality.py [--prompt PATH] [--n 25] [--model NAME]

Runs the reflector (the embedded model by default, `--model` names another embedded model or
GGUF) on the labelled reflection cases of `benchmarks/data/structured_prompts.json`, with the
agent's own prompt (or `--prompt`, a prompt file in the same format, to compare variants) and
the agent's `Reflection` schema, and reports:

- verdict agreement with the label, as the model gave it and after the agent's evidence check
  (`agent.facts.check_reflection`: evidence the results do not hold cannot settle a goal);
- evidence grounded: the evidence is empty or supported by the results (share of its words in
  the best result >= 0.5), and empty evidence on off-track cases;
- facts proposed per call and the share kept by `agent.facts.grounded_facts`;
- seconds per call (noisy on a shared 2-core machine).

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from string import Template
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

DATA = Path(__file__).parent / "data" / "structured_prompts.json"


def render(prompt_path: Path | None, values: dict[str, str]) -> list[Any]:
    from agent.llm.base import Message
    from agent.prompts import load_prompt

    if prompt_path is None:
        return load_prompt("reflector").render(**values)
    raw = prompt_path.read_text(encoding="utf-8")
    _, rest = raw.split("# system", 1)
    system, user = rest.split("# user", 1)
    return [
        Message("system", Template(system).substitute(values).strip()),
        Message("user", Template(user).substitute(values).strip()),
    ]


async def run(args: argparse.Namespace, console: Console) -> dict[str, Any]:
    from agent.config import ModelConfig
    from agent.facts import check_reflection, grounded_facts, support
    from agent.graph import REFLECTION_TOKENS, _format_notes, _format_results
    from agent.llm.factory import build_model
    from agent.schemas import Reflection

    cases = json.loads(DATA.read_text(encoding="utf-8"))["reflection"][: args.n]
    model = build_model(ModelConfig(model=args.model))
    rows: list[dict[str, Any]] = []
    with Progress(console=console) as progress:
        task = progress.add_task("reflecting", total=len(cases))
        for case in cases:
            observations = [
                {"title": r["title"], "text": r["text"], "source_id": f"doc-{i}", "url": ""}
                for i, r in enumerate(case["results"], 1)
            ]
            values = {
                "question": case["question"],
                "goal": case["goal"],
                "evidence_needed": case["evidence_needed"],
                "queries": "; ".join(case["queries"]) or "(none)",
                "notes": _format_notes([{"text": t} for t in case["notes"]]),
                "tool": f"search({{'query': {case['tool_query']!r}, 'k': 5}})",
                "results": _format_results(observations, 2400),
            }
            started = time.perf_counter()
            try:
                reflection, _ = await model.parse(
                    render(args.prompt, values), Reflection, max_tokens=REFLECTION_TOKENS
                )
            except Exception as error:  # a failed call counts as a miss, never a crash
                rows.append(
                    {"ok": False, "error": str(error)[:200], "expected": case["expected_verdict"]}
                )
                progress.advance(task)
                continue
            seconds = time.perf_counter() - started
            texts = [f"{o['title']}\n{o['text']}" for o in observations]
            evidence = reflection.evidence.strip()
            best = max((support(evidence, t) for t in texts), default=0.0) if evidence else 1.0
            off = case["expected_verdict"] == "off_track"
            kept = grounded_facts(reflection.facts, observations, "bench")
            checked, _ = check_reflection(reflection, observations, case["tool_query"])
            rows.append(
                {
                    "ok": True,
                    "expected": case["expected_verdict"],
                    "verdict": reflection.verdict,
                    "agrees": reflection.verdict == case["expected_verdict"],
                    "agrees_checked": checked.verdict == case["expected_verdict"],
                    "grounded": (best >= 0.5) and not (off and evidence),
                    "facts": len(reflection.facts),
                    "facts_kept": len(kept),
                    "seconds": seconds,
                    "goal": case["goal"],
                    "reflection": reflection.model_dump(),
                }
            )
            progress.advance(task)
    await model.aclose()
    if args.log is not None:
        args.log.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = [r for r in rows if r["ok"]]
    proposed = sum(r["facts"] for r in done)
    figures = {
        "prompt": str(args.prompt or "agent/prompts/reflector.md"),
        "model": args.model,
        "cases": len(rows),
        "failed_calls": len(rows) - len(done),
        "verdict_agreement": round(sum(r["agrees"] for r in done) / max(1, len(rows)), 3),
        "verdict_agreement_checked": round(
            sum(r["agrees_checked"] for r in done) / max(1, len(rows)), 3
        ),
        "evidence_grounded": round(sum(r["grounded"] for r in done) / max(1, len(rows)), 3),
        "facts_per_call": round(proposed / max(1, len(done)), 2),
        "facts_kept_share": round(sum(r["facts_kept"] for r in done) / max(1, proposed), 3),
        "seconds_per_call": round(statistics.fmean(r["seconds"] for r in done), 1) if done else 0,
    }
    by_label: dict[str, list[bool]] = {}
    for r in done:
        by_label.setdefault(r["expected"], []).append(r["agrees_checked"])
    figures["checked_agreement_by_label"] = {
        k: f"{sum(v)}/{len(v)}" for k, v in sorted(by_label.items())
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompt", type=Path, default=None)
    parser.add_argument("--n", type=int, default=25)
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--log", type=Path, default=None, help="write each case's output here")
    args = parser.parse_args()
    console = Console(stderr=True)
    figures = asyncio.run(run(args, console))
    table = Table("figure", "value", title="reflection quality")
    for key, value in figures.items():
        table.add_row(key, json.dumps(value))
    console.print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
