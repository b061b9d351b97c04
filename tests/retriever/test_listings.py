from __future__ import annotations

from retriever.listings import ListingKind, listings, row_name
from retriever.parse_html import parse_html
from retriever.parse_text import parse_text

RELEASES = """<html><head><title>Tidewater changelog</title></head><body>
<h1>Tidewater changelog</h1>
<p>Every release of the Tidewater tide-table library.</p>
<h2 id="v3-1">Release 3.1 (2024-05-02)</h2>
<ul><li>Adds harmonic constituent M8.</li><li>Fixes a leap-year bug.</li></ul>
<h2 id="v3-0">Release 3.0 (2023-11-20)</h2>
<p>Drops Python 3.8.</p>
<h2 id="v2-9">Release 2.9 (2023-06-14)</h2>
<p>Faster predictions.</p>
</body></html>"""

STATIONS = """# Tide stations

Stations and their mean range.

Station | Region | Mean range (m)
Ayrmouth | North | 3.2
Kelby Sound | North | 1.1
Port Lenn | South | 4.8

## Notes

Name: Tide station survey
Year: 2019

Instruments:
- float gauge - older stations
- radar gauge - since 2015
  - pulsed
  - continuous wave
"""


def test_rows_of_a_table_keep_their_cells_under_their_columns() -> None:
    structure = parse_text(STATIONS)
    [table] = [item for item in listings(structure) if item.kind is ListingKind.TABLE]
    assert table.columns == ["Station", "Region", "Mean range (m)"]
    assert table.section == ("Tide stations",)
    assert [row.name for row in table.rows] == ["Ayrmouth", "Kelby Sound", "Port Lenn"]
    assert table.rows[2].values == {
        "Station": "Port Lenn",
        "Region": "South",
        "Mean range (m)": "4.8",
    }
    assert STATIONS[table.rows[1].start : table.rows[1].end] == "Kelby Sound | North | 1.1"


def test_definitions_and_nested_lists_are_listings_too() -> None:
    structure = parse_text(STATIONS)
    found = {item.kind: item for item in listings(structure)}
    definitions = found[ListingKind.DEFINITIONS]
    assert [(row.name, row.values) for row in definitions.rows] == [
        ("Name", {"description": "Tide station survey"}),
        ("Year", {"description": "2019"}),
    ]
    gauges = found[ListingKind.LIST]
    assert [row.name for row in gauges.rows] == ["float gauge", "radar gauge"]
    assert [row.name for row in gauges.children[0].rows] == ["pulsed", "continuous wave"]
    assert gauges.section == ("Tide stations", "Notes")


def test_a_run_of_entry_sections_gives_one_row_per_heading() -> None:
    page = parse_html(RELEASES)
    text = page.document.text
    runs = [item for item in listings(page.document.structure) if item.kind is ListingKind.SECTIONS]
    [run] = runs
    assert run.section == ("Tidewater changelog",)
    assert [row.name for row in run.rows] == ["Release 3.1", "Release 3.0", "Release 2.9"]
    first = text[run.rows[0].start : run.rows[0].end]
    assert first.startswith("## Release 3.1 (2024-05-02)") and "leap-year" in first
    assert "Release 3.0" not in first
    # the release's own list is a listing inside the run's span, after it
    kinds = [item.kind for item in listings(page.document.structure)]
    assert kinds == [ListingKind.SECTIONS, ListingKind.LIST]


def test_single_rows_are_no_listing_and_names_are_leads() -> None:
    assert listings(parse_text("Only | one\nrow | here\n\n- just one item\n")) == []
    assert row_name("gzip - compress or expand files") == "gzip"
    assert row_name("Release 2.4 (2021-03-01)") == "Release 2.4"
    assert row_name("max_connections: the most clients") == "max_connections"
    assert row_name("Plain name.") == "Plain name"


def test_rows_of_a_grouped_table_carry_their_group() -> None:
    text = (
        "Error | Meaning\nClass 12 — Widget Errors\n12000 | widget_error\n12001 | widget_jammed\n"
        "Class 13 — Gadget Errors\n13000 | gadget_error\n"
    )
    [table] = listings(parse_text(text))
    assert [(row.name, row.group) for row in table.rows] == [
        ("12000", "Class 12 — Widget Errors"),
        ("12001", "Class 12 — Widget Errors"),
        ("13000", "Class 13 — Gadget Errors"),
    ]
    assert table.rows[2].values == {"Error": "13000", "Meaning": "gadget_error"}
    assert text[table.rows[2].start : table.rows[2].end] == "13000 | gadget_error"
    [plain] = listings(parse_text(STATIONS.split("## Notes")[0]))
    assert {row.group for row in plain.rows} == {""}


def test_a_sentence_that_names_things_is_a_listing_of_them() -> None:
    text = (
        "# Formats\n\nThe viewer opens many files. The supported formats are PNG, JPEG, GIF "
        "and WebP. Plugins such as crop, rotate and blur are bundled.\n"
    )
    found = [entry for entry in listings(parse_text(text)) if entry.kind is ListingKind.SENTENCE]
    assert [[r.name for r in entry.rows] for entry in found] == [
        ["PNG", "JPEG", "GIF", "WebP"],
        ["crop", "rotate", "blur"],
    ]
    # each row stands on its sentence, which states what holds for all of them
    assert text[found[1].rows[0].start : found[1].rows[0].end].endswith("are bundled.")


def test_a_sentence_of_clauses_is_no_listing() -> None:
    text = (
        "# History\n\nIt was written in 2019, rewritten in 2021, and it is fast. We tested it "
        "on laptops, it ran well on phones, and they liked it.\n"
    )
    assert not [e for e in listings(parse_text(text)) if e.kind is ListingKind.SENTENCE]


CONTENTS = """## Appendix C. Bundled Tools

Contents

C.1. tidecalc
C.2. gaugelog
C.2.1. Options
C.2.2. Output Format
C.3. buoyctl
buoy_list — lists the buoys
buoy_ping — checks one buoy
C.4. chartgen
C.4.1. Examples

This appendix describes the tools that ship with the harbour kit.

## Commands

HALT — stop the current job
RESUME — continue a halted job
LOG ROTATE — start a new log file
STATUS - show what is running
PURGE — remove finished jobs, their logs and their outputs from the spool, keeping the \
summary lines of each job in the journal for a month
"""


def test_plain_lines_of_contents_and_of_names_with_summaries_are_listings() -> None:
    """A table of contents written as plain lines gives its outermost entries, each standing
    on its own lines down to the next (sub-entries and other lines under it included); an index
    of "name — summary" lines gives one row per line with its summary. Prose after a blank line
    is not part of either."""
    structure = parse_text(CONTENTS, markdown=True)
    found = [item for item in listings(structure) if item.kind is ListingKind.LIST]
    contents = next(item for item in found if item.columns == ["number"])
    assert [r.name for r in contents.rows] == ["tidecalc", "gaugelog", "buoyctl", "chartgen"]
    assert [r.values["number"] for r in contents.rows] == ["C.1", "C.2", "C.3", "C.4"]
    gauge = CONTENTS[contents.rows[1].start : contents.rows[1].end]
    assert gauge.startswith("C.2. gaugelog") and "C.2.2. Output Format" in gauge
    assert "C.3" not in gauge
    assert "buoy_ping" in CONTENTS[contents.rows[2].start : contents.rows[2].end]
    assert "appendix describes" not in CONTENTS[contents.rows[-1].start : contents.rows[-1].end]
    index = next(item for item in found if item.columns == ["summary"])
    assert [r.name for r in index.rows] == ["HALT", "RESUME", "LOG ROTATE", "STATUS", "PURGE"]
    assert index.rows[2].values["summary"] == "start a new log file"  # long lines and all
    assert CONTENTS[index.rows[0].start : index.rows[0].end] == "HALT — stop the current job"


def test_prose_lines_are_no_listing_of_entries() -> None:
    """Lines of a paragraph that only now and then hold a dash or a number are prose."""
    prose = (
        "## Notes\n\nThe tool reads its settings at start - once.\nIt then waits for jobs.\n"
        "Jobs run in order.\nA failed job is retried - at most 3 times.\nLogs are kept.\n"
    )
    structure = parse_text(prose, markdown=True)
    assert not [item for item in listings(structure) if item.kind is ListingKind.LIST]
