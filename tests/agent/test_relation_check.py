"""The relation check: sentences whose statement offers other candidates are confirmed by the
model filling a blank; a contradicted sentence is removed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent import Researcher, ScriptedChatModel, load_settings
from agent.config import BudgetConfig, SearchConfig
from agent.grounding import check_sentence, ground_answer
from agent.llm.base import ChatModel
from agent.llm.embedded import EmbeddedChatModel
from agent.relation_check import (
    NONE,
    Cloze,
    choices,
    cloze_of,
    confirm_relations,
    contradicted,
    contradicted_claims,
)
from agent.state import RunContext
from retriever.corpus_store import CorpusStore
from retriever.types import Document
from tools.base import ToolRegistry
from tools.corpus import CorpusSearchTool, ReadDocumentTool

CREW = (
    "Ketch Marlin\nThe Ketch Marlin sailed from Easthaven in 1902. Her crew were skipper Ann "
    "Berg, navigator Tom Dahl and cook Lis Vik, all from the town."
)
HALL = (
    "Ollby Town Hall\nThe town hall of Ollby was designed by Ada Lund and Per Holm. It opened "
    "in 1911 and was rebuilt in 1956 after a fire."
)
LIGHT = (
    "Varn Point Lighthouse\nIt was first lit in 1874 and was designed by the engineer Maren Holt."
)


def cloze(sentence: str, source: str, question: str) -> Cloze | None:
    (check,) = ground_answer(sentence, {1: source}, question).kept
    return cloze_of(check, question)


def test_a_statement_naming_other_people_makes_a_cloze() -> None:
    question = "Who was the navigator of the Ketch Marlin?"
    made = cloze("The navigator of the Ketch Marlin was Ann Berg [1].", CREW, question)
    assert made is not None and not made.strict
    assert made.blanked == "The navigator of the Ketch Marlin was ___."
    assert made.own == "Ann Berg"
    assert made.options == ["Ann Berg", "Tom Dahl", "Lis Vik"]
    assert choices(made)[-1] == NONE
    assert contradicted(made, "Tom Dahl")
    assert not contradicted(made, "Ann Berg") and not contradicted(made, NONE)


def test_numbers_are_candidates_when_the_claim_is_a_number() -> None:
    question = "When did the town hall of Ollby open?"
    made = cloze("The town hall of Ollby opened in 1956 [1].", HALL, question)
    assert made is not None and made.options == ["1911", "1956"]
    assert contradicted(made, "1911")


def test_month_names_are_part_of_a_date_not_a_name() -> None:
    question = "When did the Ketch Marlin sail?"
    source = "Ketch Marlin\nThe Ketch Marlin sailed on 3 May 1902 under skipper Ann Berg."
    assert cloze("The Ketch Marlin sailed in May [1].", source, question) is None


def test_names_joined_by_and_are_one_candidate() -> None:
    # "designed by Ada Lund and Per Holm": naming one of them is not contradicted by the other
    question = "Who designed the town hall of Ollby?"
    assert cloze("The town hall of Ollby was designed by Per Holm [1].", HALL, question) is None


def test_one_candidate_is_checked_only_when_the_relation_is_not_stated() -> None:
    asked = "Who designed the Varn Point lighthouse?"
    right = "The Varn Point lighthouse was designed by Maren Holt [1]."
    assert cloze(right, LIGHT, asked) is None  # nothing else it could be: no call
    keeper = "Who was the first keeper of the Varn Point lighthouse?"
    made = cloze("The first keeper of the Varn Point lighthouse was Maren Holt [1].", LIGHT, keeper)
    assert made is not None and made.strict and made.options == ["Maren Holt"]
    assert choices(made)[0] == NONE
    assert contradicted(made, NONE) and not contradicted(made, "Maren Holt")


def context(model: ChatModel, *, relation_check: bool = True) -> RunContext:
    return RunContext(
        models={"reflector": model},
        tools=ToolRegistry([]),
        budget=BudgetConfig(),
        search=SearchConfig(relation_check=relation_check),
    )


async def test_a_contradicted_sentence_is_corrected_and_the_rest_kept() -> None:
    question = "Who was the navigator of the Ketch Marlin, and when did she sail?"
    checked = ground_answer(
        "The navigator of the Ketch Marlin was Ann Berg [1]. She sailed in 1902 [1].",
        {1: CREW},
        question,
    )
    model = ScriptedChatModel([{"fill": "Tom Dahl"}])
    confirmation = await confirm_relations(context(model), question, checked)
    corrected = "The navigator of the Ketch Marlin was Tom Dahl [1]."
    assert confirmation.checked.answer == f"{corrected} She sailed in 1902 [1]."
    assert [c.text for c in confirmation.checked.kept] == [corrected, "She sailed in 1902 [1]."]
    assert check_sentence(corrected, {1: CREW}, question).supported  # what it says, the source does
    assert confirmation.judged == [
        {"sentence": "The navigator of the Ketch Marlin was Ann Berg [1].",
         "claim": "Ann Berg", "options": ["Ann Berg", "Tom Dahl", "Lis Vik"], "pick": "Tom Dahl",
         "kept": False, "corrected": corrected}
    ]  # fmt: skip
    assert contradicted_claims(confirmation.judged) == ["Ann Berg"]  # its stored facts go
    assert confirmation.usage.calls == 1 and model.remaining == 0


async def test_a_sentence_whose_relation_the_statement_does_not_state_is_removed() -> None:
    question = "Who was the first keeper of the Varn Point lighthouse?"
    checked = ground_answer(
        "The first keeper of the Varn Point lighthouse was Maren Holt [1].", {1: LIGHT}, question
    )
    model = ScriptedChatModel([{"fill": NONE}])
    confirmation = await confirm_relations(context(model), question, checked)
    assert confirmation.checked.answer == "" and not confirmation.checked.answers
    assert confirmation.judged[0]["corrected"] is None


async def test_a_failed_check_keeps_the_sentence() -> None:
    question = "Who was the navigator of the Ketch Marlin?"
    sentence = "The navigator of the Ketch Marlin was Tom Dahl [1]."
    checked = ground_answer(sentence, {1: CREW}, question)
    model = ScriptedChatModel(["not json", "still not json", "no"])
    confirmation = await confirm_relations(context(model), question, checked)
    assert confirmation.checked.answer == checked.answer
    assert "error" in confirmation.judged[0]


@pytest.mark.slow
async def test_the_real_model_catches_a_wrong_relation(embedded_model: EmbeddedChatModel) -> None:
    """A right answer survives the check and a wrong relation does not: it is corrected to
    the candidate the statement gives (the real model)."""
    question = "Who was the navigator of the Ketch Marlin?"
    ctx = context(embedded_model)
    sentence = "The navigator of the Ketch Marlin was Tom Dahl [1]."
    right = ground_answer(sentence, {1: CREW}, question)
    wrong = ground_answer("The navigator of the Ketch Marlin was Lis Vik [1].", {1: CREW}, question)
    assert (await confirm_relations(ctx, question, right)).checked.answer == sentence
    corrected = (await confirm_relations(ctx, question, wrong)).checked
    assert "Lis Vik" not in corrected.answer
    assert corrected.answer in ("", sentence)  # corrected to the navigator, or removed


async def test_facts_of_a_contradicted_relation_leave_the_cache(tmp_path: Path) -> None:
    title, _, text = CREW.partition("\n")
    store = CorpusStore(tmp_path / "corpus.db")
    store.add_documents("c", [Document("marlin", text, "https://x/marlin", title)])
    question = "Who was the navigator of the Ketch Marlin?"
    wrong = {
        "evidence": "1.2",
        "answer": "The navigator of the Ketch Marlin was Ann Berg [1].",
        "facts": [{"subject": "Ketch Marlin", "attribute": "navigator", "value": "Ann Berg",
                   "result": 1}],
        "missing": "", "verdict": "satisfied", "next_action": "next_goal", "query": "", "read": 0,
    }  # fmt: skip
    replies: list[Any] = [wrong, {"fill": "Tom Dahl"}, "The Ketch Marlin sailed in 1902 [1]."]
    researcher = Researcher(
        load_settings(None, data_dir=tmp_path / "data", **{"knowledge.dense_facts": False}),
        models=ScriptedChatModel(replies),
        tools=ToolRegistry([CorpusSearchTool(store, ["c"]), ReadDocumentTool(store)]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    result = await researcher.arun(question)
    stored = next(e for e in result.events if e.type == "fact").data["facts"]
    assert [f["value"] for f in stored] == ["Ann Berg"]  # stored while reflecting
    assert "Ann Berg" not in result.answer
    assert researcher.knowledge is not None
    assert researcher.knowledge.facts_by_ids([stored[0]["id"]]) == []  # and taken out again
    await researcher.aclose()
