"""Which questions ask one fact (searched in their own words, no planner call)."""

from __future__ import annotations

import pytest

from agent.question_shape import one_fact


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
