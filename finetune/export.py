"""Stored runs -> chat-format training data, one JSONL file pair per sub-task.

Every model call of a run is in the run store (`RunStore.model_calls`): the messages sent and
the output that came back, under the output schema's name. Export turns each call into one
example `{"messages": [system, user, assistant], "task", "run_id", "source": "trace",
"schema"}` and groups them by sub-task:

| sub-task      | schemas (`ModelCallRecord.task`)      |
|---------------|----------------------------------------|
| `planning`    | Plan, TablePlanReply                   |
| `tool_choice` | tool_choice                            |
| `reflection`  | Reflection                             |
| `extraction`  | Cells, ConditionVerdict                |
| `answer`      | answer (the writer's text)             |

An unknown schema goes by its role (planner -> planning, reflector -> extraction, writer ->
answer). A tool choice the agent rejected (its arguments did not validate) is dropped; the
retry that fixed it is kept with the first prompt (what the model should have answered).

Written to `OUT/<task>.train.jsonl` and `OUT/<task>.val.jsonl` (and `general.*` for the
user's instruction data), plus `OUT/stats.json`. Examples are deduplicated by a hash of
their normalised messages; the validation split is decided by the same hash, so re-exporting
the same runs gives the same split.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from finetune.accepted import accepted_ids
from finetune.errors import FinetuneError, ensure_writable

SUB_TASKS = ("planning", "tool_choice", "reflection", "extraction", "answer")
GENERAL = "general"
TASK_OF_SCHEMA = {
    "Plan": "planning",
    "TablePlanReply": "planning",
    "TablePlan": "planning",
    "tool_choice": "tool_choice",
    "ToolChoice": "tool_choice",
    "Reflection": "reflection",
    "Cells": "extraction",
    "ConditionVerdict": "extraction",
    "answer": "answer",
}
TASK_OF_ROLE = {"planner": "planning", "reflector": "extraction", "writer": "answer"}
FINISHED = frozenset({"done", "ok"})
"""Run statuses that mean the run ended normally (RunStore writes "done")."""
METRICS = ("item_f1", "row_f1", "success", "item_precision", "item_recall", "row_precision",
           "row_recall")  # fmt: skip
DEFAULT_SYSTEM = "You are a helpful assistant."
CHARS_PER_TOKEN = 4
"""The token estimate: characters / 4 (close for English with BPE tokenizers)."""
NO_TOOL = "none"

Message = dict[str, str]


@dataclass
class Example:
    """One chat example: system, user, assistant."""

    messages: list[Message]
    task: str
    source: str  # "trace" | "general"
    run_id: str | None = None
    schema: str | None = None

    @property
    def key(self) -> str:
        """The dedup / split hash of the normalised messages."""
        return message_hash(self.messages)

    def tokens(self) -> int:
        return math.ceil(sum(len(m["content"]) for m in self.messages) / CHARS_PER_TOKEN)

    def to_json(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "messages": self.messages,
            "task": self.task,
            "run_id": self.run_id,
            "source": self.source,
        }
        if self.schema is not None:
            line["schema"] = self.schema
        return line


def message_hash(messages: Sequence[Message]) -> str:
    """sha256 of the messages with whitespace collapsed and case folded."""
    normal = [[m["role"], " ".join(m["content"].split()).casefold()] for m in messages]
    return hashlib.sha256(json.dumps(normal, ensure_ascii=False).encode()).hexdigest()


def in_validation(key: str, share: float) -> bool:
    """Whether the example with hash `key` belongs to the validation split (stable)."""
    return int(key[:8], 16) / 0x1_0000_0000 < share


@dataclass
class ExportOptions:
    runs: Sequence[str] = ("all",)
    """Run ids, `all` (every run of the store), or run-store paths (every run in that file);
    items may be comma separated."""
    store: Path | None = None
    """The run store the run ids and `all` refer to (default: the configured one)."""
    eval_dirs: Sequence[Path] = ()
    """`wideseek eval` output folders: their results.jsonl scores each run (by run id)."""
    min_score: float | None = None
    """Keep runs whose eval score (`metric`) is at least this; needs `eval_dirs`."""
    metric: str = "item_f1"
    accepted_only: bool = False
    """Keep runs marked accepted (`finetune accept`, or `"accepted": true` in the result)."""
    general: Path | None = None
    """General instruction data: chat JSONL ({"messages": [...]}) or Alpaca JSONL
    ({"instruction", "input", "output"})."""
    general_ratio: float = 0.3
    """Share of general examples in the output (0 <= r < 1), as far as the file has them."""
    val_share: float = 0.1
    tasks: Sequence[str] = SUB_TASKS
    """The sub-tasks to export."""


@dataclass
class TaskCount:
    examples: int = 0
    train: int = 0
    val: int = 0
    tokens: int = 0


@dataclass
class ExportStats:
    out: Path
    runs_selected: int = 0
    runs_skipped: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, TaskCount] = field(default_factory=dict)
    duplicates: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    general_available: int = 0
    general_used: int = 0
    files: list[Path] = field(default_factory=list)

    @property
    def total(self) -> TaskCount:
        total = TaskCount()
        for count in self.tasks.values():
            total.examples += count.examples
            total.train += count.train
            total.val += count.val
            total.tokens += count.tokens
        return total

    def to_json(self) -> dict[str, Any]:
        return {
            "out": str(self.out),
            "runs_selected": self.runs_selected,
            "runs_skipped": self.runs_skipped,
            "tasks": {name: asdict(count) for name, count in self.tasks.items()},
            "total": asdict(self.total),
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "general_available": self.general_available,
            "general_used": self.general_used,
            "files": [p.name for p in self.files],
        }


# --- run selection -----------------------------------------------------------------------------


def default_store_path() -> Path:
    from agent.config import load_settings

    return load_settings().runs_db


def open_store(path: Path) -> Any:
    from memory.run_store import RunStore, RunStoreError

    if not path.is_file():
        raise FinetuneError(f"run store {path} does not exist")
    try:
        return RunStore(path)
    except RunStoreError as error:
        raise FinetuneError(str(error)) from None


ALL_RUNS = 2**62  # RunStore.list_runs takes a limit


def select_runs(options: ExportOptions) -> tuple[list[tuple[Path, Any]], dict[str, int]]:
    """The (store path, RunRecord) pairs to export and the skipped runs by reason.
    Raises FinetuneError for a missing store or an unknown run id."""
    items = [part.strip() for item in options.runs for part in item.split(",") if part.strip()]
    if not items:
        items = ["all"]
    default = options.store or default_store_path()
    wanted: dict[Path, list[str] | None] = {}  # store -> run ids (None: all)
    for item in items:
        path = Path(item).expanduser()
        if item == "all":
            wanted[default] = None
        elif path.suffix == ".db" or path.is_file() or "/" in item:
            wanted[path] = None
        elif wanted.get(default, []) is not None:
            wanted.setdefault(default, []).append(item)  # type: ignore[union-attr]
    if options.min_score is not None and not options.eval_dirs:
        raise FinetuneError("--min-score needs --eval-dir (the output folder of wideseek eval)")
    if options.metric not in METRICS:
        raise FinetuneError(f"unknown metric {options.metric!r}; one of {', '.join(METRICS)}")
    scores = eval_scores(options.eval_dirs, options.metric) if options.eval_dirs else None
    min_score = options.min_score if options.min_score is not None else 0.0
    selected: list[tuple[Path, Any]] = []
    skipped: Counter[str] = Counter()
    seen: set[str] = set()
    for store_path, ids in wanted.items():
        store = open_store(store_path)
        try:
            if ids is None:
                runs = store.list_runs(limit=ALL_RUNS)
            else:
                runs = []
                for run_id in dict.fromkeys(ids):
                    run = store.get_run(run_id)
                    if run is None:
                        raise FinetuneError(f"no run {run_id!r} in {store_path}")
                    runs.append(run)
        finally:
            store.close()
        accepted = accepted_ids(store_path) if options.accepted_only else set()
        for run in sorted(runs, key=lambda r: (r.started_at, r.run_id)):
            if run.run_id in seen:
                continue
            seen.add(run.run_id)
            if run.status not in FINISHED:
                skipped[f"not finished ({run.status})"] += 1
                continue
            if options.accepted_only and not (
                run.run_id in accepted or bool((run.result or {}).get("accepted"))
            ):
                skipped["not accepted"] += 1
                continue
            if scores is not None:
                score = scores.get(run.run_id)
                if score is None:
                    skipped["no eval score"] += 1
                    continue
                if score < min_score:
                    skipped[f"{options.metric} below {min_score:g}"] += 1
                    continue
            selected.append((store_path, run))
    return selected, dict(skipped)


def eval_scores(eval_dirs: Iterable[Path], metric: str = "item_f1") -> dict[str, float]:
    """run id -> score (`metric`) from `wideseek eval` output folders: `results.jsonl` has a
    row per (task, run) with its scores, `runs.jsonl` the run id of each (task, run)."""
    from evals.runner import read_records

    scores: dict[str, float] = {}
    for folder in eval_dirs:
        results = folder / "results.jsonl"
        if not folder.is_dir():
            raise FinetuneError(f"eval folder {folder} does not exist")
        if not results.is_file():
            raise FinetuneError(
                f"{folder} has no results.jsonl (give the --out folder of wideseek eval)"
            )
        run_ids = {(r.instance_id, str(r.run)): r.run_id for r in read_records(folder) if r.run_id}
        for line in results.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                key = (str(row["instance_id"]), str(row["run"]))
                value = float(row[metric])
            except (ValueError, KeyError, TypeError):
                continue
            run_id = run_ids.get(key)
            if run_id:
                scores[run_id] = max(value, scores.get(run_id, value))
    return scores


# --- traces -> examples ------------------------------------------------------------------------


def _valid_messages(raw: Any) -> list[Message] | None:
    if not isinstance(raw, list) or not raw:
        return None
    out: list[Message] = []
    for message in raw:
        if not isinstance(message, dict):
            return None
        role, content = message.get("role"), message.get("content")
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            return None
        out.append({"role": role, "content": content})
    return out


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _prompt(messages: list[Message]) -> list[Message] | None:
    """[system, user]: the call's first system and user message (a retry's feedback turns
    are dropped: the example teaches the answer to the first prompt)."""
    system = next((m for m in messages if m["role"] == "system"), None)
    first_user = next((m for m in messages if m["role"] == "user"), None)
    if first_user is None or not first_user["content"].strip():
        return None
    return [system or {"role": "system", "content": DEFAULT_SYSTEM}, first_user]


def _choice(value: dict[str, Any] | None) -> tuple[str, Any] | None:
    if value is None or not isinstance(value.get("tool"), str):
        return None
    return value["tool"], value.get("arguments") or {}


def trace_examples(calls: Sequence[Any], events: Sequence[dict[str, Any]], run_id: str
                   ) -> tuple[list[Example], Counter[str]]:  # fmt: skip
    """The examples of one run's model calls, and the calls dropped by reason."""
    from agent.llm.repair import strip_think

    invalid: Counter[str] = Counter()
    examples: list[Example] = []
    # tool choices: a call whose reply was sent back as not validating was rejected; the last
    # call of each choice is checked against the tool the agent then used
    rejected: set[tuple[str, str]] = set()
    groups: list[list[int]] = []
    for index, call in enumerate(calls):
        if call.task not in ("tool_choice", "ToolChoice"):
            continue
        messages = _valid_messages(call.messages) or []
        replies = [m for m in messages if m["role"] == "assistant"]
        prompt = json.dumps(messages[:2], sort_keys=True)
        for reply in replies:
            rejected.add(
                (prompt, json.dumps(_choice(_json_object(reply["content"])), sort_keys=True))
            )
        if replies and groups:
            groups[-1].append(index)
        else:
            groups.append([index])
    chosen = [e.get("data", {}) for e in events if e.get("type") == "tool_choice"]
    chosen = [d for d in chosen if d.get("candidates")]  # no candidates: no model call
    final_mismatch: set[int] = set()
    if len(chosen) == len(groups):
        for group, data in zip(groups, chosen, strict=True):
            last = calls[group[-1]]
            choice = _choice(_json_object(last.output))
            used = data.get("tool")
            if (
                choice is not None
                and choice[0] != used
                and not (choice[0] == NO_TOOL and used == "search")
            ):
                final_mismatch.add(group[-1])
    for index, call in enumerate(calls):
        task = TASK_OF_SCHEMA.get(call.task) or TASK_OF_ROLE.get(call.role)
        if task is None:
            invalid[f"unknown task {call.task!r}"] += 1
            continue
        valid = _valid_messages(call.messages)
        head = _prompt(valid) if valid is not None else None
        if valid is None or head is None:
            invalid["malformed messages"] += 1
            continue
        output = call.output if isinstance(call.output, str) else ""
        if task == "answer":
            output = strip_think(output).strip()
            if not output:
                invalid["empty answer"] += 1
                continue
        else:
            value = _json_object(output)
            if value is None:
                invalid["output is not a JSON object"] += 1
                continue
            if task == "tool_choice":
                key = (
                    json.dumps(valid[:2], sort_keys=True),
                    json.dumps(_choice(value), sort_keys=True),
                )
                if key in rejected or index in final_mismatch:
                    invalid["rejected tool choice"] += 1
                    continue
        examples.append(
            Example(
                messages=[*head, {"role": "assistant", "content": output}],
                task=task,
                source="trace",
                run_id=run_id,
                schema=call.task,
            )
        )
    return examples, invalid


# --- general instruction data ------------------------------------------------------------------


def read_general(path: Path) -> list[Example]:
    """Chat ({"messages"}) or Alpaca ({"instruction", "input", "output"}) JSONL lines as
    examples; a bad line raises FinetuneError naming its line number."""
    if not path.is_file():
        raise FinetuneError(f"general data file {path} does not exist")
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise FinetuneError(f"cannot read {path}: {error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise FinetuneError(f"{where}: not valid JSON ({error.msg})") from None
        if not isinstance(raw, dict):
            raise FinetuneError(f"{where}: expected a JSON object")
        if "messages" in raw:
            messages = _valid_messages(raw["messages"])
            if messages is None:
                raise FinetuneError(
                    f"{where}: messages must be a list of {{role, content}} objects with role "
                    "system, user or assistant"
                )
            if messages[-1]["role"] != "assistant" or not any(
                m["role"] == "user" for m in messages
            ):
                raise FinetuneError(f"{where}: needs a user message and ends with the assistant")
            if messages[0]["role"] != "system":
                messages = [{"role": "system", "content": DEFAULT_SYSTEM}, *messages]
        elif "instruction" in raw and "output" in raw:
            instruction, extra, output = raw["instruction"], raw.get("input") or "", raw["output"]
            if not all(isinstance(v, str) for v in (instruction, extra, output)):
                raise FinetuneError(f"{where}: instruction, input and output must be strings")
            if not instruction.strip() or not output.strip():
                raise FinetuneError(f"{where}: empty instruction or output")
            user = f"{instruction.strip()}\n\n{extra.strip()}" if extra.strip() else instruction
            messages = [
                {"role": "system", "content": DEFAULT_SYSTEM},
                {"role": "user", "content": user.strip()},
                {"role": "assistant", "content": output.strip()},
            ]
        else:
            raise FinetuneError(
                f'{where}: expected {{"messages": [...]}} or {{"instruction", "input", "output"}}'
            )
        examples.append(Example(messages=messages, task=GENERAL, source="general"))
    return examples


def general_count(trace_count: int, ratio: float) -> int:
    """How many general examples make them `ratio` of the output beside `trace_count`."""
    if ratio <= 0 or trace_count == 0:
        return 0
    return round(trace_count * ratio / (1 - ratio))


# --- export ------------------------------------------------------------------------------------


def export_runs(out: Path, options: ExportOptions | None = None) -> ExportStats:
    """Write the training data of the selected runs to `out`; the statistics."""
    options = options or ExportOptions()
    unknown = [t for t in options.tasks if t not in SUB_TASKS]
    if unknown:
        raise FinetuneError(f"unknown sub-task {unknown[0]!r}; one of {', '.join(SUB_TASKS)}")
    if not 0 <= options.general_ratio < 1:
        raise FinetuneError("--general-ratio must be at least 0 and below 1")
    if not 0 <= options.val_share < 1:
        raise FinetuneError("--val-share must be at least 0 and below 1")
    general = read_general(options.general) if options.general is not None else []
    selected, skipped = select_runs(options)
    ensure_writable(out, "output folder")
    stats = ExportStats(out=out, runs_selected=len(selected), runs_skipped=skipped)
    invalid: Counter[str] = Counter()
    traces: list[Example] = []
    stores: dict[Path, Any] = {}
    try:
        for store_path, run in selected:
            store = stores.get(store_path) or stores.setdefault(store_path, open_store(store_path))
            examples, dropped = trace_examples(
                store.model_calls(run.run_id), store.events(run.run_id), run.run_id
            )
            invalid.update(dropped)
            traces.extend(e for e in examples if e.task in options.tasks)
    finally:
        for store in stores.values():
            store.close()
    seen: set[str] = set()
    kept: list[Example] = []
    for example in traces:
        if example.key in seen:
            stats.duplicates += 1
            continue
        seen.add(example.key)
        kept.append(example)
    fresh_general: list[Example] = []
    for example in sorted(general, key=lambda e: e.key):
        if example.key in seen:
            stats.duplicates += 1
            continue
        seen.add(example.key)
        fresh_general.append(example)
    stats.general_available = len(fresh_general)
    chosen = fresh_general[: general_count(len(kept), options.general_ratio)]
    stats.general_used = len(chosen)
    stats.invalid = dict(invalid)
    by_task: dict[str, list[Example]] = {}
    for example in [*kept, *chosen]:
        by_task.setdefault(example.task, []).append(example)
    for name in (*SUB_TASKS, GENERAL):  # an earlier export's files must not linger
        for split in ("train", "val"):
            (out / f"{name}.{split}.jsonl").unlink(missing_ok=True)
    for name in (*SUB_TASKS, GENERAL):
        examples = by_task.get(name, [])
        if not examples:
            continue
        count = stats.tasks.setdefault(name, TaskCount())
        splits: dict[str, list[Example]] = {"train": [], "val": []}
        for example in examples:
            splits["val" if in_validation(example.key, options.val_share) else "train"].append(
                example
            )
            count.examples += 1
            count.tokens += example.tokens()
        count.train, count.val = len(splits["train"]), len(splits["val"])
        for split, items in splits.items():
            if not items:
                continue
            path = out / f"{name}.{split}.jsonl"
            with path.open("w", encoding="utf-8") as fh:
                for example in items:
                    fh.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
            stats.files.append(path)
    (out / "stats.json").write_text(json.dumps(stats.to_json(), indent=1), encoding="utf-8")
    return stats


# --- reading exported data (training) ----------------------------------------------------------


def read_examples(data: Path, split: str = "train", tasks: Sequence[str] | None = None
                  ) -> list[dict[str, Any]]:  # fmt: skip
    """The exported lines of `split` ("train" / "val") in folder `data` (a JSONL file is read
    as is), optionally only `tasks`; a malformed line raises FinetuneError with its number."""
    if data.is_file():
        files = [data]
    elif data.is_dir():
        files = sorted(data.glob(f"*.{split}.jsonl"))
    else:
        raise FinetuneError(f"training data {data} does not exist")
    lines: list[dict[str, Any]] = []
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as error:
                raise FinetuneError(f"{path}:{number}: not valid JSON ({error.msg})") from None
            messages = _valid_messages(raw.get("messages") if isinstance(raw, dict) else None)
            if messages is None or len(messages) < 2 or messages[-1]["role"] != "assistant":
                raise FinetuneError(f'{path}:{number}: expected {{"messages": [..., assistant]}}')
            if tasks and raw.get("task") not in tasks:
                continue
            lines.append({**raw, "messages": messages})
    return lines
