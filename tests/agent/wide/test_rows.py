"""Candidate rows inside one document (agent/wide/rows.py): which listing holds the question's
rows, when a page is one row, and the names rows are given and merged by."""

from __future__ import annotations

import pytest

from agent.wide.fields import parse_fields
from agent.wide.membership import groups
from agent.wide.rows import (
    SCOPE_BONUS,
    STRONG_LISTING_SCORE,
    CandidateRow,
    RowKind,
    alias_like,
    candidate_rows,
    clean_key,
    identifier_scheme,
    key_example,
    like_example,
    map_columns,
    merge_key,
    name_in,
    page_key,
    scope_bonus,
    score_listing,
    signature_name,
    tags_like,
)
from agent.wide.schemas import Condition
from agent.wide.table_plan import Column, TablePlan, place_words
from agent.wide.verdicts import GroupVerdict, row_verdicts
from retriever.listings import listings
from retriever.parse_text import parse_text

PLUGINS = TablePlan(
    entity="Quill plugin",
    columns=[Column("Name"), Column("Since")],
    key_column="Name",
    conditions=[Condition(field="Category", test="equals", value="Navigation")],
    queries=["Quill plugin Navigation"],
)
PLUGINS_QUESTION = "List every bundled Quill plugin whose category is Navigation."

BRIDGES = TablePlan(
    entity="bridge",
    columns=[Column("Bridge"), Column("Length (m)", "number"), Column("Opened", "number")],
    key_column="Bridge",
    conditions=[Condition(field="", test="contains", value="Selka")],
    queries=["Varnholm bridge"],
)
BRIDGES_QUESTION = "List every bridge over the Selka in Varnholm with its length."


def rows_of(plan: TablePlan, question: str, text: str, title: str) -> list[CandidateRow]:
    return candidate_rows(plan, question, "c:doc", text, title, parse_text(text, title=title))


CATALOGUE = """Quill plugins and colours

## Colours

Colour | Hex
Ink | #101010
Paper | #fafafa
Rust | #b7410e

## Bundled plugins

Category | Name | Since
Editing | Spellwise | 1.2
Navigation | Jumplist | 1.4
Navigation | Minimap | 2.6
"""


def test_the_table_whose_header_holds_the_asked_for_columns_gives_the_rows() -> None:
    rows = rows_of(PLUGINS, PLUGINS_QUESTION, CATALOGUE, "Quill plugins and colours")
    # the colour table holds none of the asked-for columns: its rows are no candidates
    assert [r.key for r in rows] == ["Spellwise", "Jumplist", "Minimap"]
    assert {r.kind for r in rows} == {RowKind.TABLE}
    jumplist = rows[1]
    # named by the key column's cell, not by the first cell of the row
    assert jumplist.values == {"Category": "Navigation", "Name": "Jumplist", "Since": "1.4"}
    assert jumplist.columns == {"Name": "Name", "Since": "Since"}
    assert jumplist.key_how == "listing" and jumplist.where == "Bundled plugins"
    # each row stands on its own line of the table
    assert CATALOGUE[jumplist.start : jumplist.end] == "Navigation | Jumplist | 1.4"
    assert jumplist.evidence(CATALOGUE) == "Navigation | Jumplist | 1.4"  # its heading aside
    assert {f.label: f.value for f in jumplist.fields()}["Category"] == "Navigation"


def test_a_record_pages_labelled_fields_are_no_listing() -> None:
    text = "Spellwise\n\nName: Spellwise\nCategory: Editing\nSince: 1.2\nLicence: MIT\n"
    (row,) = rows_of(PLUGINS, PLUGINS_QUESTION, text, "Spellwise — Quill plugin")
    assert row.kind is RowKind.PAGE and row.is_page
    assert (row.key, row.key_how) == ("Spellwise", "field")  # its "Name:" line names it
    assert (row.start, row.end) == (0, len(text))


def test_a_bridge_page_is_one_row_though_its_fields_form_a_definition_list() -> None:
    text = "Old Mill Bridge\n\nA stone arch bridge over the Selka.\n\nLength: 340 m\nOpened: 1872\n"
    (row,) = rows_of(BRIDGES, BRIDGES_QUESTION, text, "Old Mill Bridge")
    assert (row.kind, row.key, row.key_how) == (RowKind.PAGE, "Old Mill Bridge", "title")
    # read as a listing on its own, those fields are refused: they are named like the columns
    structure = parse_text(text)
    (fields,) = listings(structure)
    assert [r.name for r in fields.rows] == ["Length", "Opened"]
    assert score_listing(fields, BRIDGES, {"bridge", "selka"}, text, "Old Mill Bridge") == (
        0.0,
        {},
    )


def test_a_list_under_a_heading_that_names_the_entity_gives_the_rows() -> None:
    text = (
        "Bridges of Varnholm\n\nThe Selka runs through Varnholm.\n\n## Bridges over the Selka"
        "\n\n- Old Mill Bridge\n- Kestrel Bridge (1911)\n- Tanners Bridge\n\nA ferry runs in "
        "summer.\n"
    )
    rows = rows_of(BRIDGES, BRIDGES_QUESTION, text, "Bridges of Varnholm")
    assert [r.key for r in rows] == ["Old Mill Bridge", "Kestrel Bridge", "Tanners Bridge"]
    assert {r.kind for r in rows} == {RowKind.LIST}
    assert text[rows[1].start : rows[1].end] == "- Kestrel Bridge (1911)"
    assert "Bridges of Varnholm" not in {r.key for r in rows}  # the page is no row


def test_a_page_about_one_entity_is_named_by_its_titles_lead() -> None:
    text = "Release 3.2 — tidyup\n\ntidyup 3.2 was released on 14 March 2024.\n"
    plan = TablePlan(
        "tidyup release",
        [Column("Release"), Column("Date", "date")],
        "Release",
        [Condition(field="", test="contains", value="tidyup")],
        ["tidyup release"],
    )
    (row,) = rows_of(plan, "List every tidyup release with its date.", text, "Release 3.2 — tidyup")
    assert (row.kind, row.key, row.key_how) == (RowKind.PAGE, "Release 3.2", "title")
    # without a structure the document is one row too
    (bare,) = candidate_rows(plan, "q", "c:doc", text, "Release 3.2 — tidyup", None)
    assert bare.is_page and bare.key == "Release 3.2"


def test_a_candidate_row_survives_the_graph_state() -> None:
    (row, *_) = rows_of(PLUGINS, PLUGINS_QUESTION, CATALOGUE, "Quill plugins and colours")
    state = row.to_state()
    assert state["kind"] == "table"
    assert CandidateRow.from_state(state) == row


def test_columns_map_to_the_header_column_holding_all_their_words() -> None:
    plan = TablePlan("bridge", [Column("Bridge"), Column("Length (m)"), Column("Opened")],
                     "Bridge", [], [])  # fmt: skip
    header = ["Bridge name", "Length", "Total length", "Year opened"]
    # "Length (m)": its unit aside, the word "length" (the shorter, exact name wins)
    assert map_columns(plan, header) == {
        "Bridge": "Bridge name",
        "Length (m)": "Length",
        "Opened": "Year opened",
    }
    assert map_columns(plan, ["Colour", "Hex"]) == {}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("E.2. Release 4.1", "Release 4.1"),  # outline numbers
        ("9.4.1. Options", "Options"),
        ("E. Appendix", "Appendix"),
        ("3.2", "3.2"),  # a name that is only a number keeps it
        ("Release 3.2", "Release 3.2"),
        ("~~old-name~~", "old-name"),  # struck through
        ("**Minimap** plugin", "Minimap plugin"),
        ("`tidy_path`", "tidy_path"),
        ("Kestrel Bridge\u00b9", "Kestrel Bridge"),  # footnote marks
        ("Kestrel Bridge\u00b2\u00b3", "Kestrel Bridge"),
        ("Kestrel Bridge*", "Kestrel Bridge"),
        ("Kestrel Bridge\u2020", "Kestrel Bridge"),
        ("  Old   Mill\nBridge ", "Old Mill Bridge"),
    ],
)
def test_clean_key(text: str, key: str) -> None:
    assert clean_key(text) == key


@pytest.mark.parametrize("name", ["A Quiet Harbour", "B Line tram"])
def test_clean_key_keeps_a_leading_word_of_one_letter(name: str) -> None:
    assert clean_key(name) == name


def test_merge_key_is_shared_by_the_forms_of_one_name() -> None:
    forms = ["E.2. Release 4.1", "Release 4.1.", "~~Release 4.1~~", "RELEASE  4.1", "Release 4.1¹"]
    assert {merge_key(form) for form in forms} == {"release 4.1"}
    assert merge_key("Café Bridge") == merge_key("cafe bridge")
    assert merge_key("Release 4.1") != merge_key("Release 4.10")


@pytest.mark.parametrize(
    ("title", "key"),
    [
        ("Release 3.2 — tidyup", "Release 3.2"),
        ("gzip - compress files", "gzip"),
        ("Danube (river)", "Danube"),
        ("Old Mill Bridge", "Old Mill Bridge"),
        ("E.2. Release 4.1 (2021-03-01)", "Release 4.1"),
    ],
)
def test_page_key_from_the_title(title: str, key: str) -> None:
    assert page_key(title, [], "Release") == (key, "title")


def test_page_key_from_a_field_labelled_like_the_key_column() -> None:
    fields = parse_fields("Name: Spellwise\nCategory: Editing\n")
    assert page_key("Quill plugin page", fields, "Name") == ("Spellwise", "field")
    # a value too long to be a name is not one
    long = parse_fields("Name: " + "very long " * 15 + "\n")
    assert page_key("Spellwise — plugin", long, "Name") == ("Spellwise", "title")


def test_a_record_with_labelled_values_under_parent_labels_is_one_page_row() -> None:
    """A page that labels an asked-for value under a parent label ("Details" > "Version") is
    one entity's record: its tag entries are its fields, not a listing of entities, even when
    they state the condition's text."""
    text = (
        "Package: quillpad\n\n"
        "Details:\n- Version: 2.4-1\n- Maintainer: Ada Byte <ada@example.org>\n\n"
        "Tags:\n- Interface: Text [interface::text]\n- Role: Program [role::program]\n"
        "- Scope: Utility [scope::utility]\n"
    )
    plan = TablePlan(
        "package",
        [Column("Package"), Column("Version"), Column("Maintainer")],
        "Package",
        [Condition(field="Tags", test="contains", value="interface::text")],
        [],
    )
    rows = candidate_rows(
        plan, "every package tagged interface::text", "pkg/quillpad", text, "quillpad — editor",
        parse_text(text, title="quillpad — editor"),
    )  # fmt: skip
    assert [(r.key, r.kind) for r in rows] == [("quillpad", RowKind.PAGE)]


def test_names_a_sentence_enumerates_are_rows() -> None:
    text = (
        "## Viewer formats\n\nThe viewer is small. The supported formats are PNG, JPEG, GIF and "
        "WebP.\n\nIt starts in under a second on most machines and laptops.\n"
    )
    plan = TablePlan("image format", [Column("Format")], "Format", [], [])
    rows = candidate_rows(
        plan, "Which image formats does the viewer support?", "doc/formats", text,
        "Viewer formats", parse_text(text, title="Viewer formats"),
    )  # fmt: skip
    assert [(r.key, r.kind) for r in rows] == [
        (name, RowKind.SENTENCE) for name in ("PNG", "JPEG", "GIF", "WebP")
    ]


def test_a_pages_few_labelled_lines_are_its_fields_not_a_listing() -> None:
    """Two labelled lines at the top of an article ("Summary", "Topic") that state the
    condition's text are the page's own fields: the article is one row, named by its title."""
    text = (
        "Mira Castell\nSummary: Harbour painter (1902–1977)\nTopic: Art\n\n"
        "Mira Castell painted the harbour of Varnholm for fifty years.\n"
    )
    plan = TablePlan(
        "painter",
        [Column("Name"), Column("Birth Year", "number")],
        "Name",
        [Condition(field="Summary", test="contains", value="painter")],
        [],
    )
    rows = candidate_rows(
        plan, "List every painter with the birth year in the summary", "art/mira", text,
        "Mira Castell", parse_text(text, title="Mira Castell"),
    )  # fmt: skip
    assert [(r.key, r.kind) for r in rows] == [("Mira Castell", RowKind.PAGE)]


def test_a_records_short_labelled_values_are_no_listing_of_entities() -> None:
    """A package page found by a search for people ("dancer" in its name): its labelled values
    are short ("Maintainer: ...", "Section: perl"), a record's fields, not entries describing
    things, so the page is one row, not rows named "Homepage" and "Maintainer"."""
    text = (
        "Package: libdancer-tools\n\nDetails:\n- Version: 1.2-1\n- Section: perl\n"
        "- Homepage: https://dancer.example.org/\n- Maintainer: Team Dancer <t@example.org>\n"
        "- Conflicts: libdancer-old\n"
    )
    plan = TablePlan(
        "person",
        [Column("Name"), Column("Birth Year", "number")],
        "Name",
        [Condition(field="", test="contains", value="dancer")],
        [],
    )
    rows = candidate_rows(
        plan, "List every dancer with the birth year", "pkg/libdancer-tools", text,
        "libdancer-tools", parse_text(text, title="libdancer-tools"),
    )  # fmt: skip
    assert [r.kind for r in rows] == [RowKind.PAGE]


def test_a_listing_where_the_question_says_the_rows_are_is_sure() -> None:
    """Two pages list ferries the same way; the question names the timetable's list of summer
    sailings. The page titled so holds the rows for sure; the other's list is no sure one."""
    body = "Ferries this season:\n\n- Gull\n- Tern\n- Petrel\n"
    plan = TablePlan("ferry", [Column("Ferry")], "Ferry", [], ["ferry"],
                     scope="the timetable's list of summer sailings")  # fmt: skip
    plan.scope_words = place_words(plan.scope)
    assert plan.scope_words == ["timetable", "summer", "sailing"]
    question = "From the timetable's list of summer sailings, which ferries sail?"
    named = rows_of(plan, question, body, "Summer sailings timetable")
    other = rows_of(plan, question, body, "Harbour news")
    assert [r.key for r in named] == ["Gull", "Tern", "Petrel"]
    assert min(r.score for r in named) >= STRONG_LISTING_SCORE
    assert all(r.is_page or r.score < STRONG_LISTING_SCORE for r in other)
    assert all(r.in_scope for r in named) and not any(r.in_scope for r in other)
    assert scope_bonus(plan, "Winter sailings") == 0.0  # one word of three is no match


def test_a_table_without_the_key_column_is_never_sure() -> None:
    """A release table ("Date | Version") on a page whose title and rows match the question
    well still names its rows by dates, not by the tickets asked for: no sure listing."""
    text = "## Quill releases\n\nDate | Version\n2024-01-02 | 1.2.0\n2024-02-03 | 1.2.1\n"
    plan = TablePlan("ticket", [Column("Ticket"), Column("Fix Date", "date")], "Ticket",
                     [Condition(field="", test="contains", value="1.2.0")],
                     ["Quill ticket"], scope="the Quill releases page")  # fmt: skip
    plan.scope_words = place_words(plan.scope)
    rows = rows_of(plan, "Which Quill tickets were fixed in the 1.2 releases?", text,
                   "Quill releases and tickets")  # fmt: skip
    assert rows and all(r.score < STRONG_LISTING_SCORE for r in rows)


def test_rare_scope_words_weigh_more() -> None:
    plan = TablePlan("ferry", [Column("Ferry")], "Ferry", [], [], scope="the summer timetable",
                     scope_words=["summer", "timetable"], scope_weights=[0.2, 3.0])  # fmt: skip
    assert scope_bonus(plan, "Ferry timetable") > 2.5
    assert scope_bonus(plan, "Summer news") == 0.0


def test_a_section_number_is_one_term_and_holds_its_subsections() -> None:
    """ "section 6.2" names section 6.2 and what lies under it (6.2.1), not every title with a
    6 or a 2 in it ("Quill 2.6 handbook", "Release 4.6.2")."""
    scope = "section 6.2 (Moorings) of the harbour handbook"
    plan = TablePlan("berth", [Column("Berth")], "Berth", [], [], scope=scope)
    plan.scope_words = place_words(scope)
    assert plan.scope_words == ["6.2", "mooring", "harbour"]
    assert scope_bonus(plan, "6.2. Moorings > 6.2.1. Outer berths") == SCOPE_BONUS * 2 / 3
    assert scope_bonus(plan, "6. Harbour works > 6.2. Moorings") == SCOPE_BONUS
    assert scope_bonus(plan, "Harbour handbook 2.6 contents") == 0.0
    assert scope_bonus(plan, "Harbour release 4.6.2") == 0.0


GAUGES = """## 4.1. Gauge functions

Table 4.1. Gauge Functions

Function

Description

Example(s)

pressure ( depth numeric ) → numeric

pressure ( depth real ) → real

Water pressure at a depth, in bar

pressure(10) → 2.0

pressure(20) → 3.0

salinity ( sample text ) → numeric

Salinity of a sample, in grams per litre

salinity('north') → 35

tide_height ( at timestamp ) → numeric

Tide height above chart datum

tide_height('2024-06-01 12:00') → 3.4
"""


def test_a_row_of_call_signatures_is_named_by_its_function() -> None:
    """A reference table written one paragraph per cell, whose first cell holds a function's
    signatures: the row is the function, named as it is called."""
    plan = TablePlan("function", [Column("Function"), Column("Description")], "Function",
                     [], ["gauge functions"])  # fmt: skip
    rows = rows_of(plan, "List every gauge function with its description.", GAUGES,
                   "4.1. Gauge functions")  # fmt: skip
    assert [r.key for r in rows] == ["pressure", "salinity", "tide_height"]
    assert rows[0].values["Description"] == "Water pressure at a depth, in bar"
    assert "pressure ( depth real ) → real" in rows[0].values["Function"]
    assert merge_key("pressure") == merge_key(rows[0].key)
    # asked for as written ("e.g. depth(x)"), a signature is the row's name
    written = TablePlan("function", [Column("Function", "text", "as written, e.g. depth(x)")],
                        "Function", [], ["gauge functions"])  # fmt: skip
    rows = rows_of(written, "List every gauge function.", GAUGES, "4.1. Gauge functions")
    assert rows[1].key == "salinity ( sample text ) → numeric"


def test_a_page_labelling_an_asked_value_still_gives_its_reference_tables_rows() -> None:
    """A reference page whose worked examples label their output ("Result: 35") is no record
    of one entity when a table there lists the key column: its rows are the candidates."""
    plan = TablePlan("function", [Column("Function"), Column("Result")], "Function", [],
                     ["gauge functions"])  # fmt: skip
    text = GAUGES + "\n\n## 4.2. Worked example\n\nSELECT salinity('north');\n\nResult: 35\n"
    rows = rows_of(plan, "List every gauge function with its example's result.", text,
                   "4.1. Gauge functions")  # fmt: skip
    assert [r.key for r in rows] == ["pressure", "salinity", "tide_height"]
    # a page with no such table stays one row
    (page,) = rows_of(plan, "List every gauge function.", "## Notes\n\nResult: 35\n", "Notes")
    assert page.is_page


def test_a_signature_without_arguments_is_named_by_its_function() -> None:
    assert signature_name("current_tide → numeric") == "current_tide"
    assert signature_name("depth + real → real") == ""  # an operator: no name


def test_a_listing_named_unlike_the_key_columns_example_is_never_sure() -> None:
    """Asked for identifiers "e.g. QX-2021-0042", a changelog whose entries are dated is no
    listing of them, though its entries name the advisories; a table of them is."""
    key = Column("Advisory", "text", "the identifier, e.g. QX-2021-0042")
    plan = TablePlan("advisory", [key, Column("Fixed In")], "Advisory", [], ["Quill advisories"])
    question = "List every Quill security advisory with the release that fixed it."
    changelog = "## Quill security advisories fixed, by release date\n\n" + "\n".join(
        f"- 2021-0{m}-01" for m in range(1, 6)
    )
    assert all(r.score < STRONG_LISTING_SCORE for r in rows_of(plan, question, changelog, "Log"))
    table = "## Advisories\n\nAdvisory | Fixed In\nQX-2021-0042 | 2.1\nQX-2020-0007 | 1.9\n"
    listed = rows_of(plan, question, table, "Quill security advisories")
    assert [r.key for r in listed] == ["QX-2021-0042", "QX-2020-0007"]
    assert listed[0].score >= STRONG_LISTING_SCORE


def test_the_key_columns_example_and_names_like_it() -> None:
    def example(description: str) -> str:
        return key_example(TablePlan("x", [Column("K", "text", description)], "K", [], []))

    assert example("the identifier, e.g. QX-2021-0042") == "QX-2021-0042"
    assert example('the release as titled, e.g. "Release 4.2"') == "Release 4.2"
    assert example("the function's name (for example tide_ft)") == "tide_ft"
    assert example("the option's name") == ""
    assert like_example(["4.1.2. Release 4.10", "Release 4.2", "tide_ft"], "Release 4.2")
    assert not like_example(["2021-06-01", "2021-03-12"], "QX-2021-0042")
    assert not like_example(["What Is Quill?", "Getting Started"], "QX-2021-0042")
    assert like_example(["ALTER TABLE", "ALTER VIEW"], "ALTER SCHEMA")
    assert like_example(["tide_ft ( x real ) → real", "salinity"], "cosd")
    assert like_example(["3.40.1", "3.9"], "3.31.1")
    # a version is like a version whatever its number of parts; a lone number is not one
    assert like_example(["2.7.3.1", "2.7.4"], "3.31.1") and name_in("2.7.3.1", "3.31.1")
    assert not name_in("release 15", "3.31.1") and name_in("F.35 pg", "F.12") == "F.35"
    assert like_example(["Release 4", "Release 4.10", "Release 4.2.1"], "Release 4.2")
    assert like_example(["2021-06-01"], "")  # no example: anything goes


def test_a_page_named_like_the_asked_rows_is_one_row_not_its_sections() -> None:
    """Asked for modules "e.g. wave_calc", a module's own page ("F.3. tide_ft") is one row;
    its sections and lists ("Caution", "Heights", "Author") are its parts, not modules."""
    text = (
        "## F.3. tide_ft\n\nThe tide_ft module gives tide heights in feet. It is trusted.\n\n"
        "### F.3.1. Caution\n\nHeights near the poles are rough.\n\n"
        "### F.3.2. What the trusted module offers\n\n- Heights\n- Ranges\n- Extremes\n\n"
        "### F.3.3. Author\n\nThe Skerrow harbour office.\n"
    )
    key = Column("Module", "text", "the module name (e.g. wave_calc)")
    plan = TablePlan("module", [key, Column("Section")], "Module", [], ["trusted modules"])
    question = "Which modules of the tidyup manual are trusted? List their names and sections."
    (row,) = rows_of(plan, question, text, "F.3. tide_ft")
    assert row.is_page and row.key == "tide_ft"


def test_a_name_built_like_an_identifier_example_is_found_inside_longer_names() -> None:
    """Asked for versions "e.g. 3.1.0": a release page's title and a dated heading hold one;
    a sentence mentioning one is no name of it."""
    assert name_in("Quill Release 2.4.1 On 2021-04-02", "3.1.0", whole=True) == "2.4.1"
    assert name_in("2021-04-02 (2.4.1)", "3.1.0") == "2.4.1"
    assert name_in("Fix a bug introduced in 2.3.0 by the parser rewrite", "3.1.0") == ""
    assert name_in("Quill 2.4.1 and 2.4.2", "3.1.0", whole=True) == ""  # two: neither
    assert name_in("Advisory QX-2021-0042 fixed", "QX-2019-12345") == "QX-2021-0042"
    assert name_in("2021-04-02", "QX-2019-12345") == ""  # a date is no identifier
    assert name_in("Quill Release 2.4.1", "cosd", whole=True) == ""  # a word names anything

    version = Column("Version", "text", "the Quill version, e.g. 3.1.0")
    plan = TablePlan("release", [version, Column("Date")], "Version", [], ["Quill releases"])
    question = "List every Quill release with its date."
    history = (
        "# Release history of Quill\n\n## 2021-04-02 (2.4.1)\n\n- Fix the tab bar.\n\n"
        "## 2021-02-11 (2.4.0)\n\n- New minimap.\n\n## 2020-12-01 (2.3.0)\n\n- Faster start.\n"
    )
    assert [r.key for r in rows_of(plan, question, history, "Release history")] == [
        "2.4.1", "2.4.0", "2.3.0"]  # fmt: skip
    page = "Quill 2.4.1 fixes the tab bar.\n\n## Changes\n\n- Fix the tab bar.\n- Fix a typo.\n"
    (row,) = rows_of(plan, question, page, "Quill Release 2.4.1 On 2021-04-02")
    assert row.is_page and row.key == "2.4.1"  # the release's own page, named as listed


APPENDIX = """## Appendix C. Bundled Tools

Table of Contents

C.1. tidecalc
C.2. gaugelog
C.2.1. Options
C.2.2. Output Format
C.3. buoyctl
C.4. chartgen
C.4.1. Examples

The tools of this appendix ship with the harbour kit and are built with the kit.

build, build all

in the tools directory of a configured source tree, or for one tool in its own directory.

check

before installing, to run each tool's own tests against the sample harbour data.
"""


def test_a_table_of_contents_inside_a_definition_gives_the_rows() -> None:
    """A page whose contents are one entry of a short definition list ("Table of Contents",
    then a few build commands): the contents, with more entries than the list around them,
    give the rows, each named without its outline number."""
    plan = TablePlan("tool", [Column("Tool", "text", "the tool's name (e.g. tidecalc)"),
                              Column("Section")], "Tool", [], ["bundled tools"],
                     scope="Appendix C", scope_words=place_words("Appendix C"))  # fmt: skip
    question = "List every bundled tool of Appendix C with its section."
    structure = parse_text(APPENDIX, markdown=True)
    rows = candidate_rows(plan, question, "kit/appendix", APPENDIX, "Appendix C", structure)
    assert [r.key for r in rows] == ["tidecalc", "gaugelog", "buoyctl", "chartgen"]
    assert rows[1].values == {"number": "C.2"} and rows[0].kind is RowKind.LIST


@pytest.mark.parametrize(
    ("term", "example", "name"),
    [
        ("-j njobs, --jobs=njobs", "--port", "--jobs"),
        ("[-d] dbname, [--dbname=]dbname", "--port", "--dbname"),
        ("--min-age age", "--port", "--min-age"),  # one name: its argument is cut
        ("-q, --quiet", "-p", "-q"),  # the short form, when the example is one
        ("-e", "--port", ""),  # no long form: the name stays as listed
        ("@cached, cached", "@lru", "@cached"),
        ("--color[=when], --colour[=when]", "--port", ""),  # two alike: none chosen
        ("-j njobs, --jobs=njobs", "--jobs=N", "--jobs=njobs"),  # the example keeps its form
        ("Paris, Lutetia", "Rome", ""),  # an example without marks chooses nothing
    ],
)
def test_alias_like_chooses_the_name_written_as_the_example(
    term: str, example: str, name: str
) -> None:
    assert alias_like(term, example) == name


OPTIONS_PAGE = """gaugectl

## Options

-p port
--port=port

Serial port the gauge is on.

-i seconds
--interval=seconds

Seconds between two readings.

--calibrate

Runs the calibration routine first.
"""


def test_an_entry_of_several_names_is_named_as_the_key_example_is() -> None:
    plan = TablePlan(
        entity="option",
        columns=[Column("Option", description="the long option name (e.g. --port)")],
        key_column="Option",
        conditions=[],
        queries=["gaugectl options"],
    )
    found = rows_of(plan, "List the options of gaugectl.", OPTIONS_PAGE, "gaugectl")
    assert [r.key for r in found] == ["--port", "--interval", "--calibrate"]


def test_tags_like_reads_identifiers_of_a_named_scheme_only() -> None:
    text = "Escape names in the menu (QSA-2023-0012). See also QSA-2023-0012 and QSA-2021-0001."
    assert tags_like(text, "QSA-2020-0001") == ["QSA-2023-0012", "QSA-2021-0001"]
    assert tags_like("Obsoletes RFC 2616 and RFC 7230.", "RFC 9110") == ["RFC 2616", "RFC 7230"]
    # a version or a date names no scheme: a change mentioning one is not about it
    assert tags_like("Fix a bug introduced in 3.38.0.", "3.31.1") == []
    assert tags_like("Fixed on 2023-05-11.", "2020-01-31") == []
    assert (identifier_scheme("CVE-2019-12345"), identifier_scheme("Release 4.2")) == ("CVE", "")


RELEASE_PAGE = """Quill Release 2.4

Release date: 2023-03-15

## Changes

- Refuse plugin archives whose paths leave the plugin folder. (QSA-2023-0011)
- Speed up opening large folders.
- Escape file names in the recent files menu. (QSA-2023-0012, QSA-2023-0013)
"""


def test_a_record_pages_tagged_items_are_rows_with_the_pages_fields() -> None:
    plan = TablePlan(
        entity="advisory",
        columns=[
            Column("Advisory", description="the identifier, e.g. QSA-2020-0001"),
            Column("Release Date", "date"),
        ],
        key_column="Advisory",
        conditions=[],
        queries=["Quill advisories"],
    )
    found = rows_of(plan, "Which Quill advisories were fixed?", RELEASE_PAGE, "Quill 2.4")
    assert [r.key for r in found] == ["QSA-2023-0011", "QSA-2023-0012", "QSA-2023-0013"]
    assert {r.kind for r in found} == {RowKind.LIST}
    assert all(r.values.get("Release date") == "2023-03-15" for r in found)
    assert all(r.columns == {"Release Date": "Release date"} for r in found)


LINK_SETTINGS = """Link settings

## Sending

max_senders (integer)

How many senders may run at once. The default is 10.

sender_timeout (integer)

Seconds before an idle sender is stopped. The default is 60.

send_buffer (string)

Where outgoing data waits before it is sent. The default is memory.

## Receiving

max_receivers (integer)

How many receivers may run at once. The default is 4.

receive_retry (integer)

Seconds between two attempts to reconnect. The default is 5.
"""


def test_two_entries_described_in_prose_are_a_listing_short_labelled_values_are_not() -> None:
    plan = TablePlan(
        entity="setting",
        columns=[Column("Setting"), Column("Type")],
        key_column="Setting",
        conditions=[],
        queries=["link settings"],
    )
    found = rows_of(plan, "List every link setting.", LINK_SETTINGS, "Link settings")
    assert [r.key for r in found] == [
        "max_senders",
        "sender_timeout",
        "send_buffer",
        "max_receivers",
        "receive_retry",
    ]
    record = "Gauge 7\n\nMaker: Tidewell\nRange: 0-12 m\n\nA gauge on the north pier."
    assert all(r.is_page for r in rows_of(plan, "List every setting.", record, "Gauge 7"))


MARKED_LIST = """Gauge commands

## All commands

- calibrate
- ~~drain¹~~
- log
- selftest²
- ~~zero¹~~

Notes:

1. Commands struck through are deprecated and will be removed.
2. Only available on gauges built with the service firmware.

## calibrate

Sets the gauge to the chart datum.
"""


def test_a_names_note_mark_brings_the_note_into_its_own_text() -> None:
    plan = TablePlan(
        entity="command",
        columns=[Column("Command"), Column("Status")],
        key_column="Command",
        conditions=[Condition(field="", test="contains", value="deprecated")],
        queries=["gauge commands"],
    )
    found = rows_of(plan, "Which gauge commands are deprecated?", MARKED_LIST, "Gauge commands")
    notes = {r.key: r.note for r in found}
    assert notes == {
        "calibrate": "",
        "drain": "Commands struck through are deprecated and will be removed.",
        "log": "",
        "selftest": "Only available on gauges built with the service firmware.",
        "zero": "Commands struck through are deprecated and will be removed.",
    }
    drain = next(r for r in found if r.key == "drain")
    assert drain.evidence(MARKED_LIST).endswith("Note: " + notes["drain"])
    verdicts = {
        r.key: row_verdicts(groups(plan.conditions), r, MARKED_LIST, "Gauge commands", [])
        for r in found
    }
    assert {k for k, v in verdicts.items() if v == [GroupVerdict.PASS]} == {"drain", "zero"}
