from __future__ import annotations

from agent.text import (
    focus,
    focused_sentences,
    split_sentences,
    until_repeating,
    with_marker,
    without_questions,
)

PAGE = (
    "The Orsund Bridge is a suspension bridge over the Orsund strait. "
    "The Orsund Bridge carries four lanes of road traffic and a cycle path. "
    "The bridge was designed by the engineer Mara Voss and opened in 1962. "
    "The Orsund Bridge was the longest suspension bridge in the region until 1981, when the "
    "Kelby crossing opened further north along the Orsund strait. "
    "Tolls on the Orsund Bridge were abolished in 2004."
)


def test_focus_keeps_short_text_whole() -> None:
    assert focus("One sentence.  Two.", "anything", 100) == "One sentence. Two."


def test_focus_prefers_the_asked_relation_over_the_subjects_name() -> None:
    """Every sentence of a page names its subject; the one with the asked relation
    ("designed") is the one to keep, though it names the subject less often."""
    shown = focus(PAGE, "Who designed the Orsund Bridge? Orsund Bridge designed", 180)
    assert "designed by the engineer Mara Voss" in shown
    assert len(shown) <= 180 + 4  # the cut marks
    assert shown.endswith("…")


def test_focus_keeps_sentence_order_and_marks_cuts() -> None:
    shown = focus(PAGE, "Orsund Bridge tolls abolished", 200)
    kept = [s for s in split_sentences(shown.replace(" … ", " ").strip(" …"))]
    assert kept == sorted(kept, key=PAGE.index)
    assert "Tolls on the Orsund Bridge were abolished in 2004." in shown
    assert "…" in shown


def test_without_questions_keeps_only_statements() -> None:
    draft = "Which engineer designed it? The bridge was designed by Mara Voss [1]."
    assert without_questions(draft) == "The bridge was designed by Mara Voss [1]."
    assert without_questions("Who designed it?") == ""
    assert without_questions("It opened in 1962 [2].") == "It opened in 1962 [2]."


def test_until_repeating_stops_at_a_sentence_copied_again() -> None:
    looping = (
        "The crossing takes 40 minutes. [1] The crossing takes 40 minutes [1]. A minute is 60 s."
    )
    assert until_repeating(looping) == "The crossing takes 40 minutes. [1]"
    two_asks = "It opened in 1962 [1]. It was designed by Mara Voss [1]."
    assert until_repeating(two_asks) == two_asks


def test_a_heading_block_above_a_paragraph_is_one_unit() -> None:
    page = (
        "Orsund Bridge\nShort description: A bridge\nTopic: Roads\n\nIt opened in 1962. It is long."
    )
    assert focused_sentences(page, "opened", 1000) == [
        "Orsund Bridge Short description: A bridge Topic: Roads",
        "It opened in 1962.",
        "It is long.",
    ]
    labels = "Capital: Oslo\nPopulation: 700,000\nMayor: Ada Lund"  # no paragraph: each its own
    assert focused_sentences(labels, "mayor", 1000) == labels.splitlines()


def test_with_marker_puts_the_citation_before_the_stop() -> None:
    assert with_marker("It opened in 1962.", "[2]") == "It opened in 1962 [2]."
    assert with_marker("Was it 1962?", "[1][3]") == "Was it 1962 [1][3]?"
    assert with_marker("Keeper: Mara Voss", "[1]") == "Keeper: Mara Voss [1]."
    assert with_marker("It opened in 1962.", "") == "It opened in 1962."
