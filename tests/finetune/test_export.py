"""`finetune export`: stored runs (a real RunStore, the agent's prompt and output shapes) ->
chat JSONL per sub-task, with selection, mixing, dedup and a stable split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune import ExportOptions, FinetuneError, export_runs, read_examples
from finetune.accepted import AcceptedRuns, accepted_path
from finetune.export import general_count, in_validation, message_hash
from memory.run_store import RunStore
from tests.finetune.traces import (
    cells_call,
    lookup_run,
    planner_call,
    reflector_call,
    table_plan_call,
    tool_choice_call,
    verdict_call,
    write_run,
    writer_call,
)


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def all_lines(out: Path) -> list[dict]:
    return [line for path in sorted(out.glob("*.jsonl")) for line in lines(path)]


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
def store(store_path: Path) -> RunStore:
    return RunStore(store_path)


def wide_run(store: RunStore, run_id: str) -> None:
    question = "List the capitals of France and Germany"
    write_run(
        store,
        run_id,
        question,
        [
            table_plan_call(question),
            verdict_call("France"),
            cells_call("France", "Paris"),
            cells_call("Germany", "Berlin"),
            writer_call(question, "| country | capital |\n|---|---|\n| France | Paris |"),
        ],
    )


def test_every_sub_task_gets_its_file_with_system_user_assistant(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    lookup_run(store, "r1")
    wide_run(store, "r2")
    stats = export_runs(tmp_path / "out", ExportOptions(store=store_path, val_share=0.0))
    out = tmp_path / "out"
    assert {p.name for p in out.glob("*.jsonl")} == {
        "planning.train.jsonl", "reflection.train.jsonl", "extraction.train.jsonl",
        "answer.train.jsonl",
    }  # fmt: skip
    assert stats.runs_selected == 2
    assert {n: c.examples for n, c in stats.tasks.items()} == {
        "planning": 2, "reflection": 1, "extraction": 3, "answer": 2,
    }  # fmt: skip
    for line in all_lines(out):
        assert [m["role"] for m in line["messages"]] == ["system", "user", "assistant"]
        assert line["source"] == "trace" and line["run_id"] in {"r1", "r2"}
        assert line["task"] in {"planning", "reflection", "extraction", "answer"}
    plan = lines(out / "planning.train.jsonl")
    assert {p["schema"] for p in plan} == {"Plan", "TablePlanReply"}
    lookup_plan = next(p for p in plan if p["schema"] == "Plan")
    assert "What is the capital of France?" in lookup_plan["messages"][1]["content"]
    assert json.loads(lookup_plan["messages"][2]["content"])["task_kind"] == "lookup"
    answers = {a["run_id"]: a["messages"][2]["content"] for a in lines(out / "answer.train.jsonl")}
    assert answers["r1"] == "The capital of France is Paris [1]."
    assert stats.total.tokens > 0 and json.loads((out / "stats.json").read_text())["runs_selected"]


def test_only_finished_runs_and_named_runs_are_exported(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    lookup_run(store, "done1", "Capital of France?")
    lookup_run(store, "late", "Capital of Spain?", status="timeout")
    lookup_run(store, "live", "Capital of Italy?", status="running")
    stats = export_runs(tmp_path / "a", ExportOptions(store=store_path))
    assert stats.runs_selected == 1
    assert stats.runs_skipped == {"not finished (timeout)": 1, "not finished (running)": 1}
    assert {line["run_id"] for line in all_lines(tmp_path / "a")} == {"done1"}
    # by id, and a run-store path as --runs
    stats = export_runs(tmp_path / "b", ExportOptions(runs=["done1,late"], store=store_path))
    assert stats.runs_selected == 1
    stats = export_runs(tmp_path / "c", ExportOptions(runs=[str(store_path)]))
    assert stats.runs_selected == 1


def test_bad_selection_is_a_clear_error(tmp_path: Path, store: RunStore, store_path: Path) -> None:
    lookup_run(store, "r1")
    with pytest.raises(FinetuneError, match="no run 'nope'"):
        export_runs(tmp_path / "o", ExportOptions(runs=["r1", "nope"], store=store_path))
    with pytest.raises(FinetuneError, match="does not exist"):
        export_runs(tmp_path / "o", ExportOptions(store=tmp_path / "missing.db"))
    with pytest.raises(FinetuneError, match="needs --eval-dir"):
        export_runs(tmp_path / "o", ExportOptions(store=store_path, min_score=0.5))
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(FinetuneError, match="not writable"):
        export_runs(blocker / "out", ExportOptions(store=store_path))


def test_duplicates_are_dropped_and_the_split_is_stable(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    for number in range(30):
        lookup_run(store, f"r{number}", f"What is the capital of country number {number}?")
    lookup_run(store, "again", "What is the capital of country number 0?")  # same prompts as r0
    first = export_runs(tmp_path / "one", ExportOptions(store=store_path, val_share=0.3))
    assert first.duplicates == 3
    total = first.total
    assert total.examples == 90 and total.train + total.val == 90
    assert 10 <= total.val <= 45  # about 30% by hash
    second = export_runs(tmp_path / "two", ExportOptions(store=store_path, val_share=0.3))
    for path in (tmp_path / "one").glob("*.jsonl"):
        assert path.read_bytes() == (tmp_path / "two" / path.name).read_bytes()
    for line in lines(tmp_path / "one" / "answer.val.jsonl"):
        assert in_validation(message_hash(line["messages"]), 0.3)
    assert second.to_json()["tasks"] == first.to_json()["tasks"]


def test_normalised_hash_ignores_case_and_whitespace() -> None:
    a = [{"role": "user", "content": "Hello   World"}, {"role": "assistant", "content": "Hi"}]
    b = [{"role": "user", "content": "hello world\n"}, {"role": "assistant", "content": " hi"}]
    c = [{"role": "user", "content": "hello world"}, {"role": "assistant", "content": "Bye"}]
    assert message_hash(a) == message_hash(b) != message_hash(c)


def test_rejected_tool_choice_is_dropped_and_its_retry_kept_with_the_first_prompt(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    question = "What is the weather in Paris today?"
    bad = {"tool": "weather_lookup", "arguments": {"town": "Paris"}}
    good = {"tool": "weather_lookup", "arguments": {"city": "Paris"}}
    event = {
        "type": "tool_choice",
        "data": {"tool": "weather_lookup", "candidates": [{"tool": "weather_lookup", "score": 1}]},
    }
    write_run(
        store,
        "w1",
        question,
        [planner_call(question), tool_choice_call(question, bad),
         tool_choice_call(question, good, retry_of=bad), writer_call(question, "Sunny [1].")],
        events=[event],
    )  # fmt: skip
    # a choice whose arguments never validated: the agent fell back to the corpus search
    write_run(
        store,
        "w2",
        "Weather in Rome?",
        [tool_choice_call("Weather in Rome?", bad)],
        events=[{**event, "data": {**event["data"], "tool": "search"}}],
    )
    stats = export_runs(tmp_path / "out", ExportOptions(store=store_path, val_share=0.0))
    assert stats.invalid == {"rejected tool choice": 2}
    (choice,) = lines(tmp_path / "out" / "tool_choice.train.jsonl")
    assert [m["role"] for m in choice["messages"]] == ["system", "user", "assistant"]
    assert json.loads(choice["messages"][2]["content"]) == good
    assert "weather_lookup" in choice["messages"][1]["content"]


def test_malformed_calls_are_counted_not_exported(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    question = "What is the capital of France?"
    role, task, prompt, _ = planner_call(question)
    write_run(
        store,
        "m1",
        question,
        [
            (role, task, prompt, "not json"),
            ("writer", "answer", prompt, "<think>hmm</think>  "),
            ("critic", "Mystery", prompt, "{}"),
            reflector_call(question),
        ],
    )
    stats = export_runs(tmp_path / "out", ExportOptions(store=store_path))
    assert stats.invalid == {
        "output is not a JSON object": 1, "empty answer": 1, "unknown task 'Mystery'": 1,
    }  # fmt: skip
    assert stats.total.examples == 1


def test_general_data_is_mixed_in_at_the_asked_share(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    for number in range(10):
        lookup_run(store, f"r{number}", f"Question number {number}?")  # 30 trace examples
    general = tmp_path / "general.jsonl"
    rows = [
        {"instruction": f"Add {n} and {n}", "input": "", "output": str(2 * n)} for n in range(20)
    ] + [
        {"messages": [{"role": "user", "content": f"Say {n}"},
                      {"role": "assistant", "content": str(n)}]}
        for n in range(20)
    ]  # fmt: skip
    rows.append(rows[0])  # a duplicate
    general.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n", encoding="utf-8")
    stats = export_runs(
        tmp_path / "out", ExportOptions(store=store_path, general=general, general_ratio=0.25)
    )
    assert stats.general_available == 40 and stats.duplicates == 1
    assert stats.general_used == general_count(30, 0.25) == 10
    mixed = [line for line in all_lines(tmp_path / "out") if line["source"] == "general"]
    assert len(mixed) == 10 and all(line["task"] == "general" for line in mixed)
    assert all(line["messages"][0]["role"] == "system" for line in mixed)
    assert stats.tasks["general"].examples / stats.total.examples == pytest.approx(0.25)
    # the same file gives the same choice
    again = export_runs(
        tmp_path / "again", ExportOptions(store=store_path, general=general, general_ratio=0.25)
    )
    assert again.general_used == 10
    assert (tmp_path / "out" / "general.train.jsonl").read_text() == (
        tmp_path / "again" / "general.train.jsonl"
    ).read_text()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "general.jsonl:2: not valid JSON"),
        ('{"messages": [{"role": "bot", "content": "x"}]}', "general.jsonl:2: messages must"),
        ('{"messages": [{"role": "user", "content": "x"}]}', "general.jsonl:2: needs a user"),
        ('{"question": "x"}', "general.jsonl:2: expected"),
        ('{"instruction": "x", "output": 3}', "general.jsonl:2: instruction, input and output"),
    ],
)
def test_a_bad_general_line_names_its_line_number(
    tmp_path: Path, store: RunStore, store_path: Path, line: str, message: str
) -> None:
    lookup_run(store, "r1")
    general = tmp_path / "general.jsonl"
    general.write_text('{"instruction": "a", "output": "b"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(FinetuneError, match=message):
        export_runs(tmp_path / "out", ExportOptions(store=store_path, general=general))


def test_accepted_runs_only(tmp_path: Path, store: RunStore, store_path: Path) -> None:
    lookup_run(store, "keep", "Question A?")
    lookup_run(store, "flagged", "Question B?", result={"accepted": True})
    lookup_run(store, "other", "Question C?")
    with AcceptedRuns(accepted_path(store_path)) as marks:
        marks.accept(["keep"], note="checked by hand")
    stats = export_runs(tmp_path / "out", ExportOptions(store=store_path, accepted_only=True))
    assert stats.runs_selected == 2 and stats.runs_skipped == {"not accepted": 1}
    assert {line["run_id"] for line in all_lines(tmp_path / "out")} == {"keep", "flagged"}


def test_sub_task_filter_and_stale_files_are_removed(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    lookup_run(store, "r1")
    out = tmp_path / "out"
    export_runs(out, ExportOptions(store=store_path, val_share=0.0))
    assert (out / "reflection.train.jsonl").exists()
    export_runs(out, ExportOptions(store=store_path, val_share=0.0, tasks=["answer"]))
    assert sorted(p.name for p in out.glob("*.jsonl")) == ["answer.train.jsonl"]
    with pytest.raises(FinetuneError, match="unknown sub-task"):
        export_runs(out, ExportOptions(store=store_path, tasks=["chitchat"]))


def test_read_examples_reads_an_export_and_names_bad_lines(
    tmp_path: Path, store: RunStore, store_path: Path
) -> None:
    lookup_run(store, "r1")
    out = tmp_path / "out"
    export_runs(out, ExportOptions(store=store_path, val_share=0.0))
    assert len(read_examples(out)) == 3
    assert [e["task"] for e in read_examples(out, tasks=["answer"])] == ["answer"]
    (out / "broken.train.jsonl").write_text('{"messages": []}\n', encoding="utf-8")
    with pytest.raises(FinetuneError, match=r"broken.train.jsonl:1"):
        read_examples(out)
    with pytest.raises(FinetuneError, match="does not exist"):
        read_examples(tmp_path / "nowhere")
