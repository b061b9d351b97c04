"""Fine-tuning on the CPU: export speed, GGUF dequantisation, SFT and GRPO step times.

Writes `--runs` synthetic lookup runs (the agent's real prompts, via tests/finetune/traces.py)
into a temporary run store, exports them, dequantises the base (skipped when cached; pass
`--fresh` to time a conversion into a temporary cache), then runs `--sft-steps` LoRA SFT steps
and `--grpo-steps` GRPO steps. Prints a table and, as the last line, one JSON object.

    python benchmarks/finetune_cpu.py [--base smollm2-135m] [--runs 200] [--sft-steps 3]
        [--grpo-steps 2] [--max-length 256] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console
from rich.table import Table

from finetune import ExportOptions, GRPOOptions, SFTOptions, export_runs
from finetune.base import converted_dir, resolve_base
from memory.run_store import RunStore
from tests.finetune.traces import lookup_run, planner_call, tool_choice_call, write_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="smollm2-135m")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sft-steps", type=int, default=3)
    parser.add_argument("--grpo-steps", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--fresh", action="store_true", help="time a GGUF conversion")
    args = parser.parse_args()
    console = Console(stderr=True)
    figures: dict[str, float | int | str] = {"base": args.base}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = RunStore(root / "runs.db")
        started = time.perf_counter()
        for number in range(args.runs):
            lookup_run(store, f"r{number}", f"What is the capital of country {number}?")
        for number, city in enumerate(["Paris", "Rome", "Oslo", "Lima"]):
            question = f"What is the weather in {city}?"
            choice = {"tool": "weather_lookup", "arguments": {"city": city}}
            write_run(store, f"w{number}", question,
                      [planner_call(question), tool_choice_call(question, choice)])  # fmt: skip
        store.close()
        figures["write_runs_s"] = round(time.perf_counter() - started, 2)
        started = time.perf_counter()
        stats = export_runs(root / "data", ExportOptions(store=root / "runs.db"))
        figures["export_s"] = round(time.perf_counter() - started, 2)
        figures["export_examples"] = stats.total.examples
        figures["export_runs"] = stats.runs_selected

        cache = root / "hf" if args.fresh else None
        started = time.perf_counter()
        from finetune.base import gguf_of

        gguf = gguf_of(args.base)
        cached = (
            gguf is not None and cache is None and (converted_dir(gguf) / "config.json").exists()
        )
        base = resolve_base(args.base, cache=cache)
        figures["base_resolve_s"] = round(time.perf_counter() - started, 2)
        figures["base_was_cached"] = str(cached)
        base_path = str(base.path)

        sft_data = root / "sft"
        sft_data.mkdir()
        answers = (root / "data" / "answer.train.jsonl").read_text().splitlines()
        (sft_data / "answer.train.jsonl").write_text("\n".join(answers[:8]) + "\n")
        from finetune import train_grpo, train_sft

        sft = train_sft(
            SFTOptions(base=base_path, data=sft_data, out=root / "sft-adapter",
                       steps=args.sft_steps, lr=1e-3, batch_size=2, max_length=args.max_length,
                       save_steps=10_000, progress=False)
        )  # fmt: skip
        figures["sft_steps"] = sft.steps
        figures["sft_total_s"] = round(sft.seconds, 1)
        figures["sft_first_loss"] = round(sft.losses[0][1], 4)
        figures["sft_last_loss"] = round(sft.losses[-1][1], 4)
        log = [json.loads(x) for x in (root / "sft-adapter" / "train_log.jsonl").open()]
        steps = [r for r in log if "loss" in r]
        if len(steps) > 1:
            figures["sft_s_per_step"] = round(
                (steps[-1]["time"] - steps[0]["time"]) / (len(steps) - 1), 2
            )
        grpo = train_grpo(
            GRPOOptions(base=base_path, data=root / "data", out=root / "grpo-adapter",
                        steps=args.grpo_steps, num_generations=2, max_completion_length=32,
                        max_prompt_length=512, tasks=["tool_choice"], save_steps=10_000,
                        progress=False)
        )  # fmt: skip
        figures["grpo_steps"] = grpo.steps
        figures["grpo_total_s"] = round(grpo.seconds, 1)
        log = [json.loads(x) for x in (root / "grpo-adapter" / "train_log.jsonl").open()]
        figures["grpo_step_time_s"] = round(
            sum(r.get("step_time", 0.0) for r in log if "loss" in r) / max(grpo.steps, 1), 2
        )
    table = Table("figure", "value", title="fine-tuning on this machine")
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    sys.stdout.write(json.dumps(figures) + "\n")


if __name__ == "__main__":
    main()
