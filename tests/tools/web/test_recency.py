"""Recency read off a question's wording."""

from __future__ import annotations

import pytest

from tools.web.recency import recency_from_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What happened in Paris today?", "day"),
        ("news from the last 24 hours", "day"),
        ("What changed this week in the EU AI Act?", "week"),
        ("flights in the past 7 days", "week"),
        ("Who signed this month?", "month"),
        ("What is the latest Python release?", "year"),
        ("recent papers on tool retrieval", "year"),
        ("GDP growth last year", "year"),
        ("Who won the World Cup in 2014?", None),
        ("List the past presidents of France", None),  # "past" alone is not recency
        ("the current CEO of Apple", None),  # a fact about now, not a filter on pages
        ("What is the capital of France?", None),
    ],
)
def test_recency_from_text(text: str, expected: str | None) -> None:
    assert recency_from_text(text) == expected
