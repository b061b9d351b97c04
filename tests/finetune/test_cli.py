"""`wideseek finetune ...` through typer (the sub-app as the main CLI registers it): the
statistics table, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from memory.run_store import RunStore
from tests.finetune.traces import lookup_run
from wideseek.finetune_cli import finetune_app

app = typer.Typer()
app.add_typer(finetune_app, name="finetune")
runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, ["finetune", *args], catch_exceptions=False)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    runs = RunStore(path)
    lookup_run(runs, "r1", "What is the capital of France?")
    lookup_run(runs, "r2", "What is the capital of Spain?")
    runs.close()
    return path


def assert_one_line_error(result: Any, text: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], lines


def test_export_prints_the_statistics(tmp_path: Path, store: Path) -> None:
    result = invoke("export", "--runs", "all", "--store", str(store), "--out",
                    str(tmp_path / "out"), "--val-share", "0")  # fmt: skip
    assert result.exit_code == 0, result.output
    for word in ("planning", "reflection", "answer", "total", "runs: 2 used", "0 duplicates"):
        assert word in result.output
    assert (tmp_path / "out" / "answer.train.jsonl").exists()
    as_json = invoke("export", "--runs", "r1", "--store", str(store), "--out",
                     str(tmp_path / "o2"), "--json")  # fmt: skip
    stats = json.loads(as_json.output.strip().splitlines()[-1])
    assert stats["runs_selected"] == 1 and stats["total"]["examples"] == 3


def test_the_default_store_comes_from_the_settings(tmp_path: Path) -> None:
    from agent.config import load_settings

    runs = RunStore(load_settings().runs_db)  # WIDESEEK_DATA_DIR is a temp dir in tests
    lookup_run(runs, "d1")
    runs.close()
    result = invoke("export", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0 and "runs: 1 used" in result.output


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--store", "{tmp}/missing.db"], "run store"),
        (["--runs", "r1,nope"], "no run 'nope'"),
        (["--min-score", "0.5"], "--min-score needs --eval-dir"),
        (["--min-score", "0.5", "--eval-dir", "{tmp}"], "has no results.jsonl"),
        (["--general", "{tmp}/bad.jsonl"], "bad.jsonl:2: not valid JSON"),
        (["--general-ratio", "1.5"], "--general-ratio"),
        (["--task", "chitchat"], "unknown sub-task"),
    ],
)
def test_bad_export_input_is_one_line_and_exit_2(
    tmp_path: Path, store: Path, args: list[str], text: str
) -> None:
    (tmp_path / "bad.jsonl").write_text('{"instruction": "a", "output": "b"}\n{oops\n')
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--store" not in args:
        args += ["--store", str(store)]
    result = invoke("export", "--out", str(tmp_path / "out"), *args)
    assert_one_line_error(result, text)


def test_an_unwritable_output_folder_is_one_line(tmp_path: Path, store: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = invoke("export", "--store", str(store), "--out", str(blocker / "out"))
    assert_one_line_error(result, "not writable")


def test_accept_then_export_only_accepted(tmp_path: Path, store: Path) -> None:
    result = invoke("accept", "r2", "--store", str(store), "--note", "good answer")
    assert result.exit_code == 0 and "accepted 1 run" in result.output
    listed = invoke("accept", "--list", "--store", str(store))
    assert "r2" in listed.output and "good answer" in listed.output
    assert_one_line_error(invoke("accept", "zzz", "--store", str(store)), "no run 'zzz'")
    result = invoke("export", "--accepted", "--store", str(store), "--out", str(tmp_path / "o"),
                    "--json")  # fmt: skip
    stats = json.loads(result.output.strip().splitlines()[-1])
    assert stats["runs_selected"] == 1 and stats["runs_skipped"] == {"not accepted": 1}
    assert invoke("accept", "r2", "--undo", "--store", str(store)).exit_code == 0
    result = invoke("export", "--accepted", "--store", str(store), "--out", str(tmp_path / "o"),
                    "--json")  # fmt: skip
    assert json.loads(result.output.strip().splitlines()[-1])["runs_selected"] == 0


def test_training_without_the_extra_says_how_to_install(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "trl" else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for command in ("sft", "grpo"):
        result = invoke(command, "--base", "smollm2-135m", "--data", str(tmp_path),
                        "--out", str(tmp_path / "adapter"))  # fmt: skip
        assert_one_line_error(result, "install with: pip install 'wideseek[train]'")


def test_training_input_errors_are_one_line(tmp_path: Path, store: Path) -> None:
    data = tmp_path / "data"
    assert invoke("export", "--store", str(store), "--out", str(data)).exit_code == 0
    result = invoke("sft", "--base", str(tmp_path / "no-model"), "--data", str(data),
                    "--out", str(tmp_path / "a"))  # fmt: skip
    assert_one_line_error(result, "neither a Hugging Face model folder")
    result = invoke("sft", "--base", "smollm2-135m", "--data", str(tmp_path / "none"),
                    "--out", str(tmp_path / "a"))  # fmt: skip
    assert_one_line_error(result, "does not exist")
    plans = tmp_path / "plans"
    assert invoke("export", "--store", str(store), "--out", str(plans), "--task",
                  "planning").exit_code == 0  # fmt: skip
    result = invoke("grpo", "--base", "smollm2-135m", "--data", str(plans),
                    "--out", str(tmp_path / "g"))  # fmt: skip
    assert_one_line_error(result, "no tool_choice or answer examples")
    result = invoke("grpo", "--base", "smollm2-135m", "--data", str(data), "--out",
                    str(tmp_path / "g"), "--weights", "speed=2")  # fmt: skip
    assert_one_line_error(result, "unknown reward weight")
    (tmp_path / "a" / "checkpoints" / "checkpoint-3").mkdir(parents=True)
    (tmp_path / "a" / "checkpoints" / "checkpoint-3" / "trainer_state.json").write_text("{}")
    result = invoke("sft", "--base", "smollm2-135m", "--data", str(data),
                    "--out", str(tmp_path / "a"))  # fmt: skip
    assert_one_line_error(result, "pass --resume")
