"""Rewriting a request for tool retrieval: inline data out, one segment per need."""

from __future__ import annotations

from retriever.tool_query import MAX_SEGMENTS, rewrite_tool_query


def test_inline_input_removed() -> None:
    rewritten = rewrite_tool_query("Translate this text to French. ###Input: Bonjour le monde")
    assert rewritten.text == "Translate this text to French"
    assert "###" not in rewritten.text and "Bonjour" not in rewritten.text
    assert rewritten.segments == []


def test_inline_output_removed_case_insensitively() -> None:
    rewritten = rewrite_tool_query("Classify the sentiment of reviews ### output: positive")
    assert rewritten.text == "Classify the sentiment of reviews"


def test_urls_removed() -> None:
    rewritten = rewrite_tool_query(
        "Summarize the article at https://example.com/news/123?id=4 and www.foo.org/x for me"
    )
    assert "http" not in rewritten.text and "example.com" not in rewritten.text
    assert "www" not in rewritten.text and "foo.org" not in rewritten.text
    assert rewritten.text.startswith("Summarize the article at")
    assert "  " not in rewritten.text  # whitespace collapsed where the URLs were


def test_multi_need_request_is_split_into_segments() -> None:
    rewritten = rewrite_tool_query(
        "Convert 100 USD to EUR. Additionally, generate a QR code for my website."
    )
    assert rewritten.segments == ["Convert 100 USD to EUR", "generate a QR code for my website"]
    assert "Additionally" not in rewritten.text
    assert "USD" in rewritten.text and "QR code" in rewritten.text


def test_also_clause_splits_one_sentence() -> None:
    rewritten = rewrite_tool_query(
        "I need to book a hotel in Rome and also find flights from Berlin to Rome"
    )
    assert len(rewritten.segments) == 2
    assert rewritten.segments[0] == "book a hotel in Rome"  # boilerplate and the "and" stripped
    assert rewritten.segments[1] == "find flights from Berlin to Rome"


def test_single_need_request_has_no_segments() -> None:
    rewritten = rewrite_tool_query("What is the weather going to be in Paris tomorrow?")
    assert rewritten.segments == []
    assert rewritten.text == "What is the weather going to be in Paris tomorrow?"


def test_goal_is_added_as_a_segment() -> None:
    rewritten = rewrite_tool_query(
        "What is the weather in Paris today", goal="find the Paris weather forecast"
    )
    assert rewritten.segments == [
        "What is the weather in Paris today",
        "find the Paris weather forecast",
    ]


def test_goal_equal_to_request_is_not_repeated() -> None:
    rewritten = rewrite_tool_query(
        "Find the Paris weather forecast", goal="find the paris weather forecast"
    )
    assert rewritten.segments == []


def test_goal_follows_the_request_segments() -> None:
    rewritten = rewrite_tool_query(
        "Convert 100 USD to EUR. Also generate a QR code for my site.",
        goal="pay the invoice abroad",
    )
    assert rewritten.segments[-1] == "pay the invoice abroad"
    assert len(rewritten.segments) == 3


def test_boilerplate_stripped() -> None:
    assert (
        rewrite_tool_query("What is an API that can be used to classify images of cats?").text
        == "classify images of cats?"
    )
    assert (
        rewrite_tool_query("Can you provide me with the latest stock price of Apple").text
        == "the latest stock price of Apple"
    )


def test_boilerplate_kept_when_stripping_leaves_under_three_words() -> None:
    query = "What is an API that can be used to translate text?"
    assert rewrite_tool_query(query).text == query


def test_segments_capped() -> None:
    query = ". ".join(f"Book hotel number {n}" for n in range(10)) + "."
    rewritten = rewrite_tool_query(query)
    assert len(rewritten.segments) == MAX_SEGMENTS
    assert rewritten.segments[0] == "Book hotel number 0"


def test_short_request_kept_as_is() -> None:
    assert rewrite_tool_query("  hi  ").text == "hi"
    assert rewrite_tool_query("weather").segments == []
