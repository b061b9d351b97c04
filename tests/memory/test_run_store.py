from __future__ import annotations

from pathlib import Path

import pytest

from memory.run_store import RunStore, RunStoreError


def test_runs_and_events_round_trip(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    store.start_run("a", "first?")
    store.add_event("a", {"type": "plan", "step": 0, "time": 1.0, "data": {"x": 1}})
    store.add_event("a", {"type": "answer", "step": 1, "time": 2.0, "data": {"answer": "y"}})
    store.start_run("b", "second?")
    store.finish_run("a", "done", "y", {"answer": "y"})
    assert [e["type"] for e in store.events("a")] == ["plan", "answer"]
    assert store.events("a")[0]["data"] == {"x": 1}
    run = store.get_run("a")
    assert run is not None and run.status == "done" and run.result == {"answer": "y"}
    assert {r.run_id for r in store.list_runs()} == {"a", "b"}
    assert store.get_run("zzz") is None
    store.close()
    # reopened: nothing lost
    again = RunStore(tmp_path / "runs.db")
    assert len(again.events("a")) == 2


def test_unreadable_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(RunStoreError, match="unreadable"):
        RunStore(path)


def test_model_calls_round_trip_in_order(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    store.start_run("a", "q?")
    messages = [{"role": "system", "content": "plan"}, {"role": "user", "content": "q? é"}]
    store.add_model_call("a", "planner", "Plan", messages, '{"task_kind": "lookup"}',
                         prompt_tokens=12, completion_tokens=5)  # fmt: skip
    store.add_model_call("a", "writer", "answer", messages[:1], "Paris [1].")
    store.add_model_call("b", "writer", "answer", messages[:1], "other run")
    store.close()
    calls = RunStore(tmp_path / "runs.db").model_calls("a")
    assert [(c.seq, c.role, c.task) for c in calls] == [
        (0, "planner", "Plan"),
        (1, "writer", "answer"),
    ]
    assert calls[0].messages == messages and calls[0].output == '{"task_kind": "lookup"}'
    assert (calls[0].prompt_tokens, calls[0].completion_tokens) == (12, 5)
    assert RunStore(tmp_path / "runs.db").model_calls("zzz") == []
