from __future__ import annotations

from agent.citations import SourceRef, enforce_citations

NUMBERED = {
    1: SourceRef("wiki:A", "https://a", "A"),
    2: SourceRef("wiki:B", "https://b", "B"),
    3: SourceRef("wiki:C", "https://c", "C"),
}


def test_unread_and_unknown_citations_are_removed_and_rest_renumbered() -> None:
    check = enforce_citations(
        "B says x [2]. C says y [3]. Made up [7]. Both [2, 1].", NUMBERED, {"wiki:A", "wiki:B"}
    )
    assert check.answer == "B says x [1]. C says y. Made up. Both [1][2]."
    assert [(c.n, c.source_id) for c in check.citations] == [(1, "wiki:B"), (2, "wiki:A")]
    assert check.rejected == ["wiki:C", "[7]"]


def test_no_markers() -> None:
    check = enforce_citations("Plain answer.", NUMBERED, {"wiki:A"})
    assert check.answer == "Plain answer." and check.citations == []
