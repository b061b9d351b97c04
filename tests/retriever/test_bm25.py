"""BM25F over tool-card fields: weights, tokenising, idf and edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from retriever.bm25 import BM25FIndex, plain_tokenize, tokenize

TWO_FIELDS = [
    {"name": "weather", "description": "tool"},
    {"name": "tool", "description": "weather"},
]


def test_term_in_heavier_field_ranks_first() -> None:
    index = BM25FIndex(TWO_FIELDS, {"name": 2.0, "description": 1.0})
    ranked = index.top("weather", 5)
    assert [doc for doc, _ in ranked] == [0, 1]
    assert ranked[0][1] > ranked[1][1] > 0


def test_swapping_weights_swaps_the_ranking() -> None:
    index = BM25FIndex(TWO_FIELDS, {"name": 1.0, "description": 2.0})
    assert [doc for doc, _ in index.top("weather", 5)] == [1, 0]
    equal = BM25FIndex(TWO_FIELDS).scores("weather")
    assert equal[0] == pytest.approx(equal[1])


def test_zero_weight_field_is_not_indexed() -> None:
    index = BM25FIndex(TWO_FIELDS, {"description": 0.0})
    scores = index.scores("weather")
    assert scores[0] > 0 and scores[1] == 0


def test_camel_and_snake_case_split_and_stemmed() -> None:
    assert tokenize("getWeatherForecast") == ["weather", "forecast"]
    assert tokenize("get_weather_forecast") == ["weather", "forecast"]
    assert tokenize("weather forecasts") == ["weather", "forecast"]
    assert tokenize("HTTPServer") == ["http", "server"]
    index = BM25FIndex([{"name": "getWeatherForecast"}, {"name": "convertCurrency"}])
    ranked = index.top("weather forecasts", 5)
    assert [doc for doc, _ in ranked] == [0]


def test_stopwords_and_single_letters_dropped() -> None:
    assert tokenize("What is the weather in a city?") == ["weather", "citi"]
    index = BM25FIndex([{"text": "the weather of the city"}, {"text": "a stock quote"}])
    assert not index.scores("the of a").any()
    assert index.top("what is the", 3) == []


def test_unknown_query_gives_zeros_and_no_top() -> None:
    index = BM25FIndex([{"text": "weather forecast"}, {"text": "currency exchange"}])
    scores = index.scores("zebra xylophone")
    assert scores.shape == (2,) and scores.dtype == np.float32
    assert not scores.any()
    assert index.top("zebra xylophone", 5) == []
    assert index.query_vector("zebra") is None


def test_top_respects_k_and_positive_scores_only() -> None:
    docs = [{"text": f"weather report number {i}"} for i in range(5)] + [{"text": "stock quote"}]
    index = BM25FIndex(docs)
    assert len(index) == 6
    assert len(index.top("weather", 3)) == 3
    everything = index.top("weather", 100)
    assert len(everything) == 5 and 5 not in [doc for doc, _ in everything]
    assert index.top("weather", 0) == [] and index.top("weather", -1) == []


def test_empty_index() -> None:
    index = BM25FIndex([])
    assert len(index) == 0
    assert index.scores("weather").shape == (0,)
    assert index.top("weather", 5) == []


def test_idf_of_rare_term_exceeds_common_term() -> None:
    docs = [{"text": "weather forecast"}, {"text": "weather radar"}, {"text": "weather alerts"}]
    index = BM25FIndex(docs)
    assert index.idf("radar") > index.idf("weather") > 0
    assert index.idf("nothing") == 0.0
    assert index.vocabulary_size == 4  # weather, forecast, radar, alert


@pytest.mark.parametrize(("k1", "b"), [(-0.1, 0.4), (0.9, -0.1), (0.9, 1.5)])
def test_bad_parameters_raise(k1: float, b: float) -> None:
    with pytest.raises(ValueError, match="k1"):
        BM25FIndex([{"text": "x"}], k1=k1, b=b)


def test_plain_tokenize_keeps_stopwords_and_does_not_stem() -> None:
    assert plain_tokenize("What is the Weather forecasts?") == [
        "what",
        "is",
        "the",
        "weather",
        "forecasts",
    ]
    docs = [{"text": "the weather forecasts"}, {"text": "stock quote"}]
    index = BM25FIndex(docs, tokenizer=plain_tokenize)
    assert index.scores("the")[0] > 0
    assert not index.scores("forecast").any()  # no stemming: "forecasts" != "forecast"
    assert BM25FIndex(docs).scores("forecast")[0] > 0  # the default tokenizer stems
