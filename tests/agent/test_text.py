from __future__ import annotations

from agent.text import focus, split_sentences, without_questions

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
