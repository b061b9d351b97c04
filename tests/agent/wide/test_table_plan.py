"""The table plan: the question's columns win over the model's; a plan without a model."""

from __future__ import annotations

from agent.wide.schemas import ColumnSpec, Condition, TablePlanReply
from agent.wide.table_plan import (
    Column,
    TablePlan,
    checked_type,
    column_descriptions,
    column_example,
    finalise_plan,
    guess_type,
    looks_wide,
    names_a_place,
    only_as_example,
    place_in_collection,
    place_words,
    quoted_requirements,
    stated_columns,
    stated_year,
)

QUESTION = """List every river in Europe whose region is "Europe".

For each entry, provide:
- River: the river's name
- Length (km): the length in km, as a plain number
- Mouth: where it ends

Please organize the results in one Markdown table with the following columns in order:
River, Length (km), Mouth
"""


def reply(**changes) -> TablePlanReply:
    data = {
        "entity": "river",
        "columns": [
            ColumnSpec(name="River", type="text"),
            ColumnSpec(name="Length", type="number"),
            ColumnSpec(name="Mouth", type="text"),
        ],
        "key_column": "River",
        "conditions": [Condition(field="Region", test="equals", value="Europe")],
        "queries": ["river Europe", "river Europe", "European rivers"],
    }
    data.update(changes)
    return TablePlanReply(**data)


def test_stated_columns_and_descriptions() -> None:
    assert stated_columns(QUESTION) == ["River", "Length (km)", "Mouth"]
    assert stated_columns("Columns: | Name | Year |\n") == ["Name", "Year"]
    assert stated_columns("| Country | Capital |\n|---|---|") == ["Country", "Capital"]
    assert stated_columns("Who painted the Mona Lisa?") == []
    descriptions = column_descriptions(QUESTION, ["River", "Length (km)", "Mouth"])
    assert descriptions["Length (km)"] == "the length in km, as a plain number"
    assert looks_wide(QUESTION) and not looks_wide("When did the Berlin Wall fall?")


def test_the_questions_columns_win_and_queries_are_deduplicated() -> None:
    plan = finalise_plan(QUESTION, reply())
    assert plan.column_names == ["River", "Length (km)", "Mouth"]
    assert [c.type for c in plan.columns] == ["text", "number", "text"]  # guessed for the rename
    assert plan.key_column == "River"
    assert plan.notes == ["columns taken from the question (the model's list differed)"]
    # the conditions' text, the planner's first query, the question's own keywords, the rest
    assert plan.queries == ["Europe", "river Europe", "river Europe region", "European rivers"]


def test_a_key_that_is_not_a_column_falls_back_to_the_first_column() -> None:
    plan = finalise_plan(QUESTION, reply(key_column="Name"))
    assert plan.key_column == "River"


def test_without_a_model_reply_the_question_gives_the_plan() -> None:
    plan = finalise_plan(QUESTION, None)
    assert plan.source == "question"
    assert plan.column_names == ["River", "Length (km)", "Mouth"]
    assert [(c.field, c.value) for c in plan.conditions] == [("", "Europe")]
    assert plan.queries


def test_type_guesses() -> None:
    assert guess_type("Installed Size (KiB)") == "number"
    assert guess_type("Independence Date") == "date"
    assert guess_type("Homepage") == "url"
    assert guess_type("Maintainer", "the maintainer's name") == "text"


def test_quoted_requirements_skip_examples_and_fragments_and_read_templates() -> None:
    question = (
        'Packages in the "admin" section that mention "Nagios" (with or without "www."). '
        'Films whose description has the form "YYYY film by Director", e.g. "1942 film by '
        'Michael Curtiz", "1960 French film by Jean-Luc Godard". Countries described as '
        '"Country in Oceania", "Island country in Oceania" or "Landlocked country in Oceania".'
    )
    assert quoted_requirements(question) == [
        ["admin"],
        ["Nagios"],
        ["film by"],  # the template's fixed words; its examples are no requirement
        ["Country in Oceania", "Island country in Oceania", "Landlocked country in Oceania"],
    ]


def test_template_literals() -> None:
    from agent.wide.table_plan import template_literal

    assert template_literal("YYYY film directed by Director") == "film directed by"
    assert template_literal("King of France from <year> to <year>") == "King of France from"
    assert template_literal("Chemical element with atomic number N (Symbol)") == (
        "Chemical element with atomic number"
    )
    assert template_literal("... painting by <name>") == "painting by"
    assert template_literal("<name> (YYYY)") == ""


def test_quoted_requirements_the_planner_left_out_become_conditions() -> None:
    question = QUESTION.replace("whose region", 'in the "navigable" class whose region')
    plan = finalise_plan(question, reply())
    assert [(c.field, c.test, c.value) for c in plan.conditions] == [
        ("Region", "equals", "Europe"),
        ("class", "contains", "navigable"),  # the word after the quote names the field
    ]
    assert any("quoted requirements: 'navigable'" in note for note in plan.notes)


def test_strict_bounds_the_question_states_inclusively_become_inclusive() -> None:
    from agent.wide.schemas import Condition
    from agent.wide.table_plan import inclusive_bound

    def test_for(question: str, test: str, value: str) -> str:
        return inclusive_bound(Condition(field="x", test=test, value=value), question).test

    assert test_for("films released in 1960 or later", "more_than", "1960") == "at_least"
    assert test_for("atomic number from 25 to 48 (inclusive)", "more_than", "25") == "at_least"
    assert test_for("atomic number from 25 to 48 (inclusive)", "less_than", "48") == "at_most"
    assert test_for("total area exceeds 500,000 sq km", "more_than", "500000") == "more_than"


def test_a_value_the_question_gives_only_as_an_example_is_no_condition() -> None:
    question = (
        "List every limit of the tidyup tool with its default.\n\n- Limit: the limit's name "
        "(e.g. MAX_DEPTH)\n- Default: its default value\n\nColumns: Limit, Default"
    )
    planned = TablePlanReply(
        entity="limit",
        columns=[ColumnSpec(name="Limit", type="text"), ColumnSpec(name="Default", type="text")],
        key_column="Limit",
        conditions=[
            Condition(field="Limit", test="equals", value="MAX_DEPTH"),
            Condition(field="", test="contains", value="tidyup"),
        ],
        queries=["tidyup limits"],
    )
    plan = finalise_plan(question, planned)
    assert [c.value for c in plan.conditions] == ["tidyup"]
    assert any("only as examples: 'MAX_DEPTH'" in note for note in plan.notes)


SCOPED = """Using the harbour office's table of vessels in section 4.2 (Moorings), list every
vessel longer than 40 m.

For each entry, provide:
- Vessel: the vessel's name
- Length (m): its length

Please organize the results in one Markdown table with the following columns in order:
Vessel, Length (m)
"""


def scoped_reply(conditions: list[Condition]) -> TablePlanReply:
    return TablePlanReply(
        entity="vessel",
        columns=[
            ColumnSpec(name="Vessel", type="text"),
            ColumnSpec(name="Length (m)", type="number"),
        ],
        key_column="Vessel",
        conditions=conditions,
        queries=["vessel length"],
    )


def test_where_the_rows_are_listed_is_no_test_of_each_row() -> None:
    plan = finalise_plan(SCOPED, scoped_reply(
        [Condition(field="Section", test="equals", value="4.2"),
         Condition(field="Length (m)", test="more_than", value="40")]),
        "the harbour office's table of vessels in section 4.2 (Moorings)")  # fmt: skip
    assert plan.scope == "the harbour office's table of vessels in section 4.2 (Moorings)"
    assert [(c.field, c.value) for c in plan.conditions] == [("Length (m)", "40")]
    assert any("where the rows are listed" in note and "'4.2'" in note for note in plan.notes)
    assert plan.scope in plan.queries
    # structure nouns ("table", "section") and possessives name no particular place
    assert plan.scope_words == ["harbour", "office", "vessel", "4.2", "mooring"]
    again = TablePlan.from_state(plan.to_state())
    assert (again.scope, again.scope_words) == (plan.scope, plan.scope_words)


def test_a_place_the_question_does_not_name_is_dropped() -> None:
    plan = finalise_plan(SCOPED, scoped_reply([
        Condition(field="Length (m)", test="more_than", value="40")]),
        "the national fleet register")  # fmt: skip
    assert plan.scope == "" and plan.scope_words == []
    assert any("does not name" in note for note in plan.notes)


def test_place_words_leave_out_what_most_documents_state() -> None:
    assert place_words("the Quill manual's release notes", {"quill"}) == ["release"]
    assert place_words("the Quill manual", {"quill"}) == ["manual"]  # nothing else is left
    assert names_a_place("the release notes") and not names_a_place("Europe region")
    assert not names_a_place("the Quill website") and not names_a_place("the Quill manual")


def test_a_value_built_on_an_examples_number_is_an_example() -> None:
    question = 'List every release. For each: - Release: as titled, e.g. "Release 4.2"\n'
    assert only_as_example("Quill 4.2", question)
    assert only_as_example("Release 4.2", question)
    assert not only_as_example("Quill 4.3", question)
    assert not only_as_example("4.2", "Which releases came after 4.2, e.g. in 2024?")


def test_a_phrase_naming_no_place_is_only_searched_for() -> None:
    """A small planner writes what the rows are about ("Moorings") as their place, or names a
    whole collection ("the harbour website"): no document, section, table or list in it, so
    it ranks no listing and no condition is read as restating it."""
    plan = finalise_plan(SCOPED, scoped_reply([
        Condition(field="Section", test="contains", value="Moorings"),
        Condition(field="Length (m)", test="more_than", value="40")]), "Moorings")  # fmt: skip
    assert plan.scope == "Moorings" and plan.scope_words == []
    assert [c.value for c in plan.conditions] == ["Moorings", "40"]
    assert plan.untested == [] and "Moorings" in plan.queries
    question = SCOPED.replace("Using the harbour", "Using the harbour website and the harbour")
    site = finalise_plan(question, scoped_reply([
        Condition(field="Length (m)", test="more_than", value="40")]),
        "the harbour website")  # fmt: skip
    assert site.scope == "the harbour website" and site.scope_words == []


def test_a_short_phrase_naming_no_place_tests_no_row() -> None:
    """ "the Quill wiki" or "Moorings" read as where the rows are listed names no place in a
    collection: it is searched for, never tested on each row (the plan's conditions, asked
    apart from the place, carry the rows' requirements)."""
    plan = finalise_plan(SCOPED, scoped_reply([
        Condition(field="Length (m)", test="more_than", value="40")]),
        "Moorings")  # fmt: skip
    assert [(c.field, c.test, c.value) for c in plan.conditions] == [
        ("Length (m)", "more_than", "40")]  # fmt: skip
    assert plan.common_texts == [] and "Moorings" in plan.queries


def test_a_passage_copied_as_the_place_is_no_place() -> None:
    """A small model asked where the rows are listed may copy half the question: a passage
    names no place, and its many words would rank every listing."""
    passage = " ".join(SCOPED.split()[:30])
    plan = finalise_plan(SCOPED, scoped_reply([
        Condition(field="Length (m)", test="more_than", value="40")]), passage)  # fmt: skip
    assert plan.scope == "" and plan.scope_words == []
    assert any("a passage" in note for note in plan.notes)


def test_a_test_of_part_of_a_quoted_requirement_tests_the_whole_quote() -> None:
    """The user quoted the text to match: "hardy" for '"hardy (survives frost)"' loosens it.
    With two such tests, the one whose field the question names next to the quote takes it;
    an example's quote narrows nothing."""
    question = (
        'Which shrubs are rated "hardy (survives frost)" in the Nursery column and are also '
        "listed in the Garden column? Columns: Shrub, Nursery, Garden"
    )
    nursery = Condition(field="Nursery", test="contains", value="hardy")
    garden = Condition(field="Garden", test="equals", value="hardy")
    plan = finalise_plan(question, reply(
        columns=[ColumnSpec(name="Shrub", type="text"), ColumnSpec(name="Nursery", type="text"),
                 ColumnSpec(name="Garden", type="text")],
        key_column="Shrub", conditions=[garden, nursery]))  # fmt: skip
    assert [(c.field, c.value) for c in plan.conditions] == [
        ("Garden", "hardy"), ("Nursery", "hardy (survives frost)")]  # fmt: skip
    assert any("as the question quotes them" in note for note in plan.notes)
    example = question.replace('rated "hardy', 'rated hardy (e.g. "hardy')
    plan = finalise_plan(example, reply(key_column="Shrub", conditions=[nursery]))
    assert [c.value for c in plan.conditions] == ["hardy"]


def test_a_collection_given_as_the_place_is_widened_to_the_place_in_it() -> None:
    """ "the Quill 2 handbook" read as where the rows are, when the question names the change
    notes of it: the place is the change notes (a section of the handbook), not the handbook."""
    question = "List every update covered by the change notes of the Quill 2 handbook."
    assert place_in_collection("the Quill 2 handbook", question) == (
        "the change notes of the Quill 2 handbook"
    )
    used = "Use the plugin list in the Quill handbook and name every plugin."
    widened = place_in_collection("the Quill handbook", used)
    assert widened == "the plugin list in the Quill handbook"
    # positions are the question's own, whatever its line breaks and spacing
    spaced = (
        "Please help.\n\nList every update covered by the change notes of the  Quill 2\nhandbook."
    )
    assert place_in_collection("the Quill 2 handbook", spaced) == (
        "the change notes of the Quill 2 handbook"
    )
    for other in (
        "Which ports in the Baltic region of the Quill atlas are deep?",  # a region, no place
        "From the contents page, in the Quill handbook, list every topic.",  # another clause
        "Which plugins of the Quill handbook are deprecated?",
    ):
        scope = "the Quill atlas" if "atlas" in other else "the Quill handbook"
        assert place_in_collection(scope, other) == scope
    plan = finalise_plan(SCOPED.replace("Using the harbour office's", "Using the moorings "
                         "table of the harbour guide, the harbour office's"), scoped_reply([
        Condition(field="Length (m)", test="more_than", value="40")]),
        "the harbour guide")  # fmt: skip
    assert plan.scope == "the moorings table of the harbour guide"
    assert plan.scope_words == ["mooring", "harbour"]


def test_negative_states_a_comparison_with_zero() -> None:
    """ "whose lowest point lies below sea level (negative elevation)": "less than 0" is the
    question's own condition, though it writes no 0; a 0 a question does not imply is still
    invented."""
    question = (
        "List every lake whose surface lies below sea level (negative elevation).\n"
        "Columns: Lake, Elevation (m)"
    )
    below = Condition(field="Elevation", test="less_than", value="0")
    plan = finalise_plan(question, reply(key_column="Lake", conditions=[below]))
    assert [(c.field, c.test, c.value) for c in plan.conditions] == [
        ("Elevation", "less_than", "0")]  # fmt: skip
    plain = question.replace(" (negative elevation)", "")
    plan = finalise_plan(plain, reply(key_column="Lake", conditions=[below]))
    assert all(c.value != "0" for c in plan.conditions)


def test_the_keys_one_equals_test_naming_the_place_is_where_the_rows_are() -> None:
    """ "Update equals Quill 2" for the updates in the change notes of the Quill 2 handbook
    would name one row, not a kind of row: it restates where the rows are listed. A key test
    among alternatives ("Update equals 2.1 or 2.2") selects rows and stays."""
    question = (
        "List every update covered by the change notes of the Quill 2 handbook.\n\n"
        "For each entry, provide:\n- Update: the update as titled\n- Date: its date\n"
    )
    answer = TablePlanReply(
        entity="update",
        columns=[ColumnSpec(name="Update", type="text"), ColumnSpec(name="Date", type="date")],
        key_column="Update",
        conditions=[Condition(field="Update", test="equals", value="Quill 2")],
        queries=["Quill 2 updates"],
    )
    plan = finalise_plan(question, answer, "the Quill 2 handbook")
    assert plan.scope == "the change notes of the Quill 2 handbook"
    assert plan.conditions == []
    assert plan.untested and "Quill 2" in plan.untested[0]
    both = answer.model_copy(update={"conditions": [
        Condition(field="Update", test="equals", value="Quill 2"),
        Condition(field="Update", test="equals", value="2"),
    ]})  # fmt: skip
    assert len(finalise_plan(question, both, "the Quill 2 handbook").conditions) == 2


def test_a_columns_example_or_format_decides_a_number_or_date_type() -> None:
    assert checked_type("number", "its section in the appendix, e.g. F.12") == "text"
    assert checked_type("number", "the release that fixed it, e.g. 2.10.1") == "text"
    assert checked_type("number", "the default, e.g. 10 or off") == "text"
    assert checked_type("number", "the oldest server version, as a number (e.g. 9.6)") == "number"
    assert checked_type("number", "its length in metres") == "number"
    assert checked_type("date", "when it was built (YYYY-MM-DD HH:MM:SS)") == "text"
    assert checked_type("date", "the release date in YYYY-MM-DD format") == "date"
    assert column_example('the release as titled, e.g. "Release 4.2"') == "Release 4.2"


def test_a_condition_naming_only_a_kind_of_place_tests_nothing() -> None:
    """ "Plugin contains list" from "the plugin list marks some as deprecated": a list is where
    the items are, no property of one."""
    question = "The Quill plugin list marks some plugins as deprecated. List every such plugin."
    plan = finalise_plan(question, reply(conditions=[
        Condition(field="Plugin", test="contains", value="list"),
        Condition(field="", test="contains", value="deprecated")]))  # fmt: skip
    assert [c.value for c in plan.conditions] == ["deprecated"]
    assert any("kind of place" in note and "'list'" in note for note in plan.notes)


def test_a_comparison_needs_a_number_the_question_states_as_a_bound() -> None:
    """ "Options of the Vega 15 client that need a newer server" states no bound of 15: a
    model's "Server Version at least 15" is dropped, and the notes say so. Numbers worded as
    bounds stay, a year however it is worded."""
    from agent.wide.table_plan import worded_as_comparison

    def bound(question: str, value: str, test: str = "at_least") -> bool:
        return worded_as_comparison(Condition(field="x", test=test, value=value), question)

    assert bound("lighthouses taller than 40 m", "40")
    assert bound("ports with at least 3 piers", "3") and bound("ports with 3 or more piers", "3")
    assert bound("height from 25 to 48 metres (inclusive)", "48", "at_most")
    assert bound("height from 25 to 48 metres", "25") and bound("depth > 12", "12")
    assert bound("ports opened in 1960 or later", "1959", "more_than")  # give or take one
    assert bound("ships launched in 1931", "1930", "more_than")  # a year, however worded
    assert not bound("options of the Vega 15 client program", "15")
    assert not bound("the Vega 15 manual, from the options chapter", "15")
    assert bound("options of the Vega 15 client", "15", "contains")  # not a comparison

    question = (
        "Some options of the Vega 15 client only work with newer servers. Which are they?\n\n"
        "For each entry, provide:\n- Option: its name\n- Since: the oldest server version\n"
    )
    newer = Condition(field="Server Version", test="at_least", value="15")
    plan = finalise_plan(question, reply(key_column="Option", conditions=[newer]))
    assert plan.conditions == []
    assert any("not state as bounds" in note and "15" in note for note in plan.notes)


DATED = [Column("Bridge"), Column("Opened", "date")]


def test_the_one_year_the_question_places_its_rows_in_is_tested() -> None:
    asked = stated_year("Which bridges opened in 1998? List them.", DATED, [])
    assert asked == Condition(field="Opened", test="equals", value="1998")
    assert stated_year("Bridges finished during 2004.\n\nNot in 1990.", DATED, []) == Condition(
        field="Opened", test="equals", value="2004"
    )  # the ask is the first paragraph


def test_no_year_test_for_a_range_two_years_no_date_column_or_one_kept() -> None:
    for question in [
        "Which bridges opened in 1998 or later?",
        "Which bridges opened in 1998 to 2001?",
        "Which bridges opened in 1998 or 1999?",
        "Which bridges opened in 1998 and which in 2001?",
        "Which bridges were built by the 1998 council?",
    ]:
        assert stated_year(question, DATED, []) is None, question
    assert stated_year("Which bridges opened in 1998?", [Column("Bridge")], []) is None
    kept = [Condition(field="Year", test="equals", value="1998")]
    assert stated_year("Which bridges opened in 1998?", DATED, kept) is None
    # a phrase holding the year tests no year: the year is still added
    phrase = [Condition(field="", test="contains", value="bridges opened in 1998")]
    assert stated_year("Which bridges opened in 1998?", DATED, phrase) is not None
