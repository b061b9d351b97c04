"""Task and gold loading: the real benchmark files and broken inputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals import GoldTable, Task, load_tasks, read_gold

SHARED = Path(__file__).resolve().parents[3] / "shared"
WIDESEARCH = SHARED / "data" / "widesearch"
DEV = SHARED / "bench" / "dev"
needs_widesearch = pytest.mark.skipif(
    not (WIDESEARCH / "widesearch.jsonl").exists(),
    reason=f"WideSearch data not found at {WIDESEARCH} (the shared/ folder beside the repo)",
)
needs_dev = pytest.mark.skipif(
    not (DEV / "tasks.jsonl").exists(), reason=f"offline dev benchmark not found at {DEV}"
)

EVALUATION = {
    "unique_columns": ["name"],
    "required": ["name", "population"],
    "eval_pipeline": {
        "name": {"preprocess": ["norm_str"], "metric": ["exact_match"]},
        "population": {
            "preprocess": ["extract_number"],
            "metric": ["number_near"],
            "criterion": 0.05,
        },
    },
}


def _line(instance_id: str, evaluation: object = None) -> str:
    ev = json.dumps(EVALUATION) if evaluation is None else evaluation
    return json.dumps(
        {"instance_id": instance_id, "query": "q", "evaluation": ev, "language": "en"}
    )


def _gold(directory: Path, instance_id: str, text: str) -> None:
    (directory / f"{instance_id}.csv").write_bytes(("\ufeff" + text).encode("utf-8"))


@needs_widesearch
def test_all_widesearch_tasks_load() -> None:
    tasks, problems = load_tasks(WIDESEARCH / "widesearch.jsonl", WIDESEARCH / "widesearch_gold")
    assert problems == []
    assert len(tasks) == 200
    assert {t.language for t in tasks} == {"en", "zh"}
    for task in tasks:
        assert task.gold is not None and task.gold_text is not None
        assert list(task.gold.columns) == task.evaluation.required
        assert task.gold_text.columns == task.evaluation.required
        assert len(task.gold_text.rows) == len(task.gold)
    judged = sum(len(t.evaluation.judge_columns) for t in tasks)
    assert judged == 558  # llm_judge columns in the published tasks


@needs_dev
def test_dev_tasks_load_with_bom_and_crlf() -> None:
    tasks, problems = load_tasks(DEV / "tasks.jsonl", DEV / "gold")
    assert problems == [] and len(tasks) == 40
    first = tasks[0]
    assert first.instance_id == "offline_dev_001"
    assert first.evaluation.required == ["package", "version", "section", "installedsize(kib)"]
    assert first.gold is not None
    assert str(first.gold["installedsize(kib)"].dtype) == "int64"  # pandas typing, as upstream
    assert first.gold_text is not None and first.gold_text.rows[0][0] == "ghemical"


def test_bad_lines_and_missing_gold_are_reported_and_skipped(tmp_path: Path) -> None:
    gold = tmp_path / "gold"
    gold.mkdir()
    _gold(gold, "ok_1", "Name,Population\r\nA,1\r\n")
    _gold(gold, "ok_2", "Name,Population\r\nB,2\r\n")
    _gold(gold, "dup", "Name,Population\r\nC,3\r\n")
    _gold(gold, "nocol", "Name,Area\r\nD,4\r\n")
    lines = [
        _line("ok_1"),
        "{not json",
        _line("bad_eval", evaluation="{oops"),
        _line("no_gold"),
        json.dumps({"instance_id": "no_query", "evaluation": json.dumps(EVALUATION)}),
        "",
        _line("dup"),
        _line("dup"),
        _line("nocol"),
        _line("ok_2", evaluation=EVALUATION),  # a plain object is accepted too
    ]
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tasks, problems = load_tasks(path, gold)
    assert [t.instance_id for t in tasks] == ["ok_1", "dup", "ok_2"]
    where = {p.where: p for p in problems}
    assert set(where) == {"line 2", "bad_eval", "no_gold", "no_query", "dup", "nocol"}
    assert where["line 2"].line == 2 and "malformed JSON" in where["line 2"].message
    assert "evaluation" in where["bad_eval"].message
    assert "not found" in where["no_gold"].message
    assert "query" in where["no_query"].message
    assert where["dup"].message == "duplicate instance_id" and where["dup"].line == 8
    assert "population" in where["nocol"].message
    assert str(where["no_gold"]).startswith("no_gold: ")


def test_gold_is_read_as_the_official_evaluator_reads_it(tmp_path: Path) -> None:
    _gold(tmp_path, "t", ' Name , Birth Year ,Note\r\nA,1983,NA\r\nB,,"x, ""y"""\r\n')
    frame = read_gold(tmp_path / "t.csv", ["name", "birthyear", "note"])
    assert list(frame.columns) == ["name", "birthyear", "note"]
    assert str(frame["birthyear"].dtype) == "float64"  # a blank makes the column float
    assert math.isnan(frame["note"][0])  # "NA" is a pandas missing value
    assert frame["note"][1] == 'x, "y"'
    table = GoldTable.from_csv(tmp_path / "t.csv").select(["name", "birthyear", "note"])
    assert table.rows == [["A", "1983", "NA"], ["B", "", 'x, "y"']]  # text as written
    with pytest.raises(ValueError, match="lacks required"):
        read_gold(tmp_path / "t.csv", ["name", "missing"])
    with pytest.raises(FileNotFoundError):
        read_gold(tmp_path / "absent.csv")


def test_task_model_parses_the_evaluation_string() -> None:
    task = Task.model_validate_json(_line("x"))
    assert task.evaluation.unique_columns == ["name"]
    assert task.evaluation.eval_pipeline["population"].criterion == 0.05
    assert task.evaluation.judge_columns == []
    with pytest.raises(ValueError):
        Task.model_validate_json(_line("../escape"))


def test_load_tasks_without_gold_dir(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(_line("a") + "\n", encoding="utf-8")
    tasks, problems = load_tasks(path, None)
    assert problems == [] and tasks[0].gold is None
