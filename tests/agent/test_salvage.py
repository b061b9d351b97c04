"""What is kept of a reflection whose reply was cut off."""

from __future__ import annotations

from agent.salvage import salvaged_reflection

LOOP = (
    '{"evidence": ["1.2", "2.1"], "answer": "The Orsund Bridge was designed by Mara Voss. [1.2] '
    "The bridge was designed by Mara Voss. [1.2] The bridge was designed by Mara Voss. [1.2] "
    "The bridge was designed by"
)


def test_a_looping_answer_is_kept_up_to_where_it_repeats() -> None:
    reflection = salvaged_reflection(LOOP)
    assert reflection is not None
    assert reflection.evidence == "1.2, 2.1"
    assert reflection.answer == "The Orsund Bridge was designed by Mara Voss. [1]"
    assert reflection.verdict == "satisfied" and reflection.next_action == "next_goal"
    assert reflection.facts == []


def test_an_answer_cut_in_its_first_sentence_is_no_answer() -> None:
    reflection = salvaged_reflection('{"evidence": ["3.1"], "answer": "The bridge was desig')
    assert reflection is not None
    assert reflection.answer == "" and reflection.verdict == "partial"


def test_fields_written_before_the_cut_are_kept() -> None:
    raw = (
        '{"evidence": ["1.1"], "answer": "It opened in 1962 [1].", "facts": [{"subject": '
        '"Orsund Bridge", "attribute": "opened", "value": "1962", "result": 1}, {"subject": "x"'
        '}], "missing": "", "verdict": "partial", "next_action": "sea'
    )
    reflection = salvaged_reflection(raw)
    assert reflection is not None
    assert [f.value for f in reflection.facts] == ["1962"]  # the invalid second fact dropped
    assert reflection.verdict == "partial"  # its own verdict, written before the cut
    assert reflection.next_action == "next_goal"  # cut inside: the safe move


def test_a_reply_without_evidence_is_not_salvaged() -> None:
    assert salvaged_reflection('{"evidence": [], "answer": "The bridge') is None
    assert salvaged_reflection('{"answer": "The bridge was designed by') is None
    assert salvaged_reflection("not json at all") is None
