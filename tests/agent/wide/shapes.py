"""Fixture corpora for wide research, one per shape of document the rows can come from: a
filtered table, an API reference with version notes in prose, a release list with one page per
release, definition entries in prose, a list page with entity pages, and labelled records.

Every name and fact here is invented (the "Quill" editor, the "tidyup" tool, the city of
Varnholm, the Skerrow coast). Each builder returns a `Shape`: the documents (with a few
distractors), a wide question, the plan the scripted planner replies with, the facts the
scripted extractor may copy (per row, by column name, only when its excerpt shows them), the
quotes the scripted checker gives for the rows that meet the conditions, and the expected table
with the documents the answer must cite."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retriever.corpus_store import CorpusStore
from retriever.types import Document

CORPUS = "shapes"


@dataclass
class Shape:
    name: str
    documents: list[Document]
    question: str
    plan: dict[str, Any]
    expected: set[tuple[str, ...]]
    """The table's rows, as tuples in the question's column order."""
    cited: dict[str, set[str]]
    """Row key -> the URLs its sources line must name (at least these)."""
    facts: dict[str, dict[str, str]] = field(default_factory=dict)
    """Row key -> column name -> the value as the row's own text states it."""
    quotes: dict[str, str] = field(default_factory=dict)
    """Row key -> the words that show it meets the conditions (for targeted checks)."""
    traps: list[Document] = field(default_factory=list)
    """Harder distractors: documents that state the condition's text, or a listing of other
    things, without being (or listing) the question's entities. Not in `documents`."""

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.plan["columns"]]

    def store(self, tmp_path: Path, *, traps: bool = False) -> CorpusStore:
        store = CorpusStore(tmp_path / "corpus.db")
        store.add_documents(CORPUS, [*self.documents, *(self.traps if traps else [])])
        return store


def doc(doc_id: str, title: str, body: str, host: str = "docs.example") -> Document:
    """A plain-text document whose text opens with its title."""
    return Document(doc_id, f"{title}\n\n{body.strip()}\n", f"https://{host}/{doc_id}", title)


def url(doc_id: str, host: str = "docs.example") -> str:
    return f"https://{host}/{doc_id}"


def question(lead: str, columns: dict[str, str]) -> str:
    described = "\n".join(f"- {name}: {what}" for name, what in columns.items())
    return (
        f"{lead}\n\nFor each entry, provide:\n{described}\n\nPlease organize the results in one "
        "Markdown table with the following columns in order:\n" + ", ".join(columns) + "\n"
    )


# --- 1. a page with a filtered table ---------------------------------------------------------

QUILL_PLUGINS = [
    # name, category, since
    ("Spellwise", "Editing", "1.2"),
    ("Jumplist", "Navigation", "1.4"),
    ("Inkwell Themes", "Appearance", "2.0"),
    ("Breadcrumbs", "Navigation", "2.1"),
    ("Outline View", "Navigation", "1.0"),
    ("Autopair", "Editing", "1.1"),
    ("PDF Export", "Export", "3.0"),
    ("Minimap", "Navigation", "2.6"),
    ("Font Ligatures", "Appearance", "2.2"),
    ("Snippet Box", "Editing", "2.4"),
    ("HTML Export", "Export", "1.9"),
    ("Bookmarks", "Navigation", "3.1"),
]
NAVIGATION = [p for p in QUILL_PLUGINS if p[1] == "Navigation"]


def filtered_table() -> Shape:
    rows = "\n".join(f"{name} | {category} | {since}" for name, category, since in QUILL_PLUGINS)
    catalogue = doc(
        "quill/plugins",
        "Quill plugin catalogue",
        "Quill ships with a set of bundled plugins. Each one can be switched off in the "
        "settings window.\n\n## Bundled plugins\n\nName | Category | Since\n"
        f"{rows}\n\nPlugins written by other authors are listed on the community page.",
    )
    documents = [
        catalogue,
        doc(
            "quill/navigating",
            "Navigating large files in Quill",
            "Quill offers several navigation aids for long documents. The Minimap plugin shows "
            "a small picture of the whole file, and Ctrl+G jumps to a line number.\n\nMost "
            "people turn on the Bookmarks plugin once their files pass a few thousand lines.",
        ),
        doc(
            "quill/community",
            "Quill community plugins",
            "Plugins from other authors are reviewed before they are listed. Send yours to the "
            "plugin review board with a short description and a licence.",
        ),
    ]
    plan = {
        "entity": "Quill plugin",
        "columns": [{"name": "Name", "type": "text"}, {"name": "Since", "type": "text"}],
        "key_column": "Name",
        "conditions": [{"field": "Category", "test": "equals", "value": "Navigation"}],
        "queries": ["Quill plugin Navigation category"],
    }
    return Shape(
        "filtered table",
        documents,
        question(
            "List every bundled Quill plugin whose category is Navigation.",
            {"Name": "the plugin's name", "Since": "the Quill version that first shipped it"},
        ),
        plan,
        {(name, since) for name, _, since in NAVIGATION},
        {name: {catalogue.url} for name, _, _ in NAVIGATION},
        traps=[
            doc(
                "quill/shortcuts",
                "Quill keyboard shortcuts",
                "The default key bindings.\n\n## Bindings\n\nShortcut | Action\nCtrl+G | Go "
                "to line\nCtrl+P | Open the navigation palette\nCtrl+S | Save the file\n"
                "Ctrl+W | Close the tab",
            )
        ],
    )


# --- 2. an API reference with version notes in prose ------------------------------------------

TIDYUP_FUNCTIONS = [
    # name, what it does, how the version note is written, version
    ("scan", "walks a directory and lists the files tidyup would move", "Added in version", "1.0"),
    ("dry_run", "prints what a sweep would do without moving anything", "Added in version", "1.6"),
    ("tidy_path", "turns a messy file name into a clean one", "Added in version", "2.4"),
    ("archive_old", "moves files older than a number of days into the archive folder",
     "This function was added in version", "2.9"),
    ("prune_empty", "removes the empty folders a sweep leaves behind", "New in version", "2.10"),
    ("restore", "moves an archived file back to where it was found", "Added in version", "3.0"),
]  # fmt: skip
LATER_FUNCTIONS = ["archive_old", "prune_empty", "restore"]
"""Added in version 2.5 or later: 2.9, 2.10 (later than 2.9, though 2.10 < 2.5 as a decimal
number) and 3.0."""


def api_reference(heading: str = "Functions") -> Shape:
    """The reference's entries sit under `heading`."""
    sections = "\n\n".join(
        f"### {name}\n\n{name}(directory) {what}. {note} {version}."
        for name, what, note, version in TIDYUP_FUNCTIONS
    )
    reference = doc(
        "tidyup/api",
        "tidyup API reference",
        "The tidyup module can be used from Python scripts. This page describes its public "
        f"functions.\n\n## {heading}\n\n{sections}\n\n## Errors\n\nEvery function raises "
        "TidyError when the directory cannot be read.",
    )
    documents = [
        reference,
        doc(
            "tidyup/install",
            "Installing tidyup",
            "tidyup runs on any machine with Python. Install it with pip and check the "
            "installed copy with tidyup --version.",
        ),
        doc(
            "tidyup/tutorial",
            "A first tidyup script",
            "This tutorial calls scan on the Downloads folder, then archive_old with a limit "
            "of 30 days, and prints every function's result.",
        ),
        doc(
            "quill/scripting",
            "Scripting Quill",
            "Quill macros are small scripts. Each macro function receives the open file and "
            "returns the new text.",
        ),
    ]
    plan = {
        "entity": "tidyup function",
        "columns": [{"name": "Function", "type": "text"}, {"name": "Version", "type": "text"}],
        "key_column": "Function",
        "conditions": [{"field": "Version", "test": "at_least", "value": "2.5"}],
        "queries": ["tidyup function added in version", "tidyup API functions"],
    }
    facts = {name: {"Version": version} for name, _, _, version in TIDYUP_FUNCTIONS}
    quotes = {
        name: f"{note} {version}."
        for name, _, note, version in TIDYUP_FUNCTIONS
        if name in LATER_FUNCTIONS
    }
    return Shape(
        "API reference",
        documents,
        question(
            "List every tidyup API function added in version 2.5 or later.",
            {"Function": "the function's name", "Version": "the version that added it"},
        ),
        plan,
        {(name, version) for name, _, _, version in TIDYUP_FUNCTIONS if name in LATER_FUNCTIONS},
        {name: {reference.url} for name in LATER_FUNCTIONS},
        facts,
        quotes,
    )


# --- 3. a release list with one page per release ---------------------------------------------

TIDYUP_RELEASES = [
    # release, how its page states the date, the date as the table gives it
    ("Release 3.2", "tidyup 3.2 was released on 14 March 2024.", "14 March 2024", "2024-03-14"),
    ("Release 3.1", "This release came out on 2 November 2023.", "2 November 2023", "2023-11-02"),
    ("Release 3.0", "tidyup 3.0 shipped on July 9, 2023.", "July 9, 2023", "2023-07-09"),
    ("Release 2.9", "Released on 2023-01-20 after a long beta.", "2023-01-20", "2023-01-20"),
    ("Release 2.8", "The 2.8 release was published on 5 August 2022.", "5 August 2022",
     "2022-08-05"),
]  # fmt: skip


def release_slug(release: str) -> str:
    return "tidyup/" + release.lower().replace(" ", "-")


def release_notes(heading: str = "Releases", labelled: bool = False) -> Shape:
    """The history lists the releases under `heading`; each release's page states its date in
    a sentence, or (`labelled`) on a "Release date:" line."""
    items = "\n".join(f"- {release}" for release, *_ in TIDYUP_RELEASES)
    history = doc(
        "tidyup/releases",
        "tidyup release history",
        "Every tidyup release so far, newest first. Each release has its own notes page."
        f"\n\n## {heading}\n\n{items}",
    )
    pages = [
        doc(
            release_slug(release),
            f"{release} — tidyup",
            (f"Release date: {date}\n\n" if labelled else f"{stated} ")
            + "It brings fixes to the archive step and clearer messages.\n\n"
            "See the release history for the other tidyup releases.",
        )
        for release, stated, date, _ in TIDYUP_RELEASES
    ]
    documents = [
        history,
        *pages,
        doc(
            "quill/release-3-2",
            "Quill 3.2 release",
            "Quill 3.2 was released on 30 April 2024 with a new minimap.",
        ),
    ]
    plan = {
        "entity": "tidyup release",
        "columns": [{"name": "Release", "type": "text"}, {"name": "Date", "type": "date"}],
        "key_column": "Release",
        "conditions": [{"field": "", "test": "contains", "value": "tidyup"}],
        "queries": ["tidyup release history", "tidyup release date"],
    }
    facts = {release: {"Date": stated} for release, _, stated, _ in TIDYUP_RELEASES}
    return Shape(
        "release notes",
        documents,
        question(
            "List every tidyup release in the release history with its release date.",
            {"Release": "the release, e.g. Release 1.0", "Date": "the day it was released"},
        ),
        plan,
        {(release, iso) for release, _, _, iso in TIDYUP_RELEASES},
        {release: {history.url, url(release_slug(release))} for release, *_ in TIDYUP_RELEASES},
        facts,
        traps=[
            doc(
                "tidyup/upgrading",
                "Upgrading tidyup",
                "Moving from Release 2.9 to Release 3.0 needs one change: the archive folder "
                "setting was renamed. This guide was written on 1 June 2023.",
            )
        ],
    )


# --- 4. prose that enumerates: definition entries --------------------------------------------

TIDYUP_OPTIONS = [
    # option, description, startup only, default
    ("watch-dir", "The directory tidyup watches for new files. This option can only be set "
     "at startup. The default is ~/Downloads.", True, "~/Downloads"),
    ("keep-days", "How many days a file stays before it is archived. The default is 30.",
     False, "30"),
    ("archive-dir", "Where archived files go. It can only be set at startup. The default is "
     "~/Archive.", True, "~/Archive"),
    ("log-level", "How much tidyup writes to its log file. The default is info.", False,
     "info"),
    ("workers", "How many files tidyup moves at the same time. This can only be set at "
     "startup. The default is 2.", True, "2"),
    ("quiet-hours", "Hours of the day when tidyup moves nothing at all. The default is "
     "none.", False, "none"),
]  # fmt: skip
STARTUP = "can only be set at startup"


def option_entries() -> Shape:
    entries = "\n\n".join(f"{option}\n\n{text}" for option, text, _, _ in TIDYUP_OPTIONS)
    options = doc(
        "tidyup/options",
        "tidyup configuration options",
        "tidyup reads its options from tidyup.toml. Most options can be changed while tidyup "
        f"runs: the file is read again when it changes.\n\n## Options\n\n{entries}",
    )
    documents = [
        options,
        doc(
            "quill/settings",
            "Quill settings window",
            "The settings window of Quill has three tabs: Editor, Plugins and Keys. Changes "
            "apply at once.",
        ),
    ]
    plan = {
        "entity": "tidyup option",
        "columns": [{"name": "Option", "type": "text"}, {"name": "Default", "type": "text"}],
        "key_column": "Option",
        "conditions": [{"field": "", "test": "contains", "value": STARTUP}],
        "queries": ["tidyup option startup", "tidyup configuration options"],
    }
    members = [(o, d) for o, _, startup, d in TIDYUP_OPTIONS if startup]
    return Shape(
        "definition entries",
        documents,
        question(
            f'List every tidyup configuration option that "{STARTUP}".',
            {"Option": "the option's name", "Default": "its default value"},
        ),
        plan,
        set(members),
        {option: {options.url} for option, _ in members},
        {o: {"Default": d} for o, _, _, d in TIDYUP_OPTIONS},
        {o: STARTUP for o, _ in members},
        traps=[
            doc(
                "tidyup/faq",
                "tidyup questions and answers",
                "Why does a new watch folder not apply? That option can only be set at "
                "startup, so restart tidyup after changing it.\n\nWhy are some files never "
                "moved? Files that are open in another program are skipped.",
            )
        ],
    )


# --- 5. a list page and one page per entity --------------------------------------------------

VARNHOLM_BRIDGES = [
    # name, kind, length (m), opened
    ("Old Mill Bridge", "stone arch bridge", "340", "1872"),
    ("Kestrel Bridge", "steel truss bridge", "512", "1911"),
    ("Tanners Bridge", "stone arch bridge", "95", "1790"),
    ("Lantern Footbridge", "timber footbridge", "64", "1988"),
    ("North Rail Bridge", "railway viaduct", "1,120", "1902"),
]


def bridge_slug(name: str) -> str:
    return "varnholm/" + name.lower().replace(" ", "-")


def list_and_pages() -> Shape:
    items = "\n".join(f"- {name}" for name, *_ in VARNHOLM_BRIDGES)
    listing = doc(
        "varnholm/bridges",
        "Bridges of Varnholm",
        "The river Selka runs through the middle of Varnholm. Five bridges cross it inside "
        f"the city.\n\n## Bridges over the Selka\n\n{items}\n\nA sixth crossing, a ferry, "
        "runs in summer.",
        host="city.example",
    )
    pages = [
        doc(
            bridge_slug(name),
            name,
            f"{name} is a {kind} that crosses the Selka in Varnholm.\n\nLength: {length} m\n"
            f"Opened: {opened}",
            host="city.example",
        )
        for name, kind, length, opened in VARNHOLM_BRIDGES
    ]
    documents = [
        listing,
        *pages,
        doc(
            "ostvik/harbour-bridge",
            "Harbour Bridge",
            "Harbour Bridge is a swing bridge in Ostvik, at the mouth of the river Dunn.\n\n"
            "Length: 210 m\nOpened: 1935",
            host="city.example",
        ),
    ]
    plan = {
        "entity": "bridge",
        "columns": [{"name": "Bridge", "type": "text"}, {"name": "Length (m)", "type": "number"}],
        "key_column": "Bridge",
        "conditions": [{"field": "", "test": "contains", "value": "Selka"}],
        "queries": ["Varnholm bridge Selka", "bridge length Varnholm"],
    }
    return Shape(
        "list and pages",
        documents,
        question(
            "List every bridge over the Selka in Varnholm with its length.",
            {"Bridge": "the bridge's name", "Length (m)": "its length in metres, a plain number"},
        ),
        plan,
        {(name, length.replace(",", "")) for name, _, length, _ in VARNHOLM_BRIDGES},
        {name: {url(bridge_slug(name), "city.example")} for name, *_ in VARNHOLM_BRIDGES},
        {name: {"Length (m)": length} for name, _, length, _ in VARNHOLM_BRIDGES},
        {name: "crosses the Selka" for name, *_ in VARNHOLM_BRIDGES},
        traps=[
            doc(
                "varnholm/trams",
                "Varnholm tram network",
                "Three tram lines serve Varnholm. Line 2 crosses the Selka on the Kestrel "
                "Bridge.\n\nLength: 14 km\nOpened: 1926",
                host="city.example",
            )
        ],
    )


# --- 6. labelled records: one entity per page -------------------------------------------------

SKERROW_LIGHTS = [
    # name, coast, height (m) or None (not stated), first lit
    ("Keeper's Point Light", "North", "32", "1890"),
    ("Gannet Rock Light", "North", "41", "1903"),
    ("Brine Head Light", "North", "18", "1871"),
    ("Saltmarsh Light", "South", "36", "1899"),
    ("Corrie Light", "North", "27", "1924"),
    ("Greywater Light", "North", None, "1862"),
]
TALL_NORTH = [
    (name, coast, height, lit)
    for name, coast, height, lit in SKERROW_LIGHTS
    if coast == "North" and height is not None and int(height) > 25
]


def light_slug(name: str) -> str:
    return "skerrow/" + name.lower().replace("'", "").replace(" ", "-")


def labelled_records() -> Shape:
    pages = []
    for name, coast, height, lit in SKERROW_LIGHTS:
        stated = f"Height: {height} m\n" if height else ""
        pages.append(
            doc(
                light_slug(name),
                f"{name} — lighthouse",
                f"{name} is a lighthouse on the Skerrow coast.\n\nCoast: {coast}\n{stated}"
                f"First lit: {lit}",
                host="coast.example",
            )
        )
    documents = [
        *pages,
        doc(
            "skerrow/ferries",
            "Ferries of the Skerrow coast",
            "Two ferries run along the north coast in summer, past most of the lighthouses. "
            "The crossing takes 25 minutes.",
            host="coast.example",
        ),
        doc(
            "skerrow/guild",
            "Skerrow lighthouse keepers",
            "The keepers of the north coast lights met every spring. The last keeper left in "
            "1981, when the lights were automated.",
            host="coast.example",
        ),
    ]
    plan = {
        "entity": "lighthouse",
        "columns": [
            {"name": "Lighthouse", "type": "text"},
            {"name": "Height (m)", "type": "number"},
            {"name": "First lit", "type": "number"},
        ],
        "key_column": "Lighthouse",
        "conditions": [
            {"field": "Coast", "test": "equals", "value": "North"},
            {"field": "Height", "test": "more_than", "value": "25"},
        ],
        "queries": ["Skerrow lighthouse North coast height"],
    }
    return Shape(
        "labelled records",
        documents,
        question(
            "List every lighthouse of the Skerrow coast on the North coast that is taller than "
            "25 m.",
            {
                "Lighthouse": "the lighthouse's name",
                "Height (m)": "its height in metres, as a plain number",
                "First lit": "the year it was first lit",
            },
        ),
        plan,
        {(name, height or "", lit) for name, _, height, lit in TALL_NORTH},
        {name: {url(light_slug(name), "coast.example")} for name, *_ in TALL_NORTH},
        {name: {"Height (m)": h or "", "First lit": lit} for name, _, h, lit in SKERROW_LIGHTS},
    )


# --- 7. reference tables in a named section: an example and its result in one cell ----------

GAUGE_FUNCTIONS = [
    # name, argument, returns, description, example, result
    ("pressure", "depth real", "real", "Water pressure at a depth, in bar", "pressure(10)", "2.0"),
    ("salinity", "sample text", "numeric", "Salinity of a sample, in grams per litre",
     "salinity('north')", "35"),
    ("tide_height", "at timestamp", "numeric", "Tide height above chart datum",
     "tide_height('2024-06-01 12:00')", "3.4"),
    ("swell_period", "buoy text", "numeric", "Mean period of the swell at a buoy, in seconds",
     "swell_period('B7')", "11"),
]  # fmt: skip
NUMERIC_GAUGES = [g for g in GAUGE_FUNCTIONS if g[2] == "numeric"]


def reference_tables() -> Shape:
    """The tidyup manual's section 4.1 lists gauge functions in a table whose cells are
    paragraphs (signature, description, "example → result"); many other pages of the manual
    state "numeric", so a search for that word alone would read most of the manual."""
    cells = "\n\n".join(
        f"{name} ( {argument} ) → {returns}\n\n{description}\n\n{example} → {result}"
        for name, argument, returns, description, example, result in GAUGE_FUNCTIONS
    )
    section = doc(
        "tidyup/gauges",
        "4.1. Gauge Functions",
        "The gauge functions read the sensors of a station.\n\nTable 4.1. Gauge Functions\n\n"
        f"Function\n\nDescription\n\nExample(s)\n\n{cells}\n\nAll of them return NULL when "
        "the sensor is offline.",
    )
    others = [
        doc(
            f"tidyup/types-{i}",
            f"3.{i}. Numeric types, part {i}",
            f"A numeric value in part {i} of the type chapter. The numeric type keeps every "
            "digit; a real value rounds. Convert with to_numeric(x) → numeric.",
        )
        for i in range(1, 31)
    ]
    plan = {
        "entity": "gauge function",
        "columns": [
            {"name": "Function", "type": "text"},
            {"name": "Example", "type": "text"},
            {"name": "Result", "type": "number"},
        ],
        "key_column": "Function",
        "conditions": [{"field": "Result Type", "test": "equals", "value": "numeric"}],
        "queries": ["tidyup gauge functions numeric"],
        "listed_in": "section 4.1 (Gauge Functions) of the tidyup manual",
    }
    return Shape(
        "reference tables",
        [section, *others],
        question(
            "Which functions in section 4.1 (Gauge Functions) of the tidyup manual return "
            "numeric? Give the example call the table shows for each and its result.",
            {
                "Function": "the function name only, without arguments",
                "Example": "the example call shown in the table",
                "Result": "the result the table shows for that example, as a number",
            },
        ),
        plan,
        {(name, example, result) for name, _, _, _, example, result in NUMERIC_GAUGES},
        {name: {section.url} for name, *_ in NUMERIC_GAUGES},
    )


# --- 8. contents that point to entity pages: the condition is stated on each page ------------

HARBOUR_TOOLS = [
    # name, section, crew-safe, sub-entries
    ("tidecalc", "C.1", True, []),
    ("gaugelog", "C.2", False, ["Options", "Output Format"]),
    ("buoyctl", "C.3", True, ["Commands", "Author"]),
    ("chartgen", "C.4", False, ["Examples"]),
    ("berthplan", "C.5", True, []),
]


TOOL_WORK = {
    "tidecalc": "computes tide tables for a berth.",
    "gaugelog": "records gauge readings every minute.",
    "buoyctl": "switches the lights of the harbour buoys.",
    "chartgen": "draws charts of the harbour basin.",
    "berthplan": "plans the berths for the next day.",
}


def tool_page(name: str, number: str, safe: bool, parts: list[str]) -> Document:
    """A tool's own page, titled by its section: what it does, who may run it, its parts."""
    who = (
        "This tool is considered crew-safe, that is, any crew member may run it without the "
        "harbour master's key."
        if safe
        else "Only the harbour master may run this tool."
    )
    sections = "".join(
        f"\n\n## {number}.{i}. {part}\n\nAbout {part.lower()} of {name}."
        for i, part in enumerate(parts, 1)
    )
    return doc(f"kit/{name}", f"{number}. {name}", f"The {name} tool {TOOL_WORK[name]}\n\n{who}"
               + sections)  # fmt: skip


def contents_and_pages() -> Shape:
    """Appendix C lists the harbour kit's tools as plain contents lines; whether a tool is
    crew-safe is said only on the tool's own page (titled "C.3. buoyctl")."""
    lines = []
    for name, number, _, parts in HARBOUR_TOOLS:
        lines.append(f"{number}. {name}")
        lines.extend(f"{number}.{i}. {part}" for i, part in enumerate(parts, 1))
    contents = doc(
        "kit/appendix-c",
        "Appendix C. Bundled Tools",
        "Table of Contents\n\n" + "\n".join(lines) + "\n\nThis appendix describes the tools "
        "that ship with the harbour kit. They are built with the kit and installed beside it.",
    )
    pages = [tool_page(name, number, safe, parts) for name, number, safe, parts in HARBOUR_TOOLS]
    plan = {
        "entity": "tool",
        "columns": [{"name": "Tool", "type": "text"}, {"name": "Section", "type": "text"}],
        "key_column": "Tool",
        "conditions": [{"field": "", "test": "contains", "value": "crew-safe"}],
        "queries": ["Appendix C", "harbour kit tools"],
        "listed_in": "Appendix C",
    }
    safe = [(name, number) for name, number, is_safe, _ in HARBOUR_TOOLS if is_safe]
    return Shape(
        "contents and pages",
        [contents, *pages, doc("kit/intro", "Introduction", "The harbour kit runs the port.")],
        question(
            "Which tools of the harbour kit (Appendix C) are crew-safe? Each tool's own page "
            "says whether it is.",
            {"Tool": "the tool's name (e.g. tidecalc)", "Section": "its section, e.g. C.4"},
        ),
        plan,
        set(safe),
        {name: {url(f"kit/{name}")} for name, _ in safe},
        {name: {"Section": number} for name, number, *_ in HARBOUR_TOOLS},
        {name: "considered crew-safe" for name, _ in safe},
    )


# --- 9. an options reference whose callouts say which options need more: no test planned -----

GAUGECTL_OPTIONS = [
    # short form, long form, what it does, firmware its callout asks for ("" for none)
    ("-p port", "--port=port", "Serial port the gauge is on. The default is /dev/ttyS0.", ""),
    ("-i seconds", "--interval=seconds", "Seconds between two readings. The default is 60.",
     "3.2"),
    ("", "--tide-offset", "Corrects every reading by the offset of the local tide table.",
     "2.8"),
    ("-q", "--quiet", "Prints nothing but errors.", ""),
    ("", "--calibrate", "Runs the calibration routine before the first reading.", ""),
    ("", "--surge-alarm level", "Sounds the alarm when the water rises above level metres.",
     "4.0"),
]  # fmt: skip
FITTED = "works only on gauges with a tide module fitted"


def noted_options() -> Shape:
    """gaugectl's options as term paragraphs (short and long forms), some followed by a "Note"
    callout written as a heading: the callout belongs to its option, and which options need a
    tide module is said only there. The planner keeps no test of the rows."""
    entries = []
    for short, long, text, firmware in GAUGECTL_OPTIONS:
        entries.append("\n".join(f for f in (short, long) if f) + f"\n\n{text}")
        if firmware:
            note = f"This option {FITTED}; it needs firmware {firmware} or later."
            entries.append(f"### Note\n\n{note}")
        elif short == "-q":
            entries.append("### Tip\n\nUse the quiet form in scheduled jobs.")
    page = doc(
        "gauge/gaugectl",
        "gaugectl",
        "gaugectl reads a water gauge and prints its readings.\n\n## Options\n\n"
        + "\n\n".join(entries)
        + "\n\n## Notes\n\nReadings are printed in metres above chart datum.",
    )
    documents = [
        page,
        doc(
            "gauge/install",
            "Installing a gauge",
            "Mount the gauge on a pier and run gaugectl --calibrate once. A gauge with a tide "
            "module fitted needs no other setup.",
        ),
    ]
    plan = {
        "entity": "option",
        "columns": [{"name": "Option", "type": "text"}, {"name": "Firmware", "type": "text"}],
        "key_column": "Option",
        # the column's example copied as a bound: no test the question states (dropped)
        "conditions": [{"field": "Firmware", "test": "at_least", "value": "2.4"}],
        "queries": ["gaugectl options", "gaugectl reference"],
        "listed_in": "the gaugectl reference page",
    }
    members = [
        (long.split("=")[0].split()[0], firmware)
        for _, long, _, firmware in GAUGECTL_OPTIONS
        if firmware
    ]
    return Shape(
        "noted options",
        documents,
        question(
            "Some options of gaugectl work only on gauges with a tide module fitted. According "
            "to the gaugectl reference page, which options are they, and which firmware does "
            "each need?",
            {
                "Option": "the long option name without its argument (e.g. --port)",
                "Firmware": "the oldest firmware it needs (e.g. 2.4)",
            },
        ),
        plan,
        set(members),
        {option: {page.url} for option, _ in members},
        {option: {"Firmware": firmware} for option, firmware in members},
    )


# --- 10. release pages whose change lists tag advisories: rows named by the tags -------------

QUILL_ADVISORIES = [
    # release, its date, its changes: (text, advisory tag or "")
    ("2.3", "2022-11-02", [("Stop the autosave from following links out of the project "
                            "folder.", "QSA-2022-0107"),
                           ("Make the minimap scroll with the page.", "")]),
    ("2.4", "2023-03-15", [("Refuse plugin archives whose paths leave the plugin folder.",
                            "QSA-2023-0011"),
                           ("Escape file names in the recent files menu.", "QSA-2023-0012"),
                           ("Speed up opening large folders.", "")]),
    ("2.5", "2023-09-30", [("Fix a crash when the spelling list is empty.", ""),
                           ("Check the signature of theme packages before installing them.",
                            "QSA-2023-0040")]),
    ("3.0", "2024-02-01", [("Run plugins in a separate process.", "QSA-2024-0003"),
                           ("New export dialog.", "")]),
]  # fmt: skip


def advisory_changes() -> Shape:
    """Each Quill release page states its date on a labelled line and lists its changes, some
    ending with the advisory they fix in brackets: the rows are the tags, dated by their page;
    the question places them in one year (which the planner leaves out)."""
    pages = []
    for release, date, changes in QUILL_ADVISORIES:
        items = "\n".join(
            f"- {text}" + (f" Reported by a user of the plugin store. ({tag})" if tag else "")
            for text, tag in changes
        )
        pages.append(
            doc(
                f"quill/release-{release}",
                f"Quill Release {release}",
                f"Release date: {date}\n\nThis release fixes several problems found since the "
                f"last one.\n\n## Changes\n\n{items}",
            )
        )
    plan = {
        "entity": "advisory",
        "columns": [
            {"name": "Advisory", "type": "text"},
            {"name": "Fixed In", "type": "text"},
            {"name": "Release Date", "type": "date"},
        ],
        "key_column": "Advisory",
        # the kind of row restated as a test; the year of the question is not kept
        "conditions": [{"field": "Advisory", "test": "contains", "value": "QSA"}],
        "queries": ["Quill release notes", "Quill security advisories"],
        "listed_in": "the Quill release notes",
    }
    members = [
        (tag, release, date)
        for release, date, changes in QUILL_ADVISORIES
        for _, tag in changes
        if tag and date.startswith("2023")
    ]
    return Shape(
        "advisory changes",
        [
            *pages,
            doc(
                "quill/security",
                "Reporting a problem",
                "Write to the Quill team; advisories are named QSA and listed in the release "
                "notes.",
            ),
        ],
        question(
            "Which Quill security advisories (QSA identifiers) were fixed by the Quill "
            "releases that came out in 2023? Go through the Quill release notes.",
            {
                "Advisory": "the advisory identifier, e.g. QSA-2020-0001",
                "Fixed In": "the Quill release that fixes it, e.g. 1.9",
                "Release Date": "the release date of that release (YYYY-MM-DD)",
            },
        ),
        plan,
        set(members),
        {tag: {url(f"quill/release-{release}")} for tag, release, _ in members},
        {tag: {"Fixed In": release} for tag, release, _ in members},
    )


SHAPES = {
    "filtered table": filtered_table,
    "API reference": api_reference,
    "release notes": release_notes,
    "definition entries": option_entries,
    "list and pages": list_and_pages,
    "labelled records": labelled_records,
    "reference tables": reference_tables,
    "contents and pages": contents_and_pages,
    "noted options": noted_options,
    "advisory changes": advisory_changes,
}
