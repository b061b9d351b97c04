"""Recall@k and NDCG@k with binary relevance, computed by hand."""

from __future__ import annotations

import math

import pytest

from evals.tool_metrics import ndcg_at, recall_at


def test_perfect_ranking_scores_one() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, {"a", "b"}, 5) == 1.0
    assert ndcg_at(ranked, {"a", "b"}, 10) == pytest.approx(1.0)
    assert ndcg_at(ranked, {"a"}, 1) == pytest.approx(1.0)


def test_relevant_at_rank_two() -> None:
    ranked = ["x", "a", "y"]
    assert recall_at(ranked, {"a"}, 1) == 0.0
    assert recall_at(ranked, {"a"}, 2) == 1.0
    assert ndcg_at(ranked, {"a"}, 1) == 0.0
    assert ndcg_at(ranked, {"a"}, 10) == pytest.approx(1 / math.log2(3))  # 0.6309


def test_two_relevant_one_found_late() -> None:
    ranked = ["a", "x", "y", "b"]
    relevant = {"a", "b"}
    assert recall_at(ranked, relevant, 3) == 0.5
    assert recall_at(ranked, relevant, 4) == 1.0
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at(ranked, relevant, 3) == pytest.approx(1 / ideal)
    assert ndcg_at(ranked, relevant, 4) == pytest.approx((1 + 1 / math.log2(5)) / ideal)


def test_duplicates_in_ranking_count_once() -> None:
    ranked = ["a", "a", "b"]
    relevant = {"a", "b"}
    assert recall_at(ranked, relevant, 2) == 0.5
    assert recall_at(ranked, relevant, 3) == 1.0
    # dcg: 1 (a at rank 1) + 0 (a again) + 1/log2(4) (b at rank 3)
    expected = (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert ndcg_at(ranked, relevant, 3) == pytest.approx(expected)
    assert ndcg_at(["a", "a", "a"], {"a"}, 3) == pytest.approx(1.0)  # never above 1


def test_more_relevant_than_k() -> None:
    assert recall_at(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(2 / 3)
    assert ndcg_at(["a", "b"], {"a", "b", "c"}, 2) == pytest.approx(1.0)  # ideal has only k slots


def test_nothing_relevant_or_found() -> None:
    assert recall_at(["a", "b"], set(), 5) == 0.0
    assert ndcg_at(["a", "b"], set(), 5) == 0.0
    assert recall_at([], {"a"}, 5) == 0.0
    assert ndcg_at([], {"a"}, 5) == 0.0
    assert recall_at(["x", "y"], ["a"], 5) == 0.0  # relevant may be any collection
