"""The lookup path as it runs by default: a one-fact question is searched in its own words, the
reflection that settles it drafts the answer, and every answer is held against its sources."""

from __future__ import annotations

from pathlib import Path

from agent import Researcher, ScriptedChatModel, load_settings
from agent.graph import NOT_ANSWERED
from agent.llm import CutOff
from tests.agent.fakes import Read, WordSearch
from tests.agent.test_graph import SATISFIED
from tools.base import ToolRegistry

SETTLED = {
    **SATISFIED,
    "evidence": "Paris is the capital and largest city of France [1]",
    "answer": "The capital of France is Paris [1].",
}


def make(tmp_path: Path, replies: list) -> tuple[Researcher, ScriptedChatModel, WordSearch]:
    model = ScriptedChatModel(replies)
    search = WordSearch()
    researcher = Researcher(
        load_settings(**{"budget.max_attempts_per_goal": 1}),
        models=model,
        tools=ToolRegistry([search, Read()]),
        checkpoint_path=tmp_path / "ckpt.db",
    )
    return researcher, model, search


async def test_one_fact_question_needs_one_model_call(tmp_path: Path) -> None:
    researcher, model, search = make(tmp_path, [SETTLED])
    streamed = [e async for e in researcher.astream("What is the capital of France?")]
    events = [e for e in streamed if e.type != "answer_delta"]
    assert [e.type for e in events] == ["plan", "goal", "tool_call", "observation",
                                        "reflection", "answer"]  # fmt: skip
    plan = events[0].data
    assert plan["planned_by"] == "question" and plan["sub_goals"][0]["query"] == "capital France"
    assert search.queries == ["capital France"]
    answer = events[-1].data
    assert answer["answer"] == "The capital of France is Paris [1]."
    assert answer["grounding"]["drafted"] is True
    assert answer["citations"][0]["source_id"] == "wiki:Paris"
    # the drafted answer streams in one piece; one model call in all (no planner, no writer)
    assert [e.data["text"] for e in streamed if e.type == "answer_delta"] == [answer["answer"]]
    assert len(model.calls) == 1 and model.remaining == 0


async def test_a_draft_no_source_supports_goes_to_the_writer(tmp_path: Path) -> None:
    invented = {**SETTLED, "answer": "The capital of France is Lyon, since 1999 [1]."}
    researcher, model, _ = make(tmp_path, [invented, "Paris is the capital of France [1]."])
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital of France [1]."
    assert len(model.calls) == 2  # the reflection, then the writer from the notes
    assert "Lyon" not in result.answer


async def test_a_failed_draft_gives_way_to_the_sentence_that_states_its_fact(
    tmp_path: Path,
) -> None:
    # the draft is wrong and the fact cites the wrong result (3: Berlin), yet result 1 states
    # the fact: that sentence, word for word, is the answer, and no writer is called
    garbled = {
        **SETTLED,
        "answer": "The capital of France is Lyon [1].",
        "facts": [{"subject": "France", "attribute": "capital", "value": "Paris", "result": 3}],
    }
    researcher, model, _ = make(tmp_path, [garbled])
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital and largest city of France [1]."
    assert [c.source_id for c in result.citations] == ["wiki:Paris"]
    assert len(model.calls) == 1


async def test_a_draft_that_misses_the_fact_it_read_gives_way_to_the_facts_sentence(
    tmp_path: Path,
) -> None:
    # the draft is true but beside the point; the reflection's fact is what was asked
    beside = {
        **SETTLED,
        "answer": "France is a country in Western Europe [2].",
        "facts": [{"subject": "France", "attribute": "capital", "value": "Paris", "result": 1}],
    }
    researcher, model, _ = make(tmp_path, [beside])
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital and largest city of France [1]."
    assert len(model.calls) == 1


async def test_a_bare_name_as_draft_gives_way_to_the_facts_sentence(tmp_path: Path) -> None:
    bare = {
        **SETTLED,
        "answer": "Paris [1]",
        "facts": [{"subject": "France", "attribute": "capital", "value": "Paris", "result": 1}],
    }
    researcher, _, _ = make(tmp_path, [bare])
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital and largest city of France [1]."


async def test_a_reflection_cut_off_while_repeating_itself_still_answers(tmp_path: Path) -> None:
    looping = (
        '{"evidence": ["1.1"], "answer": "Paris is the capital and largest city of France. '
        "[1.1] Paris is the capital of France. [1.1] Paris is the capital of France. [1.1] Paris"
    )
    researcher, model, _ = make(tmp_path, [CutOff(looping)])
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital and largest city of France. [1]"
    assert len(model.calls) == 1  # not asked again, and no writer
    assert not [e for e in result.events if e.type == "error"]


async def test_unsupported_sentences_are_removed_from_the_written_answer(tmp_path: Path) -> None:
    researcher, _, _ = make(
        tmp_path,
        [
            {**SETTLED, "answer": ""},
            "Paris is the capital of France [1]. It was founded by Julius Caesar in 52 BC [1]. "
            "The Eiffel Tower opened in 1889.",
        ],
    )
    result = await researcher.arun("What is the capital of France?")
    assert result.answer == "Paris is the capital of France [1]."
    (grounding,) = [e for e in result.events if e.type == "grounding"]
    reasons = [r["reason"] for r in grounding.data["removed"]]
    assert len(reasons) == 2 and "number 52" in reasons[0]
    assert "cites no source" in reasons[1]


async def test_an_answer_no_source_supports_says_what_was_not_found(tmp_path: Path) -> None:
    unsettled = {
        **SETTLED,
        "answer": "",
        "missing": "who designed the city walls",
        "verdict": "partial",
        "next_action": "next_goal",
    }
    researcher, _, _ = make(
        tmp_path, [unsettled, "The walls of Paris were designed by Jean Mercier [1]."]
    )
    result = await researcher.arun("Who designed the walls of Paris?")
    # the invented name is never shown; what the sources do show is, with its citation
    assert "Mercier" not in result.answer
    assert result.answer.startswith(NOT_ANSWERED.removesuffix("."))
    assert "Paris is the capital and largest city of France [1]" in result.answer
    assert [c.source_id for c in result.citations] == ["wiki:Paris"]


async def test_evidence_named_by_sentence_number_is_quoted_and_kept(tmp_path: Path) -> None:
    # sentences of three results: quoted word for word, so no result needs to hold them all
    named = {**SETTLED, "evidence": ["1.1", "2.1", "3.1"]}
    researcher, _, _ = make(tmp_path, [named])
    result = await researcher.arun("What is the capital of France?")
    (reflection,) = [e.data for e in result.events if e.type == "reflection"]
    assert reflection["goal_status"] == "satisfied" and reflection["evidence_support"] == 1.0
    assert reflection["evidence"].count("[") == 3  # each sentence with its result's marker
    assert "Berlin is the capital of Germany." in reflection["evidence"]
    assert result.answer == "The capital of France is Paris [1]."


TWO_GOALS = {
    "task_kind": "lookup",
    "sub_goals": [
        {"goal": "Find the capital of France", "evidence_needed": "its name",
         "query": "capital France"},
        {"goal": "Find the capital of Atlantis", "evidence_needed": "its name",
         "query": "Atlantis"},
    ],
    "columns": [],
}  # fmt: skip


async def test_what_was_found_and_what_was_not_without_a_writer(tmp_path: Path) -> None:
    # goal 1 settled with a draft; nothing at all found for goal 2 (no results): the answer
    # is the draft and says what was not found; no writer call
    researcher, model, _ = make(tmp_path, [TWO_GOALS, SETTLED])
    result = await researcher.arun("Which is larger, the capital of France or of Atlantis?")
    assert result.answer == (
        "The capital of France is Paris [1]. "
        "Not found in the sources I read: Find the capital of Atlantis."
    )
    assert [c.source_id for c in result.citations] == ["wiki:Paris"]
    assert len(model.calls) == 2 and model.remaining == 0  # planner, one reflection


async def test_drafts_stand_in_when_the_written_answer_holds_nothing(tmp_path: Path) -> None:
    # goal 2 has noted evidence but no draft, so the writer is asked; its answer is invented
    # and removed, and the checked draft of goal 1 is what the answer keeps
    partial = {
        **SETTLED,
        "evidence": "Berlin is the capital of Germany [1]",
        "answer": "",
        "verdict": "partial",
        "next_action": "next_goal",
    }
    goals = TWO_GOALS["sub_goals"]
    plan = {**TWO_GOALS, "sub_goals": [goals[0], {**goals[1], "query": "Germany"}]}
    researcher, model, _ = make(
        tmp_path, [plan, SETTLED, partial, "Atlantis has 4 million people [2]."]
    )
    result = await researcher.arun("Which is larger, the capital of France or of Atlantis?")
    assert result.answer == (
        "The capital of France is Paris [1]. "
        "Not found in the sources I read: Find the capital of Atlantis."
    )
    assert "million" not in result.answer and model.remaining == 0


async def test_two_asks_about_one_subject_need_no_planner(tmp_path: Path) -> None:
    both = {**SETTLED, "answer": "Paris is the capital and largest city of France [1]."}
    researcher, model, search = make(tmp_path, [both])
    result = await researcher.arun("Which city is the capital of France, and how large is it?")
    plan = next(e.data for e in result.events if e.type == "plan")
    assert plan["planned_by"] == "question" and len(plan["sub_goals"]) == 1
    assert result.answer == "Paris is the capital and largest city of France [1]."
    assert len(model.calls) == 1 and len(search.queries) == 1
