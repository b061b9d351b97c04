"""Which questions ask one fact (searched in their own words, no planner call)."""

from __future__ import annotations

import pytest

from agent.question_shape import one_fact, one_subject


@pytest.mark.parametrize(
    "question",
    [
        "Which harbour does the Varn Point ferry leave from?",
        "When was the Easthaven lighthouse first lit?",
        "How many rooms does the old customs house have?",
        "Who designed the town hall of Ollby?",
        "what is the default port of the staging server",
        "In which year did the guild move its archive?",
    ],
)
def test_one_fact_questions(question: str) -> None:
    assert one_fact(question)


@pytest.mark.parametrize(
    "question",
    [
        # two asks joined
        "Who designed the town hall of Ollby, and when was it built?",
        "Which ferry goes to Ollby and how long does it take?",
        # comparisons
        "Which is older, the lighthouse or the customs house?",
        "Is the Sound deeper than the harbour?",
        # several answers or a list
        "Which harbours does the ferry call at?",
        "List the guilds of Easthaven with their founding years.",
        "Name every lighthouse on the coast.",
        # two sentences
        "Which bridge is longest? Give its length.",
        # long questions are planned
        "What was the name of the engineer who in the spring after the great storm of the "
        "century rebuilt the harbour wall at the north end of the town?",
        "",
    ],
)
def test_questions_that_are_planned(question: str) -> None:
    assert not one_fact(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who designed the town hall of Ollby, and when was it built?",
        "Which ferry goes to Ollby and how long does it take?",
        "Which guild built the customs house, and for whose use was it built?",
        "Give the builder of the Easthaven lighthouse and the year it was first lit.",
        "When did the harbour wall collapse? Give the full date.",
        "Who founded the guild?",
    ],
)
def test_questions_about_one_subject(question: str) -> None:
    assert one_subject(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who designed the town hall of Ollby and the museum of Easthaven?",
        "Who founded the guild and its rival?",
        "Which is older, the lighthouse or the customs house? Give the year of each.",
        "Is the Sound deeper than the harbour?",
        "Which harbours does the ferry call at, and when?",
        "When did the wall collapse? Compare it with the pier.",
        "List the guilds of Easthaven with their founding years.",
        "",
    ],
)
def test_questions_about_several_subjects_are_planned(question: str) -> None:
    assert not one_subject(question)
