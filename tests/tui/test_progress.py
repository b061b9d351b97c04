"""Folding events into the live view model."""

from __future__ import annotations

from agent.events import Event
from agent.result import ResearchResult, RunUsage
from tui.progress import RunProgress

PLAN = Event(type="plan", data={"task_kind": "lookup", "sub_goals": [
    {"goal": "Find A", "evidence_needed": "a", "query": "a"},
    {"goal": "Find B", "evidence_needed": "b", "query": "b"},
]})  # fmt: skip


def reflection(goal_id: int, status: str, **extra: object) -> Event:
    return Event(type="reflection", data={"goal_id": goal_id, "goal_status": status,
                                          "evidence": "", "missing": "", **extra})  # fmt: skip


def test_goal_statuses_follow_goal_and_reflection_events() -> None:
    progress = RunProgress(question="q")
    progress.add(PLAN)
    assert [g.status for g in progress.goals.values()] == ["open", "open"]
    progress.add(Event(type="goal", data={"goal_id": 1, "goal": "Find A", "query": "a"}))
    assert progress.goals["1"].status == "active" and progress.goals["1"].queries == ["a"]
    progress.add(reflection(1, "open", missing="the year"))
    assert progress.goals["1"].status == "active" and progress.goals["1"].note == "the year"
    progress.add(reflection(1, "satisfied"))
    progress.add(Event(type="goal", data={"goal_id": 2, "goal": "Find B", "query": "b"}))
    progress.add(reflection(2, "abandoned"))
    assert [g.status for g in progress.goals.values()] == ["satisfied", "abandoned"]
    assert progress.goals["1"].note == ""


def test_usage_comes_from_the_latest_event_and_the_result() -> None:
    progress = RunProgress(question="q")
    progress.add(Event(type="tool_call", data={"tool": "search"},
                       usage={"prompt_tokens": 100, "completion_tokens": 20}))  # fmt: skip
    assert progress.tokens == 120 and progress.tool_calls == 1 and progress.running
    result = ResearchResult(
        run_id="r",
        question="q",
        answer="a",
        stop_reason="answered",
        usage=RunUsage(prompt_tokens=300, completion_tokens=50, tool_calls=2),
    )
    progress.finish(result)  # fmt: skip
    assert progress.tokens == 350 and not progress.running and progress.stop == "answered"


def test_evidence_collects_facts_recalls_and_rows_with_their_sources() -> None:
    progress = RunProgress(question="q")
    progress.add(
        Event(
            type="observation",
            data={
                "items": [
                    {
                        "source_id": "wiki:A",
                        "title": "A",
                        "url": "https://a",
                        "snippet": "A is 3 m tall.",
                    }
                ]
            },
        )
    )
    progress.add(
        Event(
            type="fact",
            data={
                "facts": [
                    {
                        "subject": "A",
                        "attribute": "height",
                        "value": "3 m",
                        "source_id": "wiki:A",
                        "title": "A",
                    }
                ]
            },
        )
    )
    progress.add(
        Event(
            type="cache_hit",
            data={
                "kind": "facts",
                "facts": [
                    {"subject": "B", "attribute": "height", "value": "4 m", "source_id": "wiki:B"}
                ],
            },
        )
    )
    progress.add(
        Event(
            type="row",
            data={
                "key": "C",
                "source_id": "wiki:C",
                "title": "C",
                "cells": {"Name": "C", "Height": ""},
            },
        )
    )
    progress.add(
        Event(
            type="row",
            data={
                "key": "D",
                "source_id": "wiki:D",
                "cells": {},
                "rejected": "a condition does not hold",
            },
        )
    )
    assert [(e.kind, e.text, e.source_id) for e in progress.evidence] == [
        ("fact", "A — height: 3 m", "wiki:A"),
        ("recalled", "B — height: 4 m", "wiki:B"),
        ("row", "C: Name: C", "wiki:C"),
    ]
    assert progress.sources["wiki:A"].passages == ["A is 3 m tall."]


def test_noted_evidence_is_attributed_to_the_result_it_cites() -> None:
    progress = RunProgress(question="q")
    progress.add(PLAN)
    progress.add(Event(type="observation", data={"items": [
        {"source_id": "wiki:A", "title": "A", "url": "https://a"},
        {"source_id": "wiki:B", "title": "B", "url": "https://b"}]}))  # fmt: skip
    progress.add(reflection(1, "satisfied", evidence="B is 4 m tall [2]"))
    assert (progress.evidence[0].source_id, progress.evidence[0].url) == ("wiki:B", "https://b")


def test_a_stored_result_replays_into_the_same_view() -> None:
    events = [PLAN, reflection(1, "satisfied", evidence="A is 3 m [1]")]
    result = ResearchResult(run_id="r1", question="q", answer="a", events=events,
                            stop_reason="answered")  # fmt: skip
    result.timings.wall_seconds = 12.5
    progress = RunProgress.of_result(result)
    assert progress.run_id == "r1" and progress.elapsed == 12.5 and not progress.running
    assert progress.goals["1"].status == "satisfied"
    assert progress.evidence[0].kind == "evidence"


def test_answer_pieces_grow_the_draft_and_are_not_steps() -> None:
    progress = RunProgress(question="q")
    progress.add(PLAN)
    for piece in ["The answer ", "is [1", "]."]:
        progress.add(Event(type="answer_delta", data={"text": piece},
                           usage={"completion_tokens": 3}))  # fmt: skip
    assert progress.draft == "The answer is [1]."
    assert progress.events == 1  # the plan only: pieces of the answer are not steps
    assert progress.tokens == 3  # but their usage totals count
