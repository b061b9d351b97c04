from __future__ import annotations

import json

import pytest

from retriever.structure import (
    Code,
    DefinitionList,
    DocumentRenderer,
    DocumentStructure,
    ListBlock,
    Paragraph,
    StructureError,
    Table,
    column_names,
    slugify,
)


def _manual() -> tuple[str, DocumentStructure]:
    r = DocumentRenderer("Widget manual")
    r.paragraph("An  introduction\u00a0to widgets.")
    r.heading("Status codes", 2, "codes")
    r.table(
        [["Code", "Meaning", "Meaning"], ["Code", "Short", "Long"]],
        [["W1", "ok", "all good"], ["W2", "a|b", "pipe inside"]],
        caption="Table 1. Widget status codes",
    )
    r.heading("Setup", 3, "setup")
    r.list([("unpack", [("check the box", [])]), ("plug in", [])], ordered=True)
    r.definitions([("Colour", "blue"), ("Notes", "first line\nsecond line")])
    r.heading("Example", 2)
    r.code("\n  widget --run\n  widget --stop\n\n")
    rendered = r.finish()
    return rendered.text, rendered.structure


def test_renderer_writes_blocks_and_records_exact_spans() -> None:
    text, structure = _manual()
    assert text == (
        "An introduction to widgets.\n\n"
        "## Status codes\n\n"
        "Table 1. Widget status codes\n"
        "Code | Meaning | Meaning\n"
        "Code | Short | Long\n"
        "W1 | ok | all good\n"
        "W2 | a\\|b | pipe inside\n\n"
        "### Setup\n\n"
        "1. unpack\n  - check the box\n2. plug in\n\n"
        "Colour: blue\nNotes\n  first line\n  second line\n\n"
        "## Example\n\n"
        "  widget --run\n  widget --stop"
    )
    kinds = [(section.path, block.kind) for section, block in structure.blocks()]
    assert kinds == [
        ((), "paragraph"),
        (("Status codes",), "table"),
        (("Status codes", "Setup"), "list"),
        (("Status codes", "Setup"), "definitions"),
        (("Example",), "code"),
    ]
    table = structure.tables()[0][1]
    assert table.columns == ["Code", "Meaning / Short", "Meaning / Long"]
    assert table.rows == [["W1", "ok", "all good"], ["W2", "a|b", "pipe inside"]]
    assert [text[a:b] for a, b in table.row_spans] == [
        "W1 | ok | all good",
        "W2 | a\\|b | pipe inside",
    ]
    assert table.records()[1] == {
        "Code": "W2",
        "Meaning / Short": "a|b",
        "Meaning / Long": "pipe inside",
    }
    listing = structure.blocks()[2][1]
    assert isinstance(listing, ListBlock) and listing.ordered
    assert [text[i.start : i.end] for i in listing.items] == [
        "1. unpack\n  - check the box",
        "2. plug in",
    ]
    assert [c.text for c in listing.items[0].children] == ["check the box"]
    entries = structure.blocks()[3][1]
    assert isinstance(entries, DefinitionList)
    assert [(e.term, e.description, text[e.start : e.end]) for e in entries.entries] == [
        ("Colour", "blue", "Colour: blue"),
        ("Notes", "first line\nsecond line", "Notes\n  first line\n  second line"),
    ]
    code = structure.blocks()[4][1]
    assert isinstance(code, Code) and code.text == "  widget --run\n  widget --stop"
    for section, block in structure.blocks():
        assert section.start <= block.start <= block.end <= section.end
    sections = {s.heading: s for s in structure.sections()}
    assert text[sections["Setup"].start : sections["Setup"].heading_end] == "### Setup"
    assert sections["Status codes"].end == sections["Example"].start
    assert sections["Example"].end == len(text)


def test_json_round_trip_and_version_check() -> None:
    _, structure = _manual()
    data = json.loads(json.dumps(structure.to_json()))
    again = DocumentStructure.from_json(data)
    assert again == structure
    assert again.sections()[1].path == ("Status codes", "Setup")
    with pytest.raises(StructureError):
        DocumentStructure.from_json({"v": 99, "root": {}})
    with pytest.raises(StructureError):
        DocumentStructure.from_json({"v": 1, "root": {"h": ""}})
    with pytest.raises(StructureError):
        DocumentStructure.from_json(["not", "a", "dict"])


def test_find_section_and_table() -> None:
    _, structure = _manual()
    assert structure.find_section("#codes").heading == "Status codes"  # type: ignore[union-attr]
    assert structure.find_section("status CODES").heading == "Status codes"  # type: ignore[union-attr]
    assert structure.find_section("Status codes > Setup").heading == "Setup"  # type: ignore[union-attr]
    assert structure.find_section("example section").heading == "Example"  # type: ignore[union-attr]
    assert structure.find_section("nothing like it") is None
    assert structure.find_section("") is None
    assert structure.find_table(1) is not None and structure.find_table("1") is not None
    assert structure.find_table(2) is None
    found = structure.find_table("widget status codes")
    assert found is not None and found[1].caption == "Table 1. Widget status codes"


def test_outline_and_context() -> None:
    _, structure = _manual()
    assert structure.outline().splitlines() == [
        "- Status codes [#codes]",
        "  table 1 'Table 1. Widget status codes': Code | Meaning / Short | Meaning / Long "
        "(2 rows)",
        "  - Setup [#setup]",
        "    list of 2 items",
        "    definitions (2): Colour, Notes",
        "- Example",
    ]
    table = structure.tables()[0][1]
    assert structure.context_of(table.row_spans[1][0]) == (
        "Status codes\nTable 1. Widget status codes\nCode | Meaning / Short | Meaning / Long"
    )
    assert structure.context_of(table.start) == "Status codes"
    assert structure.context_of(0) == ""
    assert structure.counts() == {
        "sections": 3, "paragraph": 1, "table": 1, "list": 1, "definitions": 1, "code": 1
    }  # fmt: skip


def test_empty_blocks_write_nothing() -> None:
    r = DocumentRenderer()
    r.paragraph("  \n ")
    r.heading("   ", 2)
    r.table([], [["", ""]])
    r.list([("", [])])
    r.definitions([("", "")])
    r.code("\n\n")
    rendered = r.finish()
    assert rendered.text == ""
    assert rendered.structure.blocks() == []


def test_helpers() -> None:
    assert column_names([["A", "A", "B"], ["x", "y", "B"]], 3) == ["A / x", "A / y", "B"]
    assert column_names([], 2) == ["", ""]
    assert slugify("2.1 Set-up & Use") == "21-set-up-use"
    assert isinstance(Paragraph("x", 0, 1), Paragraph) and Table([], [], 0, 0).width == 0


def _grouped() -> tuple[str, DocumentStructure]:
    r = DocumentRenderer("Error codes")
    r.table(
        [["Code", "Name"]],
        [["W1", "widget_jammed"], ["W2", "widget|lost"], ["G1", "gadget_error"], ["", ""]],
        caption="Table 2. Errors",
        groups=["Class W — Widget Errors", "Class W — Widget Errors", "Class G — Gadgets", "x"],
    )
    rendered = r.finish()
    return rendered.text, rendered.structure


def test_group_rows_are_written_on_lines_of_their_own() -> None:
    text, structure = _grouped()
    assert text == (
        "Table 2. Errors\nCode | Name\n"
        "Class W — Widget Errors\nW1 | widget_jammed\nW2 | widget\\|lost\n"
        "Class G — Gadgets\nG1 | gadget_error"
    )
    table = structure.tables()[0][1]
    assert table.rows == [["W1", "widget_jammed"], ["W2", "widget|lost"], ["G1", "gadget_error"]]
    assert table.groups == ["Class W — Widget Errors"] * 2 + ["Class G — Gadgets"]
    assert [text[a:b] for a, b in table.row_spans] == [
        "W1 | widget_jammed",
        "W2 | widget\\|lost",
        "G1 | gadget_error",
    ]
    assert table.end == len(text)
    plain = DocumentRenderer()
    plain.table([["A", "B"]], [["1", "2"], ["3", "4"]], groups=["", ""])
    assert plain.finish().structure.tables()[0][1].groups == []  # no group rows: no labels


def test_table_groups_survive_json_and_old_json_still_loads() -> None:
    _, structure = _grouped()
    data = json.loads(json.dumps(structure.to_json()))
    assert DocumentStructure.from_json(data) == structure
    table_json = data["root"]["b"][0]
    assert table_json["g"][2] == "Class G — Gadgets"
    del table_json["g"]  # as stored before tables had groups
    old = DocumentStructure.from_json(data).tables()[0][1]
    assert old.groups == [] and old.rows == structure.tables()[0][1].rows
    _, manual = _manual()
    assert "g" not in manual.to_json()["root"]["c"][0]["b"][0]  # a table without groups
