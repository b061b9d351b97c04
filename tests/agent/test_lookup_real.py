"""Lookup answers on the real embedded model over a small corpus of our own: right, cited, and
with no sentence the sources do not support."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agent import Researcher, load_settings
from agent.grounding import check_sentence, cited_numbers, split_sentences
from retriever.corpus_store import CorpusStore
from retriever.types import Document

DOCS = [
    Document("varn", "The Varn Point lighthouse stands on a granite spur north of Easthaven. It "
             "was first lit in 1874 and was designed by the engineer Maren Holt. Its lamp can be "
             "seen 22 nautical miles out to sea.", "https://example.org/varn",
             "Varn Point Lighthouse"),
    Document("ferry", "The Easthaven ferry crosses the Sound to Ollby twice a day. The crossing "
             "takes forty minutes; the ferry leaves from the north pier.",
             "https://example.org/ferry", "Easthaven Ferry"),
    Document("customs", "The old customs house of Easthaven has twelve rooms and a clock tower. "
             "It now holds the town museum.", "https://example.org/customs", "Customs House"),
]  # fmt: skip
TEXTS = {d.title: f"{d.title}\n{d.text}" for d in DOCS}
CORPUS_WORDS = {w.lower() for d in DOCS for w in re.findall(r"\w+", f"{d.title} {d.text}")}


@pytest.fixture
def researcher(tmp_path: Path) -> Researcher:
    settings = load_settings(data_dir=tmp_path / "data", corpora=["town"])
    CorpusStore(settings.corpus_db).add_documents("town", DOCS)
    return Researcher(settings)


@pytest.mark.slow
async def test_a_lookup_is_right_cited_and_supported(researcher: Researcher) -> None:
    result = await researcher.arun("When was the Varn Point lighthouse first lit?")
    await researcher.aclose()
    assert result.stop_reason == "answered"
    assert "1874" in result.answer
    assert "Varn Point Lighthouse" in [c.title for c in result.citations]
    sources = {c.n: TEXTS[c.title] for c in result.citations}
    for sentence in split_sentences(result.answer):
        assert cited_numbers(sentence), f"uncited: {sentence!r}"
        check = check_sentence(sentence, sources, "When was the Varn Point lighthouse first lit?")
        assert check.supported, (sentence, check.reason)


@pytest.mark.slow
async def test_a_question_the_corpus_cannot_answer_gets_no_invented_answer(
    researcher: Researcher,
) -> None:
    question = "Who was the first keeper of the Varn Point lighthouse?"
    result = await researcher.arun(question)
    await researcher.aclose()
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    invented = [
        name
        for name in re.findall(r"\b[A-Z][a-z]+\b", result.answer)
        if name.lower() not in CORPUS_WORDS | asked | {"the", "what", "they", "it", "its"}
    ]
    assert not invented, result.answer
    assert "not" in result.answer.lower(), result.answer  # it says what was not found
