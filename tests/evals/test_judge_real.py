"""The llm_judge path on a real model: the embedded default model as the judge."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from evals import ChatModelJudge, ascore_response, load_tasks, render_markdown_table

DEV = Path(__file__).resolve().parents[3] / "shared" / "bench" / "dev"


@pytest.mark.slow
@pytest.mark.skipif(not DEV.is_dir(), reason=f"{DEV} is not present")
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="no llama-cpp-python")
async def test_embedded_model_judges_an_llm_judge_column() -> None:
    from agent.llm.embedded import EmbeddedChatModel

    tasks, _ = load_tasks(DEV / "tasks.jsonl", DEV / "gold")
    task = next(
        t for t in tasks
        if any("llm_judge" in c.metric for c in t.evaluation.eval_pipeline.values())
    )  # fmt: skip
    gold = task.gold_text
    response = render_markdown_table(gold.columns, gold.rows)
    score = await ascore_response(task, None, response, ChatModelJudge(EmbeddedChatModel()))
    assert not score.judge_fallback_used  # the model judged; no deterministic stand-in
    # identical cells: a working judge accepts (nearly) all of them
    assert score.item_f1 >= 0.9, score.reason
