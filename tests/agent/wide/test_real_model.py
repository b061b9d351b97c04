"""Wide research on the real embedded model (planner, extractor), real corpus store and tools."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent import Researcher, load_settings
from tests.agent.wide.corpus import build
from tests.agent.wide.test_nodes import QUESTION
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool


@pytest.mark.slow
async def test_wide_question_on_the_embedded_model(tmp_path: Path) -> None:
    store = build(tmp_path)
    researcher = Researcher(
        load_settings(data_dir=tmp_path / "data"),
        tools=ToolRegistry([CorpusSearchTool(store), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    try:
        result = await researcher.arun(QUESTION)
    finally:
        await researcher.aclose()
    assert result.stop_reason == "answered", result.answer
    assert result.table_columns == ["River", "Length (km)", "Mouth"]
    fence = re.search(r"```markdown\n(.*?)\n```", result.answer, re.S)
    assert fence and fence.group(1).splitlines()[0] == "| River | Length (km) | Mouth |"
    rivers = {row["River"]: row for row in result.table or []}
    assert len({"Danube", "Rhine", "Elbe", "Volga"} & set(rivers)) >= 3, result.answer
    assert not {"Nile", "Congo", "Thames", "Seine"} & set(rivers), result.answer
    for name, length in (("Danube", "2850"), ("Volga", "3530")):
        if name in rivers:
            assert rivers[name]["Length (km)"] == length
    plan = next(e.data for e in result.events if e.type == "table_plan")
    assert plan["source"] == "model" and plan["conditions"]
    assert any(e.type == "row" for e in result.events)
    assert result.usage.model_calls >= 1  # the plan; labelled cells need no call
