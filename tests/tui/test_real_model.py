"""The app on the real embedded model, real corpus store, tools, LangGraph and SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Markdown, Tree

from agent import Researcher, load_settings
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tests.tui.harness import ask
from tui import WideseekApp

DOCS = [
    Document("eiffel", "The Eiffel Tower is a wrought-iron lattice tower in Paris, France. It was "
             "completed in 1889.", "https://example.org/eiffel", "Eiffel Tower"),
    Document("louvre", "The Louvre is the world's most-visited art museum, in Paris. It houses "
             "the Mona Lisa, painted by Leonardo da Vinci.", "https://example.org/louvre",
             "Louvre"),
    Document("tokyo", "Tokyo is the capital of Japan and its most populous city.",
             "https://example.org/tokyo", "Tokyo"),
]  # fmt: skip


@pytest.mark.slow
async def test_a_question_answered_by_the_embedded_model(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", corpora=["mini"],
                             **{"budget.max_steps": 2})  # fmt: skip
    CorpusStore(settings.corpus_db).add_documents("mini", DOCS)
    app = WideseekApp(settings, researcher_factory=Researcher)
    async with app.run_test(size=(80, 24)) as pilot:
        await ask(pilot, "Which museum houses the Mona Lisa?", timeout=600)
        result = app.progress.result
        assert result is not None and result.stop_reason == "answered", app.progress.errors
        assert "louvre" in result.answer.lower() and result.citations
        assert result.usage.model_calls >= 1 and app.progress.tokens > 0
        markdown = app.screen.query_one("#answer-text", Markdown).source
        assert "(cite:" in markdown and "https://example.org/louvre" in markdown
        tree = app.screen.query_one("#plan", Tree)
        assert tree.root.children, "the plan's goals are shown"
        assert "qwen2.5-coder-1.5b (embedded)" in str(app.screen.query_one("#status").render())
