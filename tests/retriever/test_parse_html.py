"""Tests for retriever.parse_html: HTML pages into rendered text and structure."""

from __future__ import annotations

import inspect
import sys
import time
from pathlib import Path

import pytest

from retriever.listings import listings
from retriever.parse_html import HtmlParse, parse_html
from retriever.parse_text import parse_text
from retriever.structure import (
    Code,
    Definition,
    DefinitionList,
    DocumentStructure,
    ListBlock,
    ListItem,
    Paragraph,
    Table,
)

FIXTURES = Path(__file__).parent / "fixtures" / "html"


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def parse(html: str | bytes, **options: object) -> HtmlParse:
    result = parse_html(html, **options)  # type: ignore[arg-type]
    check_spans(result)
    return result


def check_spans(result: HtmlParse) -> None:
    """Every span lies inside the text and covers exactly what its part was written as."""
    text = result.document.text
    structure = result.document.structure
    n = len(text)
    assert structure.root.start == 0 and structure.root.end == n
    for section in structure.root.walk():
        assert 0 <= section.start <= section.end <= n
        if section.level:
            assert section.start <= section.heading_end <= section.end
            heading_line = "#" * section.level + " " + section.heading
            assert text[section.start : section.heading_end] == heading_line
            assert "\n" not in section.heading
        for block in section.blocks:
            assert section.start <= block.start <= block.end <= section.end
            check_block(text, block)
    # a round trip through the stored form keeps everything
    again = DocumentStructure.from_json(structure.to_json())
    assert again.to_json() == structure.to_json()


def escaped(row: list[str]) -> str:
    return " | ".join(cell.replace("|", "\\|") for cell in row)


def check_block(text: str, block: object) -> None:
    if isinstance(block, Paragraph | Code):
        assert text[block.start : block.end] == block.text
    elif isinstance(block, Table):
        lines = ([block.caption] if block.caption else []) + [escaped(r) for r in block.header]
        labels = block.groups or [""] * len(block.rows)
        assert len(labels) == len(block.rows)
        for row, label, above in zip(block.rows, labels, ["", *labels], strict=False):
            if label and label != above:
                lines.append(label)  # a group row: its label on a line of its own
            lines.append(escaped(row))
        assert text[block.start : block.end] == "\n".join(lines)
        assert len(block.row_spans) == len(block.rows)
        for (start, end), row in zip(block.row_spans, block.rows, strict=True):
            assert block.start <= start <= end <= block.end
            assert text[start:end] == escaped(row)
        widths = {len(row) for row in [*block.header, *block.rows]}
        assert len(widths) == 1
    elif isinstance(block, ListBlock):
        for number, item in enumerate(block.items, 1):
            bullet = f"{number}." if block.ordered else "-"
            check_item(text, item, bullet, block.start, block.end)
    elif isinstance(block, DefinitionList):
        for entry in block.entries:
            assert block.start <= entry.start <= entry.end <= block.end
            written = text[entry.start : entry.end]
            lines = entry.description.split("\n") if entry.description else []
            one = f"{entry.term}: {entry.description}"
            many = "\n".join([entry.term, *("  " + line if line else "" for line in lines)])
            assert written in (one, many)
    else:  # pragma: no cover
        raise AssertionError(f"unknown block {block!r}")


def check_item(text: str, item: ListItem, bullet: str, low: int, high: int) -> None:
    assert low <= item.start <= item.end <= high
    first_line = text[item.start : item.end].split("\n", 1)[0]
    assert first_line == f"{bullet} {item.text}".rstrip()
    for child in item.children:
        check_item(text, child, "-", item.start, item.end)


def item_tree(items: list[ListItem]) -> list[object]:
    return [(item.text, item_tree(item.children)) for item in items]


def blocks_of(result: HtmlParse, kind: type) -> list:
    return [block for _, block in result.document.structure.blocks() if isinstance(block, kind)]


# --- the fixtures -------------------------------------------------------------------------


def test_tables_with_multi_row_header_caption_and_spans() -> None:
    result = parse(read("tables.html"))
    assert result.title == "Survey of the Kessa System"
    assert result.problems == [] and not result.truncated
    tables = result.document.structure.tables()
    assert len(tables) == 2

    section, orbits = tables[0]
    assert section.path == ("Survey of the Kessa System", "Orbits")
    assert section.anchor == "orbits"
    assert orbits.caption == ""
    assert orbits.header == [
        ["World", "Orbit", "Orbit", "Moons"],
        ["World", "Period (days)", "Distance (AU)", "Moons"],
    ]
    assert orbits.columns == ["World", "Orbit / Period (days)", "Orbit / Distance (AU)", "Moons"]
    assert orbits.rows == [
        ["Veltra", "88", "0.41", "0"],
        ["Orsino", "231", "0.77", "2"],
        ["Kessa Prime", "402", "1.12", "1"],
        ["Dunmere", "1 930", "3.05", "14"],
    ]

    section, ferries = tables[1]
    assert section.path == ("Survey of the Kessa System", "Ferry timetable")
    assert ferries.caption == "Table 2. Ferry departures (local time)"
    assert ferries.header == [["Route", "Departs", "Arrives"]]
    assert ferries.columns == ["Route", "Departs", "Arrives"]
    assert ferries.rows == [
        ["North loop", "08:10", "09:05"],
        ["North loop", "12:40", "13:35"],
        ["South loop", "07:55", "08:30 (09:00 on holidays)"],
    ]
    text = result.document.text
    assert "Table 2. Ferry departures (local time)\nRoute | Departs | Arrives\n" in text
    assert "table {" not in text  # the style sheet is dropped
    assert result.document.structure.find_table("ferry departures") == tables[1]


def test_api_reference_definitions_keep_version_notes() -> None:
    result = parse(read("api.html"))
    structure = result.document.structure
    assert result.title == "shapekit.geometry — Geometry helpers — Shapekit 4.0 documentation"
    assert [(s.path, s.anchor) for s in structure.sections()] == [
        (("shapekit.geometry — Geometry helpers",), "module-shapekit.geometry"),
        (("shapekit.geometry — Geometry helpers", "Functions"), "functions"),
        (("shapekit.geometry — Geometry helpers", "Classes"), "classes"),
    ]
    found = [
        (section.path[-1], entry.term, entry.description)
        for section, block in structure.blocks()
        if isinstance(block, DefinitionList)
        for entry in block.entries
    ]
    assert found == [
        (
            "Functions",
            "shapekit.geometry.area(shape, unit=None)",
            "Return the area of shape in square units.\nNew in version 3.2.",
        ),
        (
            "Functions",
            "shapekit.geometry.rotate(shape, degrees)",
            "Rotate shape about its centre. Negative angles turn clockwise.\n"
            "Changed in version 3.5: Accepts angles outside the range 0–360.",
        ),
        (
            "Classes",
            "class shapekit.geometry.Circle(radius)",
            # the nested method list is flattened into the class's description
            "A circle of the given radius.\nscale(factor)\nGrow the circle by factor.\n"
            "Deprecated since version 3.9: Use resize().",
        ),
        (
            "Classes",
            "shapekit.geometry.ORIGIN, shapekit.geometry.ZERO",
            "The point (0, 0).\nNew in version 4.0.",
        ),
    ]
    text = result.document.text
    assert "¶" not in text  # heading self-links dropped
    # the related bar, the sidebar (role=navigation) and the footer (contentinfo) are gone
    for gone in ("modules", "Table of contents", "Copyright"):
        assert gone not in text


def test_navigation_is_dropped_and_content_link_lists_stay() -> None:
    result = parse(read("navigation.html"))
    text = result.document.text
    assert result.title == "Preparing Clay Soil | Lumen Garden Club"
    for gone in (
        "Events calendar",  # the header menu
        "Lumen Garden Club",  # the logo (an image alone is no paragraph)
        "Archive of old newsletters",  # <nav>
        "Guides ›",  # the breadcrumb bar
        "Previous: Soil basics",  # the prev/next table
        "Sitemap",  # the links after the content
        "Registered charity",  # <footer>
    ):
        assert gone not in text, gone
    assert text.startswith("# Preparing Clay Soil\n\nClay soil holds water")
    lists = blocks_of(result, ListBlock)
    assert [item_tree(block.items) for block in lists] == [
        [("Testing drainage", []), ("Adding compost", []), ("Building raised beds", [])],
        [("Improving sandy soil", []), ("Gardening on chalk", []), ("Understanding soil pH", [])],
    ]
    assert text.endswith("- Understanding soil pH")
    assert "Each guide takes about an afternoon" in text


def test_navigation_kept_without_main_only_except_dropped_elements() -> None:
    result = parse(read("navigation.html"), main_only=False)
    text = result.document.text
    assert "Events calendar" in text and "Previous: Soil basics" in text
    assert "Archive of old newsletters" not in text  # <nav> always goes
    assert "Registered charity" not in text  # and <footer>


def test_main_element_is_read_alone() -> None:
    html = """<html><body><div class="top"><a href="/">Home</a> <a href="/a">A</a></div>
    <p>Sign up for our newsletter today and never miss a post.</p>
    <main><h1>Inside main</h1><p>Only this.</p></main>
    <div><p>Related posts you might like, with lots of words in them.</p></div>
    </body></html>"""
    result = parse(html)
    assert result.document.text == "# Inside main\n\nOnly this."
    assert result.title == "Inside main"  # no <title>: the first <h1>
    whole = parse(html, main_only=False).document.text
    assert "Sign up for our newsletter" in whole and "Related posts" in whole


def test_single_article_is_read_alone_but_two_are_not() -> None:
    one = "<body><p>Site-wide banner text here.</p><article><h2>Post</h2><p>Body.</p></article>"
    assert parse(one).document.text == "## Post\n\nBody."
    two = one + "<article><h2>Other</h2><p>More.</p></article>"
    assert "Site-wide banner" in parse(two).document.text


def test_nested_lists() -> None:
    result = parse(read("nested_lists.html"))
    (block,) = blocks_of(result, ListBlock)
    assert block.ordered
    assert item_tree(block.items) == [
        (
            "Gather materials",
            [("Cedar boards", []), ("Screws", [("40 mm", []), ("60 mm", [])])],
        ),
        ("Cut the boards to length.", []),
        ("Assemble the frame and sand it", []),
    ]
    assert result.document.text.endswith(
        "1. Gather materials\n  - Cedar boards\n  - Screws\n    - 40 mm\n    - 60 mm\n"
        "2. Cut the boards to length.\n3. Assemble the frame and sand it"
    )


def test_broken_html_keeps_what_can_be_read() -> None:
    result = parse(read("broken.html"))
    text = result.document.text
    assert result.title == "Broken page"
    for kept in (
        "Harbor Notes",
        "First paragraph with bold text and no closing tags",
        "Second paragraph &bogus; entity & stray ampersand",
        "Unclosed span in a div",
        "item two",
        "Last words before the cut",
    ):
        assert kept in text, kept
    (table,) = blocks_of(result, Table)
    assert table.rows == [["cell one", "cell two"], ["cell three", ""]]
    # libxml2 recovers from all of it, as a browser would: no problem is reported for that
    assert not any("parse error" in problem for problem in result.problems)
    # a heading closed by the wrong end tag still ends where its text does
    sections = result.document.structure.sections()
    assert [s.path for s in sections] == [("Harbor Notes",), ("Harbor Notes", "Tide tables")]
    assert [item.text for item in sections[1].blocks[0].items] == [  # type: ignore[union-attr]
        "High water 06:12",
        "Low water 12:30",
    ]


def test_big_table_parses_quickly() -> None:
    rows = 22_000
    body = "".join(
        f'<tr class="row"><td class="id">{i}</td><td class="name">Item number {i:05d}</td>'
        f'<td class="qty" align="right">{i * 7 % 1000}</td>'
        f'<td class="note">Note for item {i}, with some padding words</td></tr>\n'
        for i in range(rows)
    )
    html = (
        "<html><head><title>Inventory</title></head><body><h1>Inventory</h1><table>"
        "<thead><tr><th>Id</th><th>Name</th><th>Quantity</th><th>Note</th></tr></thead>"
        f"<tbody>{body}</tbody></table></body></html>"
    )
    assert len(html) > 4_000_000
    started = time.perf_counter()
    result = parse_html(html, max_chars=10_000_000)
    elapsed = time.perf_counter() - started
    print(f"4 MB table: {elapsed:.2f} s")
    assert elapsed < 30
    check_spans(result)
    (table,) = blocks_of(result, Table)
    assert table.header == [["Id", "Name", "Quantity", "Note"]]
    assert len(table.rows) == rows
    assert table.rows[0] == [
        "0",
        "Item number 00000",
        "0",
        "Note for item 0, with some padding words",
    ]
    assert table.rows[-1][:2] == [str(rows - 1), f"Item number {rows - 1:05d}"]
    assert not result.truncated

    # the default limit cuts the table at a row boundary
    cut = parse(html)
    assert cut.truncated and len(cut.document.text) <= 1_000_000
    (table,) = blocks_of(cut, Table)
    assert 0 < len(table.rows) < rows
    assert table.rows[-1][0] == str(len(table.rows) - 1)
    assert cut.document.text.endswith(escaped(table.rows[-1]))


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   \n\t  ",
        b"",
        "\x00\x01\x02\x03binary\x00\x00\x07" * 50,
        bytes(range(256)) * 40,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(2000),
        "<html><head><title></title></head><body></body></html>",
        "<script>only()</script><style>p{}</style>",
        None,
        12345,
    ],
)
def test_empty_and_binary_input_give_an_empty_document_and_a_problem(junk: object) -> None:
    result = parse(junk)  # type: ignore[arg-type]
    assert result.document.text == ""
    assert result.title == ""
    assert result.problems
    assert result.document.structure.sections() == []


def test_max_chars_truncation_keeps_spans_valid() -> None:
    html = read("tables.html") + read("api.html") + read("nested_lists.html")
    full = parse(html, main_only=False)
    length = len(full.document.text)
    assert not full.truncated
    for limit in [0, 1, 10, 40, 60, 100, 150, 200, 333, 500, 700, 900, length - 1]:
        result = parse(html, main_only=False, max_chars=limit)
        text = result.document.text
        assert len(text) <= limit
        assert result.truncated
        assert any("cut" in problem for problem in result.problems)
        assert full.document.text.startswith(text[: max(0, len(text) - 40)])
    assert not parse(html, main_only=False, max_chars=length).truncated


def test_truncated_table_is_cut_at_a_row() -> None:
    rows = "".join(f"<tr><td>r{i}</td><td>{'x' * 20}</td></tr>" for i in range(50))
    html = f"<h1>T</h1><table><tr><th>Key</th><th>Value</th></tr>{rows}</table><p>after</p>"
    result = parse(html, max_chars=200)
    (table,) = blocks_of(result, Table)
    assert table.header == [["Key", "Value"]]
    assert 0 < len(table.rows) < 50
    assert result.document.text.endswith(f"r{len(table.rows) - 1} | {'x' * 20}")
    assert "after" not in result.document.text


# --- mechanisms ---------------------------------------------------------------------------


def test_inline_spacing_line_breaks_and_strikethrough() -> None:
    html = (
        "<p>foo<b>bar</b> baz<i> qux</i>\n  quux&nbsp;&nbsp;end\u200b.</p><p>next <del>old</del>"
        " <s> gone </s>new<br>second line<br/>third</p><div>loose <span>text</span>"
        "<div>inner block</div>tail text</div>"
    )
    result = parse(html)
    paragraphs = [block.text for block in blocks_of(result, Paragraph)]
    assert paragraphs == [
        "foobar baz qux quux end.",
        "next ~~old~~ ~~gone~~ new\nsecond line\nthird",
        "loose text",
        "inner block",
        "tail text",
    ]


def test_dropped_and_hidden_elements() -> None:
    html = """<html><head><title>T</title><style>.a{}</style></head><body>
    <h1>Kept</h1><script>bad()</script><noscript>enable js</noscript>
    <template><p>template text</p></template><svg><text>svg text</text></svg>
    <iframe src="x">frame text</iframe><object>object text</object>
    <form><label>Name</label> <input value="typed"><button>Send</button>
    <select><option>Pick me</option></select><textarea>area text</textarea></form>
    <p hidden>hidden text</p><p aria-hidden="true">aria text</p>
    <p style="color: red; display : none">styled away</p>
    <p>visible <span style="display:none">x</span>text</p>
    <div role="search">search box</div><div role="banner">banner text</div>
    <!-- a comment --><?php echo 1; ?>
    <p>Visible <img src="a.png" alt="[icon]"> after image</p><p><img src="b.png" alt="alone"></p>
    <hr></body></html>"""
    result = parse(html)
    assert result.document.text == "# Kept\n\nName\n\nvisible text\n\nVisible [icon] after image"


def test_heading_anchors() -> None:
    html = """<h1 id="top">Top</h1>
    <a name="legacy"></a><h2>Named before</h2>
    <h2><a id="inner"></a>Anchor inside</h2>
    <section id="sec-one"><h2>Section heading</h2><p>x</p><h3>Second heading</h3></section>
    <div class="section" id="wrapped"><div class="titlepage"><h2>Deep <em>heading</em>
    text</h2></div></div>
    <h2>Plain</h2>"""
    sections = parse(html).document.structure.sections()
    assert [(s.heading, s.level, s.anchor) for s in sections] == [
        ("Top", 1, "top"),
        ("Named before", 2, "legacy"),
        ("Anchor inside", 2, "inner"),
        ("Section heading", 2, "sec-one"),
        ("Second heading", 3, ""),
        ("Deep heading text", 2, "wrapped"),
        ("Plain", 2, ""),
    ]


def test_code_blocks_keep_lines_and_language() -> None:
    html = """<div class="highlight-python"><pre>def f(x):
    return  x * 2   </pre></div><pre><code class="language-sql">SELECT 1;
</code></pre>"""
    code = blocks_of(parse(html), Code)
    assert [(c.text, c.language) for c in code] == [
        ("def f(x):\n    return  x * 2", "python"),
        ("SELECT 1;", "sql"),
    ]


def test_definition_lists_group_terms_and_descriptions() -> None:
    html = """<dl><dt>alpha</dt><dt>beta</dt><dd>first</dd><dd>second <b>part</b></dd>
    <dt>gamma</dt><dd><p>one</p><dl><dt>inner</dt><dd>nested</dd></dl></dd>
    <div><dt>delta</dt><dd>grouped</dd></div><dt>lone one</dt><dt>lone two</dt></dl>"""
    result = parse(html)
    (block,) = blocks_of(result, DefinitionList)
    assert [(e.term, e.description) for e in block.entries] == [
        ("alpha, beta", "first\nsecond part"),
        ("gamma", "one\ninner\nnested"),
        ("delta", "grouped"),
        ("lone one", ""),  # terms with no description are entries of their own
        ("lone two", ""),
    ]
    assert result.document.text.endswith("delta: grouped\nlone one\nlone two")
    assert all(isinstance(e, Definition) for e in block.entries)


def test_layout_tables_are_read_as_blocks_and_nested_tables_flattened() -> None:
    html = """<table><tr><td><h1>Layout</h1><p>Paragraph one.</p>
    <table><tr><td>a</td></tr><tr><td>b</td></tr><tr><td>c</td></tr><tr><td>d</td></tr></table>
    </td><td><ul><li>side</li></ul></td></tr></table>
    <table><tr><td><pre>only code</pre></td></tr></table>
    <table><tr><th>Name</th><th>Parts</th></tr>
    <tr><td>kit</td><td><table><tr><td>bolt</td><td>nut</td></tr></table></td></tr></table>"""
    result = parse(html)
    structure = result.document.structure
    assert [s.heading for s in structure.sections()] == ["Layout"]
    kinds = [block.kind for _, block in structure.blocks()]
    assert kinds == ["paragraph", "table", "list", "code", "table"]
    tables = blocks_of(result, Table)
    assert tables[0].rows == [["a"], ["b"], ["c"], ["d"]]
    assert tables[1].header == [["Name", "Parts"]] and tables[1].rows == [["kit", "bolt nut"]]


def test_bad_spans_are_clamped() -> None:
    html = """<table><tr><th>A</th><th colspan="x">B</th><th colspan="0">C</th></tr>
    <tr><td rowspan="0">r0</td><td rowspan="9999">tall</td><td colspan="3">wide</td></tr>
    <tr><td>late</td></tr>
    <tr></tr>
    <tr><td colspan="100000">huge</td></tr></table>"""
    result = parse(html)
    (table,) = blocks_of(result, Table)
    assert table.header[0][:3] == ["A", "B", "C"]
    assert table.rows[0][:5] == ["r0", "tall", "wide", "wide", "wide"]
    assert table.rows[1][:3] == ["r0", "tall", "late"]
    assert table.rows[2][:2] == ["r0", "tall"]
    assert len(table.rows) == 3
    assert table.width == 1000  # the cap
    assert "a table wider than 1000 columns was cut" in result.problems


GROUPED = """<h1>Widget error codes</h1>
<table><thead><tr><th>Code</th><th>Name</th></tr></thead><tbody>
<tr><td colspan="2">Class 12 — Widget Errors</td></tr>
<tr><td>12000</td><td>widget_error</td></tr>
<tr><td>12001</td><td>widget_jammed</td></tr>
<tr><th colspan="2">Class 13 — Gadget Errors</th></tr>
<tr><td>13000</td><td>gadget_error</td></tr>
<tr><td colspan="2">Every code here is made up.</td></tr>
</tbody></table>
<table><tr><th>Code</th><th>Name</th></tr>
<tr><th colspan="2">Frobnication</th></tr>
<tr><th colspan="2">Frobnication, first phase</th></tr>
<tr><td>F1</td><td>frob_started</td></tr>
<tr><td colspan="2">%s</td></tr>
<tr><td rowspan="2">F3</td><td>frob_paused</td></tr>
<tr><td>not a group: F3 spans into this row</td></tr>
<tr><td>F2</td><td>frob_stopped</td></tr>
</table>""" % ("A long note. " * 12)


def test_group_rows_label_the_rows_below_them() -> None:
    result = parse(GROUPED)
    first, second = blocks_of(result, Table)
    assert first.header == [["Code", "Name"]]
    assert first.rows == [
        ["12000", "widget_error"],
        ["12001", "widget_jammed"],
        ["13000", "gadget_error"],
        ["Every code here is made up.", "Every code here is made up."],  # no rows under it
    ]
    assert first.groups == ["Class 12 — Widget Errors"] * 2 + ["Class 13 — Gadget Errors"] * 2
    text = result.document.text
    assert "Code | Name\nClass 12 — Widget Errors\n12000 | widget_error\n" in text
    # without a <thead>: a spanning <th> under the header row is a group row, not a header
    assert second.header == [["Code", "Name"]]
    assert [row[0] for row in second.rows] == [
        "Frobnication",  # another group row under it: it stays a row
        "F1",
        ("A long note. " * 12).strip(),  # too long for a label
        "F3",
        "F3",
        "F2",
    ]
    assert second.rows[4] == ["F3", "not a group: F3 spans into this row"]
    assert second.groups == [""] + ["Frobnication, first phase"] * 5
    # the text reads back as the same tables
    again = parse_text(text)
    assert [t for _, t in again.tables()] == [first, second]
    assert listings(result.document.structure)[0].rows[2].group == "Class 13 — Gadget Errors"


def test_group_rows_survive_truncation() -> None:
    rows = "".join(
        f'<tr><td colspan="2">Group {g}</td></tr>'
        + "".join(f"<tr><td>c{g}{k}</td><td>{'x' * 20}</td></tr>" for k in range(5))
        for g in range(10)
    )
    html = f"<h1>T</h1><table><tr><th>Code</th><th>Value</th></tr>{rows}</table>"
    result = parse(html, max_chars=400)
    assert result.truncated
    (table,) = blocks_of(result, Table)
    assert 0 < len(table.rows) < 50 and len(table.groups) == len(table.rows)
    assert table.groups[0] == "Group 0" and table.rows[0][0] == "c00"


def test_all_th_table_keeps_first_row_as_header() -> None:
    html = "<table><tr><th>K</th><th>V</th></tr><tr><th>a</th><th>1</th></tr></table>"
    (table,) = blocks_of(parse(html), Table)
    assert table.header == [["K", "V"]] and table.rows == [["a", "1"]]


def test_deep_nesting_does_not_break() -> None:
    for depth in (300, 5_000, 50_000):
        html = "<div>" * depth + "deep text" + "</div>" * depth + "<p>after the nest</p>"
        result = parse(html)
        assert "deep text" in result.document.text
        assert "after the nest" in result.document.text
    lists = "<ul><li>x" * 3000 + "</li></ul>" * 3000
    assert "x" in parse(lists).document.text
    spans = "<span>a " * 3000 + "z"
    assert parse(spans).document.text.endswith("z")


def test_bytes_in_a_declared_charset_and_upper_case_tags() -> None:
    html = '<HTML><HEAD><META charset="iso-8859-1"><TITLE>Caf\xe9</TITLE></HEAD><BODY>'
    html += "<H2>R\xe9sum\xe9</H2><P>Na\xefve</P></BODY></HTML>"
    result = parse(html.encode("latin-1"))
    assert result.title == "Café"
    assert result.document.text == "## Résumé\n\nNaïve"
    assert parse(html).document.text == "## Résumé\n\nNaïve"


def test_link_lists_in_the_middle_survive_but_leading_menus_go() -> None:
    links = "".join(f'<li><a href="/m{i}">Module {i}</a></li>' for i in range(8))
    html = f"""<div class="menu"><a href="/">Home</a> <a href="/b">Blog</a>
    <a href="/c">Contact</a></div>
    <div id="body"><h1>Library modules</h1><p>The modules of the library:</p>
    <ul>{links}</ul></div>
    <div class="foot"><a href="/x">About</a> | <a href="/y">Jobs</a> |
    <a href="/z">Press</a></div>"""
    result = parse(html)
    text = result.document.text
    assert "Home" not in text and "Press" not in text
    (block,) = blocks_of(result, ListBlock)
    assert [item.text for item in block.items] == [f"Module {i}" for i in range(8)]


def test_trailing_content_lists_stay_and_trailing_bars_go() -> None:
    links = "".join(f'<li><a href="c{i}.html">CONST_{i}</a></li>' for i in range(20))
    flat = f"""<h1>Constants</h1><p>All constants of the toolkit:</p><ul>{links}</ul>
    <p><a href="a.html">Prev</a> | <a href="b.html">Up</a> | <a href="c.html">Next</a></p>"""
    result = parse(flat)
    (block,) = blocks_of(result, ListBlock)
    assert len(block.items) == 20
    assert "Prev" not in result.document.text

    terms = "".join(
        f'<dt><a href="t{i}.html">T{i}</a></dt><dd><a href="d{i}.html">Term {i}</a></dd>'
        for i in range(6)
    )
    wrapped = f"""<div class="chapter"><div class="title"><h2>Acronyms</h2></div>
    <p>Acronyms used in this manual.</p><dl>{terms}</dl></div>
    <div class="pager"><table><tr><td><a href="p.html">Prev</a></td>
    <td><a href="n.html">Next</a></td></tr></table></div>"""
    result = parse(wrapped)
    (block,) = blocks_of(result, DefinitionList)
    assert [(e.term, e.description) for e in block.entries][:2] == [
        ("T0", "Term 0"),
        ("T1", "Term 1"),
    ]
    assert blocks_of(result, Table) == []
    assert "Prev" not in result.document.text

    heading_then_links = f"<h1>Index</h1><p>{' '.join(links.split('</li>'))}</p>"
    assert "CONST_19" in parse(heading_then_links).document.text


def test_sidebar_and_link_bars_after_the_content_go() -> None:
    result = parse(read("blog.html"))
    text = result.document.text
    assert text.startswith("## My trip to Norway\n\nPosted by Ann on 3 May in Travel, Europe\n")
    for gone in ("Trips", "norway trains", "Twitter", "Recent posts", "Iceland", "Archives"):
        assert gone not in text, gone
    assert "Privacy" not in text
    (block,) = blocks_of(result, ListBlock)
    assert [item.text for item in block.items] == ["Hotel Fjord", "Cabin Nord", "Oslo Hostel"]
    assert text.endswith("Would recommend all three.\n\nCopyright 2031 Wanderlog")


def test_links_side_by_side_are_not_glued() -> None:
    html = (
        '<p>Read <a href="a">more</a>.</p><div><a href="/p">← Back</a><a href="/n">Next →</a></div>'
    )
    assert parse(html, main_only=False).document.text == "Read more.\n\n← Back Next →"


def test_deep_html_read_from_a_deep_caller_stack() -> None:
    html = "<div><blockquote><section>" * 100 + "bottom text"

    def nested(levels: int) -> HtmlParse:
        return nested(levels - 1) if levels else parse_html(html)

    frames = len(inspect.stack(0))
    result = nested(sys.getrecursionlimit() - frames - 220)
    check_spans(result)
    assert "bottom text" in result.document.text
    assert not any("could not be read" in problem for problem in result.problems)


def test_a_heading_labelling_a_small_box_is_no_section() -> None:
    html = """<div class="chapter" id="ch"><h2>Spacing</h2><p>Plant rows apart.</p>
    <div class="note"><h3>Note</h3><p>Wet soil needs wider rows.</p></div>
    <p>Rows run north to south.</p>
    <div class="section" id="depth"><h3>Depth</h3><p>Sow shallow.</p></div>
    <div class="tip"><h3>Tip</h3><p>Mark each row.</p></div></div>"""
    structure = parse(html).document.structure
    assert [(s.path, s.anchor) for s in structure.sections()] == [
        (("Spacing",), "ch"),
        (("Spacing", "Depth"), "depth"),
        (("Spacing", "Tip"), ""),  # nothing follows the box: a heading like any other
    ]
    spacing = structure.sections()[0]
    assert [b.text for b in spacing.blocks] == [  # type: ignore[union-attr]
        "Plant rows apart.",
        "Note",
        "Wet soil needs wider rows.",
        "Rows run north to south.",
    ]


def test_a_data_table_with_one_long_cell_stays_a_table() -> None:
    long_cell = "".join(
        f"<p>Paragraph {n} of a long description of the last step.</p>" for n in range(12)
    )
    rows = "".join(f"<tr><td>step{n}</td><td>Does thing {n}.</td></tr>" for n in range(5))
    html = (
        "<h1>Steps</h1><table><tr><th>Step</th><th>What it does</th></tr>"
        f"{rows}<tr><td>last</td><td>{long_cell}</td></tr></table>"
    )
    (table,) = blocks_of(parse_html(html), Table)
    assert table.columns == ["Step", "What it does"]
    assert len(table.rows) == 6 and table.rows[5][1].startswith("Paragraph 0 of a long")
    # a table of two rows whose cell holds many blocks is a page layout, read as blocks
    layout = (
        f"<table><tr><td>menu</td><td>{long_cell}</td></tr><tr><td>a</td><td>b</td></tr></table>"
    )
    assert not blocks_of(parse_html(layout), Table)
