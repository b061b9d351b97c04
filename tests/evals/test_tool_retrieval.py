"""The tool-retrieval benchmark's scoring on tiny hand-made sets (BM25 only: no encoder)."""

from __future__ import annotations

import pytest

from evals.tool_retrieval import MethodScore, evaluate_set
from evals.toolret import ToolQuery, ToolRetrievalSet
from tools.cards import ToolCard

CARDS = [
    ToolCard(name="weather_forecast", description="temperature rain wind forecast for a city"),
    ToolCard(name="currency_converter", description="convert money between currencies"),
    ToolCard(name="hotel_booking", description="reserve a hotel room"),
    ToolCard(name="flight_search", description="find flights between airports"),
    ToolCard(name="stock_quote", description="share price of a listed company"),
    ToolCard(name="qr_generator", description="make a qr code image from a link"),
    ToolCard(name="translator", description="translate text into another language"),
]
IDS = ["weather", "fx", "hotel", "flights", "stocks", "qr", "translate"]
# six look-alikes that share words with the "hard" queries below, so a miss is out of the top 5
DISTRACTORS = [
    ToolCard(name=f"outdoor_sensor_{n}", description=f"hot or cold air outside, sensor {n}")
    for n in range(6)
]


def tool_set(test: list[ToolQuery]) -> ToolRetrievalSet:
    ids = [*IDS, *(c.name for c in DISTRACTORS)]
    return ToolRetrievalSet("tiny", ids, [*CARDS, *DISTRACTORS], test)


def q(text: str, *relevant: str) -> ToolQuery:
    return ToolQuery(text, text, frozenset(relevant))


EASY = [
    q("weather forecast for Oslo", "weather"),
    q("convert money from dollars", "fx"),
    q("reserve a hotel room in Rome", "hotel"),
    q("flights to Madrid", "flights"),
    q("qr code for my link and translate this text", "qr", "translate"),
]


def test_bm25_only_without_an_encoder() -> None:
    hard = [*EASY, q("how hot is it outside", "weather"), q("hot air outside", "stocks")]
    results = evaluate_set(tool_set(hard), None)
    assert list(results) == ["bm25"]
    score = results["bm25"]
    assert isinstance(score, MethodScore)
    for value in (score.recall_at_5, score.ndcg_at_10):
        assert 0 <= value <= 100
    # the two queries without a shared word miss: 5 of 7 queries found
    assert score.recall_at_5 == pytest.approx(100 * 5 / 7)
    assert score.ms_per_query >= 0


def test_perfect_bm25_scores_one_hundred() -> None:
    score = evaluate_set(tool_set(EASY), None)["bm25"]
    assert score.recall_at_5 == pytest.approx(100.0)
    assert score.ndcg_at_10 == pytest.approx(100.0)
    assert score.as_json(timed=False) == {"recall@5": 100.0, "ndcg@10": 100.0}
    assert set(score.as_json(timed=True)) == {"recall@5", "ndcg@10", "ms_per_query"}


def test_bm25_is_the_plain_baseline_without_stemming() -> None:
    # "forecasts" does not match "forecast": the baseline does not stem, so the sensors that
    # share "outside" fill the top 5
    score = evaluate_set(tool_set([q("forecasts outside", "weather")]), None)["bm25"]
    assert score.recall_at_5 == 0.0
    assert (
        evaluate_set(tool_set([q("forecast outside", "weather")]), None)["bm25"].recall_at_5 == 100
    )


def test_methods_and_progress() -> None:
    assert evaluate_set(tool_set(EASY), None, methods=()) == {}
    calls: list[tuple[str, int]] = []
    advanced: list[int] = []

    def progress(label: str, total: int):  # type: ignore[no-untyped-def]
        calls.append((label, total))
        return advanced.append

    evaluate_set(tool_set(EASY), None, progress=progress)
    assert calls == [("tiny: bm25", len(EASY))]
    assert sum(advanced) == len(EASY)
