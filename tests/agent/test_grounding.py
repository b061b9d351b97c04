"""The support check: sentences held against the passages they cite."""

from __future__ import annotations

from agent.grounding import check_sentence, ground_answer, split_sentences

LIGHTHOUSE = (
    "The Varn Point lighthouse stands on a granite spur north of Easthaven. It was first lit "
    "in 1874 and was designed by the engineer Maren Holt. Its lamp is visible for 22 "
    "nautical miles."
)
FERRY = "The Easthaven ferry crosses the Sound to Ollby twice a day; the crossing takes 40 minutes."
SOURCES = {1: LIGHTHOUSE, 2: FERRY}


def test_supported_sentence_with_its_citation() -> None:
    check = check_sentence("The Varn Point lighthouse was first lit in 1874 [1].", SOURCES)
    assert check.supported and check.sources == [1]


def test_number_the_cited_source_does_not_state_is_unsupported() -> None:
    check = check_sentence("The Varn Point lighthouse was first lit in 1875 [1].", SOURCES)
    assert not check.supported
    assert "1875" in check.reason


def test_number_stated_only_by_another_source_is_unsupported() -> None:
    check = check_sentence("The ferry crossing takes 40 minutes [1].", SOURCES)
    assert not check.supported


def test_name_the_cited_source_does_not_state_is_unsupported() -> None:
    check = check_sentence("The lighthouse was designed by Johan Brandt [1].", SOURCES)
    assert not check.supported
    assert "brandt" in check.reason or "johan" in check.reason


def test_paraphrase_that_the_source_supports() -> None:
    check = check_sentence(
        "Maren Holt, an engineer, designed the lighthouse, which was lit in 1874 [1].",
        SOURCES,
        question="Who designed the Varn Point lighthouse?",
    )
    assert check.supported, check.reason


def test_paraphrase_with_unrelated_content_is_unsupported() -> None:
    check = check_sentence(
        "The lighthouse was bombed during the war and rebuilt by volunteers [1].", SOURCES
    )
    assert not check.supported


def test_question_words_are_given() -> None:
    # "Varn Point" comes from the question; the claim itself (Holt) is in the source
    check = check_sentence(
        "Maren Holt designed it [1].", SOURCES, question="Who designed Varn Point lighthouse?"
    )
    assert check.supported


def test_a_question_word_inflected_is_still_the_questions() -> None:
    # "lie" in the question, "lies" in the answer: a restated ask, not a claim to find
    check = check_sentence(
        "Varn Point lies north of Easthaven [1].",
        SOURCES,
        question="Which town does Varn Point lie north of?",
    )
    assert check.supported, check.reason


def test_thousands_separators_and_accents_fold() -> None:
    sources = {1: "Lake Ørn covers 1,642 square kilometres near Såby."}
    assert check_sentence("Lake Orn covers 1642 square kilometres [1].", sources).supported
    assert check_sentence("It lies near Saby [1].", sources).supported


def test_uncited_sentence_gets_the_source_that_supports_it() -> None:
    grounded = ground_answer("The ferry to Ollby takes 40 minutes.", SOURCES)
    assert grounded.answer == "The ferry to Ollby takes 40 minutes [2]."
    assert not grounded.removed


def test_uncited_invented_sentence_is_removed() -> None:
    grounded = ground_answer(
        "The lighthouse was first lit in 1874 [1]. It was published in the journal Nature "
        "on 25 November 1915.",
        SOURCES,
    )
    assert grounded.answer == "The lighthouse was first lit in 1874 [1]."
    assert len(grounded.removed) == 1 and grounded.answers


def test_gap_statement_is_kept_without_a_citation() -> None:
    question = "When was the Varn Point lighthouse automated?"
    grounded = ground_answer(
        "The sources do not say when the lighthouse was automated. It was first lit in 1874 [1].",
        SOURCES,
        question,
    )
    assert grounded.answer.startswith("The sources do not say")
    assert grounded.kept[0].gap and grounded.answers


def test_gap_statement_may_name_what_was_looked_for() -> None:
    question = "Who was the first keeper of the Varn Point lighthouse?"
    gap = "The sources do not say anything about the keepers or their quarters."
    assert check_sentence(gap, SOURCES, question).gap
    # but a gap statement that goes on to claim more is none
    claim = "The sources do not say it, but the keeper lived in the tower for twenty long years."
    assert not check_sentence(claim, SOURCES, question).supported


def test_words_about_the_sources_are_no_part_of_the_claim() -> None:
    grounded = ground_answer(
        "They only state that it was designed by the engineer Maren Holt.",
        SOURCES,
        "Who designed the Varn Point lighthouse?",
    )
    assert grounded.answer == "They only state that it was designed by the engineer Maren Holt [1]."


def test_a_sentence_about_what_the_sources_cover_is_no_answer() -> None:
    grounded = ground_answer(
        "The sources only provide information about the lighthouse's granite spur [1].",
        SOURCES,
        "Who was the first keeper of the Varn Point lighthouse?",
    )
    assert grounded.kept and grounded.kept[0].gap and not grounded.answers


def test_no_sentence_ends_inside_parentheses() -> None:
    text = "It was built by Holt (r. 1870-1890) in 1874 [1]. It is old."
    assert split_sentences(text) == [
        "It was built by Holt (r. 1870-1890) in 1874 [1].",
        "It is old.",
    ]


def test_negated_claim_with_a_new_name_is_no_gap_statement() -> None:
    grounded = ground_answer("The lighthouse was not designed by Johan Brandt.", SOURCES)
    assert grounded.answer == "" and not grounded.answers


def test_sentences_split_but_not_after_initials_or_abbreviations() -> None:
    text = "It was built by J. R. Holt in 1874 [1]. Dr. Holt died in 1901 [2]. Done."
    assert split_sentences(text) == [
        "It was built by J. R. Holt in 1874 [1].",
        "Dr. Holt died in 1901 [2].",
        "Done.",
    ]


def test_decimal_numbers_do_not_split_sentences() -> None:
    assert split_sentences("The race is 42.195 km long [1]. It is old [1].") == [
        "The race is 42.195 km long [1].",
        "It is old [1].",
    ]


def test_table_lines_and_bullets_are_kept_in_shape() -> None:
    answer = (
        "| a | b |\n|---|---|\n- The lighthouse was first lit in 1874 [1].\n- Invented 1999 [1]."
    )
    grounded = ground_answer(answer, SOURCES)
    assert grounded.answer == "| a | b |\n|---|---|\n- The lighthouse was first lit in 1874 [1]."


ARCHITECTURE = (
    "Architecture\nModern architecture spread after 1920. Architects such as Ines Varga built "
    "glass towers in Ollby. The Easthaven Opera House is a concert hall on the harbour front. "
    "It opened in 1973 and seats 2,000 people."
)


def test_a_name_the_source_holds_but_not_with_the_questions_subject_is_unsupported() -> None:
    question = "Who designed the Easthaven Opera House?"
    check = check_sentence(
        "The Easthaven Opera House was designed by Ines Varga [1].", {1: ARCHITECTURE}, question
    )
    assert not check.supported
    assert "no statement" in check.reason


def test_a_claim_across_two_sentences_of_one_statement_is_supported() -> None:
    question = "When did the Easthaven Opera House open?"
    check = check_sentence(
        "The Easthaven Opera House opened in 1973 [1].", {1: ARCHITECTURE}, question
    )
    assert check.supported, check.reason
    # the source's title is what its sentences are about
    titled = {1: "Varn Point Lighthouse\nIt was first lit in 1874."}
    assert check_sentence("Varn Point Lighthouse was first lit in 1874 [1].", titled).supported


def test_a_sentence_citing_two_sources_needs_each_claim_held_with_its_subject() -> None:
    sources = {
        1: "Volga\nThe Volga is the longest river in Europe. It is 3,531 km long.",
        2: "Danube\nThe Danube is the second-longest river in Europe, at 2,850 km.",
        3: "Rhine\nThe Rhine flows through Basel.",
    }
    question = "Which river is longer, the Volga or the Danube? Give the length of each."
    both = "The Volga is 3,531 km long and the Danube 2,850 km [1][2]."
    assert check_sentence(both, sources, question).supported
    wrong = "The Volga is 3,531 km long and the Danube 3,400 km [1][2]."
    assert not check_sentence(wrong, sources, question).supported
    assert not check_sentence("The Volga flows through Basel [1][3].", sources).supported


def test_a_sound_claim_citing_the_wrong_source_is_cited_again() -> None:
    grounded = ground_answer("The ferry to Ollby takes 40 minutes [1].", SOURCES)
    assert grounded.answer == "The ferry to Ollby takes 40 minutes [2]."
    assert not grounded.removed


def test_uncited_copied_sentences_get_their_source_and_tables_stay() -> None:
    sources = {
        1: "Berlin is the capital of Germany.",
        2: "Photosynthesis converts light energy into chemical energy in plants and algae.",
    }
    answer = (
        "Photosynthesis converts light energy into chemical energy. It is done by plants [2]. "
        "Cats are popular pets.\n| a | b |"
    )
    grounded = ground_answer(answer, sources)
    assert grounded.answer == (
        "Photosynthesis converts light energy into chemical energy [2]. It is done by plants "
        "[2].\n| a | b |"
    )
    assert [c.text for c in grounded.removed] == ["Cats are popular pets."]
