from __future__ import annotations

from agent.facts import (
    fact_about,
    fact_observations,
    fact_supported,
    grounded_facts,
    oriented,
    stating_result,
    support,
)
from agent.schemas import FactItem
from memory.knowledge import FactRecord

OBS = [
    {
        "source_id": "wiki:Paris",
        "title": "Paris",
        "url": "https://p",
        "text": "Paris is the capital of France, with 2,102,650 residents in 2023.",
        "start": 0,
        "end": 64,
    },
    {"source_id": "web:x", "title": "X", "url": "", "text": "Lyon is in France."},
]


def test_support_counts_words_and_numbers() -> None:
    assert support("2102650", OBS[0]["text"]) == 1.0  # thousands separators do not matter
    assert support("Paris, France", OBS[0]["text"]) == 1.0
    assert support("Café", "the cafe") == 1.0
    assert support("68 million", OBS[0]["text"]) == 0.0
    assert support("", "anything") == 0.0


def test_only_supported_facts_with_a_valid_result_are_kept() -> None:
    items = [
        FactItem(subject="Paris", attribute="population", value="2,102,650", result=1),
        FactItem(subject="Paris", attribute="population", value="2,102,650", result=1),  # dup
        FactItem(subject="France", attribute="capital", value="Marseille", result=1),  # invented
        FactItem(subject="Lyon", attribute="country", value="France", result=2),
        FactItem(subject="Lyon", attribute="country", value="France", result=3),  # no result 3
        FactItem(subject="Nice", attribute="country", value="France", result=2),
    ]
    rows = grounded_facts(items, OBS, "run-1")
    # Nice: the value is in the result, but no statement there is about Nice
    assert [(r["subject"], r["source_id"]) for r in rows] == [
        ("Paris", "wiki:Paris"),
        ("Lyon", "web:x"),
    ]
    paris, lyon = rows
    assert (paris["start"], paris["end"], paris["run_id"]) == (0, 64, "run-1")
    assert lyon["start"] is None and lyon["end"] is None
    # neither statement names the attribute ("population", "country"): a little less sure
    assert paris["confidence"] == lyon["confidence"] == 0.85


def test_a_fact_citing_the_wrong_result_gets_the_result_that_states_it() -> None:
    items = [FactItem(subject="Lyon", attribute="country", value="France", result=1)]
    (row,) = grounded_facts(items, OBS, "run-1")
    assert row["source_id"] == "web:x"  # result 1 (Paris) says nothing of Lyon
    (index, support_, sentence) = stating_result(items[0], OBS)
    assert (index, sentence) == (1, "Lyon is in France.") and support_ >= 0.85
    invented = FactItem(subject="Lyon", attribute="mayor", value="Ada Lund", result=2)
    assert stating_result(invented, OBS) is None and grounded_facts([invented], OBS, "r") == []


def test_a_fact_needs_its_subject_and_value_in_one_statement() -> None:
    obs = [
        {
            "source_id": "wiki:Russia",
            "title": "Russia",
            "url": "",
            "text": "Russia borders Mongolia and China. Its capital is Moscow.",
        }
    ]
    items = [
        # the value is only the subject's own name
        FactItem(subject="Mongolia", attribute="capital", value="Mongolia", result=1),
        # subject and value both in the text, in different statements
        FactItem(subject="Mongolia", attribute="capital", value="Moscow", result=1),
        # the document's own subject (its title) and a statement of the value: kept
        FactItem(subject="Russia", attribute="capital", value="Moscow", result=1),
    ]
    rows = grounded_facts(items, obs, "run-1")
    assert [(r["subject"], r["value"], r["confidence"]) for r in rows] == [
        ("Russia", "Moscow", 1.0)
    ]


def test_a_recalled_fact_must_be_stated_by_its_stored_passage() -> None:
    def stored(subject: str, value: str, passage: str | None) -> FactRecord:
        return FactRecord(
            id=1, subject=subject, attribute="capital", value=value, source_id="wiki:Russia",
            run_id="r", time=0.0, confidence=1.0, title="Russia", passage=passage,
        )  # fmt: skip

    passage = "Russia borders Mongolia and China. Its capital is Moscow."
    assert fact_supported(stored("Russia", "Moscow", passage))
    assert not fact_supported(stored("Mongolia", "Moscow", passage))  # a poisoned fact
    assert not fact_supported(stored("Russia", "Moscow", None))  # nothing to check it against


def test_a_recalled_fact_settles_only_a_goal_that_names_its_subject() -> None:
    def stored(subject: str) -> FactRecord:
        return FactRecord(
            id=1, subject=subject, attribute="elevation", value="4,100 m", source_id="s",
            run_id="r", time=0.0, confidence=1.0, title=subject, passage="",
        )  # fmt: skip

    goal = "At what elevation above sea level does the old town of Brightwater stand?"
    assert fact_about(stored("Brightwater"), goal)
    assert fact_about(stored("the old town of Brightwater"), goal)
    # near in meaning, about another place
    assert not fact_about(stored("Mount Lowhill"), goal)
    assert not fact_about(stored("the"), goal)  # no subject to name


def test_recalled_facts_become_one_observation_per_passage() -> None:
    def fact(i: int, attribute: str, value: str, start: int | None, passage: str | None):
        return FactRecord(
            id=i, subject="Paris", attribute=attribute, value=value, source_id="wiki:Paris",
            run_id="r", time=0.0, confidence=1.0, start=start, end=None if start is None else 64,
            url="https://p", title="Paris", passage=passage, score=1.0 / i,
        )  # fmt: skip

    observations = fact_observations(
        [
            fact(1, "capital of", "France", 0, OBS[0]["text"]),
            fact(2, "population", "2,102,650", 0, OBS[0]["text"]),
            fact(3, "mayor", "Anne Hidalgo", None, None),
        ]
    )
    assert len(observations) == 2
    first, second = observations
    assert first["text"].splitlines() == [
        "Noted earlier: Paris — capital of: France",
        "Noted earlier: Paris — population: 2,102,650",
        OBS[0]["text"],
    ]
    assert (first["source_id"], first["url"], first["start"], first["score"]) == (
        "wiki:Paris",
        "https://p",
        0,
        1.0,
    )
    assert (
        second["text"] == "Noted earlier: Paris — mayor: Anne Hidalgo" and second["start"] is None
    )


def test_evidence_the_results_do_not_hold_cannot_settle_a_goal() -> None:
    from agent.facts import check_reflection, evidence_support
    from agent.schemas import Reflection

    def reflection(evidence: str, **extra: object) -> Reflection:
        fields = {"evidence": evidence, "facts": [], "missing": "", "verdict": "satisfied",
                  "next_action": "next_goal", **extra}  # fmt: skip
        return Reflection.model_validate(fields)

    assert evidence_support("", OBS) == 1.0
    assert evidence_support("Paris is the capital of France [1]", OBS) == 1.0
    # from the model's memory, not from any result
    invented = reflection("The boiling point of water is 100 degrees Celsius [1]")
    checked, score = check_reflection(invented, OBS, "water boiling point")
    assert score == 0.0 and checked.evidence == "" and checked.verdict == "off_track"
    assert (checked.next_action, checked.query) == ("search", "water boiling point")
    # the model's own new query is kept
    with_query = reflection("Water boils at 100 C [2]", next_action="answer", query="boiling")
    assert check_reflection(with_query, OBS, "fallback")[0].query == "boiling"
    # supported evidence passes unchanged
    fine = reflection("Paris has 2102650 residents [1]")  # "has": the one word not in it
    assert check_reflection(fine, OBS, "x") == (fine, 0.75)


def test_a_fact_written_answer_first_is_turned_round() -> None:
    obs = [
        {
            "source_id": "wiki:Heron",
            "title": "The Grey Heron",
            "url": "",
            "text": "The Grey Heron is an oil painting by Ada Lund, finished in 1911.",
        }
    ]
    asked = "Who painted The Grey Heron? Find the painter of The Grey Heron"
    answer_first = FactItem(
        subject="Ada Lund", attribute="painter", value="The Grey Heron", result=1
    )
    (row,) = grounded_facts([answer_first], obs, "run-1", asked)
    assert (row["subject"], row["attribute"], row["value"]) == ("The Grey Heron", "painter",
                                                                "Ada Lund")  # fmt: skip
    # what the question names is the subject already: left as it is
    right = FactItem(subject="The Grey Heron", attribute="painter", value="Ada Lund", result=1)
    assert oriented(right, asked) == right
    # a number is never a subject; a question naming both leaves the fact alone
    year = FactItem(subject="Ada Lund", attribute="finished", value="1911", result=1)
    assert oriented(year, "What did Ada Lund finish in 1911?") == year
    both = "Did Ada Lund paint The Grey Heron?"
    assert oriented(answer_first, both) == answer_first


def test_only_a_role_is_turned_round_never_a_verb() -> None:
    discovered = FactItem(subject="Ada Lund", attribute="discovered", value="Heronite", result=1)
    assert oriented(discovered, "Who discovered Heronite?") == discovered  # as written
    flows = FactItem(subject="Orsa", attribute="flows through", value="Vellby", result=1)
    assert oriented(flows, "Which river flows through Vellby?") == flows
    # a name with a number ("Apollo 11") can be the subject
    pilot = FactItem(subject="Tom Dahl", attribute="pilot", value="Skyrunner 2", result=1)
    turned = oriented(pilot, "Who was the pilot of Skyrunner 2?")
    assert (turned.subject, turned.value) == ("Skyrunner 2", "Tom Dahl")


def test_a_fact_is_turned_round_only_when_a_result_states_it_so() -> None:
    obs = [
        {
            "source_id": "wiki:Hall",
            "title": "Ollby Museum",
            "url": "",
            "text": "It houses the Grey Heron, painted by Ada Lund.",
        }
    ]
    houses = FactItem(subject="Ollby Museum", attribute="houses", value="Grey Heron", result=1)
    (row,) = grounded_facts([houses], obs, "run-1", "Which museum houses the Grey Heron?")
    assert (row["subject"], row["value"]) == ("Ollby Museum", "Grey Heron")  # as its source has it
