"""The table plan of a wide question: columns (names, types, key), membership conditions and
the queries that find candidates. The model proposes it; the question has the last word.

A wide question usually names its columns ("columns in order: A, B, C", a header row) and often
describes each one ("- A: what it holds"). Those names are authoritative: the model's column
list is matched to them, never the other way round, so a small model that renames, drops or
adds a column cannot change the table's header. When the model fails twice the plan is built
from the question alone (columns, quoted phrases as conditions, keywords as queries)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from agent.text import STOPWORDS, keywords
from agent.wide.fields import fold, format_number, match_score, numbers_in, words
from agent.wide.schemas import ColumnType, Condition, TablePlanReply

_COLUMN_LIST = re.compile(
    r"(?:following|these)?\s*columns?\b[^:\n]{0,60}:\s*(?P<list>[^\n]+)", re.IGNORECASE
)
_HEADER_ROW = re.compile(r"^\s*\|(?P<row>(?:[^|\n]+\|){2,})\s*$", re.MULTILINE)
_QUOTED = re.compile(r"[\"\u201c`]([^\"\u201d`\n]{2,80})[\"\u201d`]")
_NUMERIC_HINT = re.compile(
    r"\((?:[^)]*\b(?:km|m|kg|kib|mib|gb|mb|kb|usd|years?|%|sq|ha|mi)\b[^)]*)\)|\b(?:year|"
    r"number|count|size|population|area|age|length|height|elevation|rate|amount|total)\b",
    re.IGNORECASE,
)
_DATE_HINT = re.compile(r"\bdate\b", re.IGNORECASE)
_URL_HINT = re.compile(r"\b(?:url|homepage|website|web site|link)\b", re.IGNORECASE)


@dataclass
class Column:
    name: str
    type: ColumnType = "text"
    description: str = ""


@dataclass
class TablePlan:
    """The validated plan the wide nodes work from (plain data in the graph state)."""

    entity: str
    columns: list[Column]
    key_column: str
    conditions: list[Condition]
    queries: list[str]
    source: str = "model"  # "model" or "question" (the fallback)
    notes: list[str] = field(default_factory=list)
    common_texts: list[str] = field(default_factory=list)
    """Condition values most documents state: tested, but never searched for exactly."""
    untested: list[str] = field(default_factory=list)
    """The question's conditions the plan does not test row by row, each with why (the
    answer states them)."""
    scope: str = ""
    """Where the question says the rows are listed ("the table of error codes", "section 4.2
    (Storage)"), as the question words it; "" when it names no place."""
    scope_words: list[str] = field(default_factory=list)
    """The scope's words that can tell a place apart (not structure nouns like "table" or
    "section", nor words most documents state): a listing whose title, heading or caption
    holds most of them is where the rows are."""
    scope_weights: list[float] = field(default_factory=list)
    """How much each scope word tells places apart (its inverse document frequency in the
    searched corpus; [] where nothing could be counted: every word weighs the same)."""
    text_counts: dict[str, int] = field(default_factory=dict)
    """How many searched documents state each condition's text (folded), where counted: the
    rarest text's exact search is run first (it lists every candidate in the fewest pages)."""
    criterion: str = ""
    """The question's words used as the rows' test because the plan kept none and a sure
    listing's entries tell them apart (`criterion.apply_criterion`); "" if none."""

    def to_state(self) -> dict[str, Any]:
        data = asdict(self)
        data["conditions"] = [c.model_dump() for c in self.conditions]
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> TablePlan:
        return cls(
            entity=data["entity"],
            columns=[Column(**c) for c in data["columns"]],
            key_column=data["key_column"],
            conditions=[Condition(**c) for c in data["conditions"]],
            queries=list(data["queries"]),
            source=data.get("source", "model"),
            notes=list(data.get("notes", [])),
            common_texts=list(data.get("common_texts", [])),
            untested=list(data.get("untested", [])),
            scope=data.get("scope", ""),
            scope_words=list(data.get("scope_words", [])),
            scope_weights=list(data.get("scope_weights", [])),
            text_counts=dict(data.get("text_counts", {})),
            criterion=data.get("criterion", ""),
        )

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def describe(condition: Condition) -> str:
    """A condition as the answer words it: "Region equals 'Europe'"."""
    return f"{condition.field or 'the text'} {condition.test.replace('_', ' ')} {condition.value!r}"


def group_text(group: list[Condition]) -> str:
    """A group of alternative conditions as the answer words it."""
    return " or ".join(describe(c) for c in group)


def match_column(condition: Condition, columns: list[Column]) -> Column | None:
    """The table column a condition reads (all of its field's words in the column's name)."""
    if not condition.field.strip():
        return None
    scored = [(match_score(condition.field, c.name), c) for c in columns]
    best = max(scored, key=lambda t: t[0], default=(0.0, None))
    return best[1] if best[0] >= 1.0 else None


def stated_columns(question: str) -> list[str]:
    """The column names the question states, in its order; [] if it states none."""
    header = _HEADER_ROW.search(question)
    if header:
        cells = [c.strip() for c in header.group("row").split("|")]
        names = [c for c in cells if c and not set(c) <= set("-: ")]
        if len(names) >= 2 and "{" not in "".join(names):
            return names
    for match in _COLUMN_LIST.finditer(question):
        raw = match.group("list").strip().rstrip(".")
        if "{" in raw:
            continue
        names = [n.strip().strip("`*\"'") for n in re.split(r"\s*[,|;]\s*", raw)]
        names = [n for n in names if n and len(n) <= 60]
        if len(names) >= 2:
            return names
    return []


def column_descriptions(question: str, names: list[str]) -> dict[str, str]:
    """Descriptions the question gives its columns as list items ("- Name: what it is")."""
    found: dict[str, str] = {}
    for line in question.splitlines():
        match = re.match(r"^\s*[-*\u2022]\s*(?P<name>[^:\n]{1,60}):\s*(?P<desc>.+)$", line)
        if not match:
            continue
        name = fold(match.group("name").strip("`*\"' "))
        for column in names:
            if fold(column) == name:
                found[column] = match.group("desc").strip()
    return found


def guess_type(name: str, description: str = "") -> ColumnType:
    text = f"{name} {description}"
    if _URL_HINT.search(name):
        return "url"
    if _DATE_HINT.search(name):
        return "date"
    if _NUMERIC_HINT.search(name) or re.search(r"\bplain number\b", description, re.I):
        return "number"
    if _URL_HINT.search(text) and "url" in fold(description):
        return "url"
    return "text"


_COLUMN_EXAMPLE = re.compile(
    r"(?:\be\.g\.?|\bfor example\b|\bfor instance\b|\bsuch as\b)[\s,:]*"
    r"[\"\u201c'`]?([^\"\u201d'`,;()]*[^\"\u201d'`,;()\s.])"
)
_PLAIN_NUMBER = re.compile(r"[-+\u2212]?\d[\d,]*(?:\.\d+)?")
_CLOCK = re.compile(r"\bHH:MM\b|\bhh:mm\b")


def column_example(description: str) -> str:
    """The example value a column's description gives ("the identifier, e.g. CVE-2019-12345"
    -> "CVE-2019-12345"; "(e.g. 10 or off)" -> "10 or off"), else ""."""
    match = _COLUMN_EXAMPLE.search(description)
    return match.group(1).strip() if match else ""


def checked_type(column_type: ColumnType, description: str) -> ColumnType:
    """A column's type as its description allows: a number column whose example is no plain
    number ("e.g. F.12", "e.g. 3.30.1", "e.g. 10 or off") holds text; a date column asked
    with its time of day ("YYYY-MM-DD HH:MM:SS") holds the text as written."""
    example = column_example(description)
    if column_type == "number" and example and not _PLAIN_NUMBER.fullmatch(example):
        return "text"
    if column_type == "date" and _CLOCK.search(description):
        return "text"
    return column_type


def looks_wide(question: str) -> bool:
    """A question that names two or more table columns asks for a table."""
    return len(stated_columns(question)) >= 2


def _dedupe_queries(candidates: list[str], limit: int) -> list[str]:
    out: list[str] = []
    seen: list[set[str]] = []
    for query in candidates:
        query = " ".join(query.replace('"', " ").split())
        terms = set(words(query))
        if not terms or any(terms == s for s in seen):
            continue
        seen.append(terms)
        out.append(query)
        if len(out) >= limit:
            break
    return out


def condition_queries(conditions: list[Condition]) -> list[str]:
    """Searches built from the conditions' own values: the words a member's document must
    contain are the best keywords for finding it."""
    texts = [
        c.value
        for c in conditions
        if c.test in ("contains", "equals") and words(c.value) and len(c.value) <= 80
    ]
    queries = [" ".join(texts)] if len(texts) > 1 else []
    queries.extend(texts)
    return queries


MAX_PLACE_WORDS = 24
"""A place is named in a phrase; a longer reply copied a passage of the question."""


def finalise_plan(
    question: str, reply: TablePlanReply | None, listed_in: str = "", max_queries: int = 6
) -> TablePlan:
    """The plan to run: the question's columns (names and order) with the model's types, key,
    conditions and queries, and `listed_in` (the place the model read as where the rows are
    listed) as its scope; or, without a reply, a plan from the question alone."""
    stated = stated_columns(question)
    notes: list[str] = []
    if reply is not None:
        proposed = {fold(c.name): c for c in reply.columns}
        names = stated or [c.name for c in reply.columns]
        if stated and [fold(c.name) for c in reply.columns] != [fold(n) for n in stated]:
            notes.append("columns taken from the question (the model's list differed)")
    else:
        proposed = {}
        names = stated
    names = list(dict.fromkeys(n for n in names if n.strip()))
    if not names:
        names = ["Name"]
        notes.append("the question names no columns: one column, Name")
    descriptions = column_descriptions(question, names)
    columns = []
    for name in names:
        description = descriptions.get(name, "")
        spec = proposed.get(fold(name))
        column_type = spec.type if spec is not None else guess_type(name, description)
        columns.append(Column(name, checked_type(column_type, description), description))
    key = names[0]
    if reply is not None:
        for name in names:
            if fold(name) == fold(reply.key_column):
                key = name
    for column in columns:
        if column.name == key:
            column.type = "text"
    if reply is not None:
        conditions = clean_conditions(reply.conditions, question)
        invented = [c.value for c in reply.conditions if c.value.strip() and not in_question(
            c.value.strip().strip("\"'`"), question)]  # fmt: skip
        if invented:
            notes.append("dropped conditions the question does not state: " + ", ".join(
                map(repr, invented)))  # fmt: skip
        places = [c.value for c in reply.conditions if words(c.value) and all(
            w in STRUCTURE_NOUNS for w in words(c.value))]  # fmt: skip
        if places:
            notes.append("dropped conditions naming only a kind of place: " + ", ".join(
                map(repr, places)))  # fmt: skip
        examples = [c.value for c in reply.conditions if c.value.strip() and only_as_example(
            c.value.strip().strip("\"'`"), question)]  # fmt: skip
        if examples:
            notes.append("dropped conditions the question gives only as examples: " + ", ".join(
                map(repr, examples)))  # fmt: skip
        unbounded = [describe(c) for c in reply.conditions if in_question(c.value, question)
                     and not worded_as_comparison(c, question)]  # fmt: skip
        if unbounded:
            notes.append("dropped comparisons the question does not state as bounds: " + ", ".join(
                unbounded))  # fmt: skip
        conditions, narrowed = narrowed_to_quotes(question, conditions)
        if narrowed:
            notes.append("tested as the question quotes them: " + ", ".join(
                repr(c.value) for c in narrowed))  # fmt: skip
        extra = question_conditions(
            question, conditions, set(words(f"{reply.entity} {key} {names[0]}"))
        )
        if extra:
            conditions = [*conditions, *extra]
            notes.append("added the question's quoted requirements: " + ", ".join(
                repr(c.value) for c in extra))  # fmt: skip
        entity = reply.entity or "item"
        scope = listed_in.strip().strip("\"'`")
        if scope and not in_question(scope, question):
            notes.append(f"dropped the place the question does not name: {scope!r}")
            scope = ""
        elif len(scope.split()) > MAX_PLACE_WORDS:
            notes.append(f"dropped a place of {len(scope.split())} words: a passage, no name")
            scope = ""
        widened = place_in_collection(scope, question)
        if widened != scope:
            notes.append(f"read the place in {scope!r} the question names: {widened!r}")
            scope = widened
        moved: list[Condition] = []
        if names_a_place(scope):
            conditions, moved = split_scope(conditions, scope, columns, key)
        if moved:
            notes.append("read as where the rows are listed, not as tests of each row: " + (
                ", ".join(repr(c.value) for c in moved)))  # fmt: skip
        # the question's own words too: a small planner's queries may miss what a row is
        queries = [*condition_queries(conditions), *([scope] if scope else []),
                   *reply.queries[:1], keywords(question.split("\n")[0], 8),
                   *reply.queries[1:]]  # fmt: skip
        source = "model"
    else:
        conditions = question_conditions(question, [], set(words(f"{key} {names[0]}")))[:6]
        entity = "item"
        scope, moved = "", []
        queries = [*condition_queries(conditions), keywords(question.split("\n")[0], 8)]
        source = "question"
        notes.append("the planner failed: plan built from the question")
    dated = stated_year(question, columns, conditions)
    if dated is not None:  # a small planner drops "came out in 2023" while it keeps the rest
        conditions = [*conditions, dated]
        notes.append(f"added the year the question states: {describe(dated)}")
    queries = _dedupe_queries(queries, max_queries) or [keywords(question, 8)]
    plan = TablePlan(entity, columns, key, conditions, queries, source, notes, scope=scope)
    # a collection or a phrase naming no place is searched for, but ranks no listing
    plan.scope_words = place_words(scope) if names_a_place(scope) else []
    plan.untested = [f"{describe(c)} (read as where the rows are listed: {scope})" for c in moved]
    return plan


_POSSESSIVE = re.compile(r"['\u2019]s\b")
PLACE_NOUNS = frozenset(
    ["table", "list", "section", "subsection", "page", "chapter", "appendix", "part",
     "document", "article", "entry", "note", "column", "row", "index", "history", "changelog",
     "catalog", "catalogue", "registry", "directory", "glossary", "inventory", "guidance",
     "overview", "specification", "faq", "tutorial", "readme", "report", "paper"]
)  # fmt: skip
"""Words that say what kind of place in a collection holds a listing, not which one."""
COLLECTION_NOUNS = frozenset(
    ["manual", "documentation", "doc", "guide", "reference", "site", "website", "wiki", "book",
     "handbook"]
)  # fmt: skip
"""Words naming a whole collection ("the project's website"): every page of it is in it."""
STRUCTURE_NOUNS = PLACE_NOUNS | COLLECTION_NOUNS


def names_a_place(scope: str) -> bool:
    """Whether a scope names a place in a collection (a document, page, section, table, list),
    not only a collection ("the project's website", "the Springfield almanac")."""
    return any(w in PLACE_NOUNS for w in words(scope))


_NUMBERED = re.compile(r"(?<![\w.])(\d+(?:\.\d+)+)(?![\w]|\.\d)")
"""A dotted number ("20.6", "9.4.1", "3.32"): a section's or a release's number, one term."""


MAX_PLACE_LEAD_WORDS = 5
"""How many words before a collection's name may name the place in it ("the release notes
of" the manual)."""
_LEAD_STOP = frozenset(["the", "a", "an", "its", "their", "this", "that", "using", "use", "from"])


def place_in_collection(scope: str, question: str) -> str:
    """A collection the model gave as the place ("the Quill 2 manual"), widened to the place
    in it the question names right before it ("the change notes of the Quill 2 manual");
    else the scope as it was."""
    if not scope.strip() or names_a_place(scope):
        return scope
    # where the question writes it (any spacing, any case): positions in the question itself
    found = re.search(r"\s+".join(map(re.escape, scope.split())), question, re.IGNORECASE)
    if found is None or found.start() == 0:
        return scope
    before = question[: found.start()].split()
    if not before or before[-1].lower() not in ("of", "in"):
        return scope
    lead: list[str] = []
    for token in reversed(before[:-1][-MAX_PLACE_LEAD_WORDS:]):
        bare = token.strip(",;:()\"'").lower()
        if bare != token.lower() and token[-1] in ",;:(":  # a clause ends before it
            break
        lead.insert(0, token)
        if bare in _LEAD_STOP:
            break
    if not names_a_place(" ".join(lead)):
        return scope
    return " ".join([*lead, before[-1], " ".join(found.group(0).split())])


def scope_terms(scope: str) -> list[str]:
    """A scope's words, once each, possessives aside ("the manual's" -> "manual"); a dotted
    number ("section 20.6") is one term, not its parts (a "20" in "Release 15.20" is no
    part of section 20.6)."""
    terms: list[str] = []
    for part in _NUMBERED.split(_POSSESSIVE.sub("", scope)):
        terms.extend([part] if _NUMBERED.fullmatch(part) else words(part))
    return list(dict.fromkeys(terms))


def place_terms(place: str) -> set[str]:
    """The terms a listing's place (a title, a section path, a caption) offers to a scope's:
    its words, and each dotted number with the numbers it lies under ("20.6.1" is in 20.6 and
    in 20; "Release 15.3" is under 15)."""
    terms = set(words(_NUMBERED.sub(" ", place)))
    for number in _NUMBERED.findall(place):
        parts = number.split(".")
        terms.update(".".join(parts[:n]) for n in range(1, len(parts) + 1))
    return terms


def place_words(scope: str, common: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The words of a scope that tell its place apart from others: without structure nouns
    and `common` words (those most documents state), unless nothing else is left."""
    found = scope_terms(scope)
    distinct = [w for w in found if w not in STRUCTURE_NOUNS and w not in common]
    if distinct:
        return distinct
    return [w for w in found if w not in common] or found


def split_scope(
    conditions: list[Condition], scope: str, columns: list[Column], key: str = ""
) -> tuple[list[Condition], list[Condition]]:
    """The conditions that test each row, and those that only restate where the rows are
    listed: a text test whose words are all the scope's, of no asked-for column ("Section
    equals 4.2" beside "listed in section 4.2 (Storage)"), or the key column's one "equals"
    test (it would name one row, not a kind of row: "Release equals Atlas 3" beside "the
    release notes of the Atlas 3 manual")."""
    if not scope:
        return conditions, []
    scope_words = set(words(scope))
    key_tests = [c for c in conditions if c.test == "equals" and fold(c.field) == fold(key)]
    kept, moved = [], []
    for condition in conditions:
        value_words = set(words(condition.value))
        names_one_row = len(key_tests) == 1 and condition is key_tests[0]
        if (
            condition.test in ("contains", "equals")
            and value_words
            and value_words <= scope_words
            and (match_column(condition, columns) is None or names_one_row)
        ):
            moved.append(condition)
        else:
            kept.append(condition)
    return kept, moved


_EXAMPLE_CUE = re.compile(r"(?:e\.g\.?|for example|for instance|such as|like)\W*$", re.I)
_FORM_CUE = re.compile(r"(?:form|forms|pattern|format|template)\W*$", re.I)
_ALTERNATIVE_GAP = re.compile(r"^\s*(?:,|,?\s*or|,?\s*and/or)\s*$", re.I)
_PLACEHOLDER = re.compile(r"\b[A-Z]{3,}\b|<[^>]*>|\{[^}]*\}|\.\.\.|\u2026")


_FIELD_NOUNS = frozenset(
    ["entry", "entries", "field", "fields", "data", "column", "columns", "attribute",
     "property", "heading", "label"]
)  # fmt: skip
_NOT_LABELS = STOPWORDS | {"appear", "appears", "means", "mention", "mentions", "without"}
"""Words after a quote that name no field ('"Nagios" mentions', '"x" and ...')."""
_NEXT_WORD = re.compile(r"[ \t]+([A-Za-z][A-Za-z-]{2,30})\b")


def quoted_requirements(question: str) -> list[list[str]]:
    """The phrases of `requirement_groups`, without their labels."""
    return [phrases for phrases, _ in requirement_groups(question)]


def template_literal(template: str) -> str:
    """The fixed words of a template ("YYYY report by Author" -> "report by", "Mayor of Springfield
    from <year> to <year>" -> "Mayor of Springfield from", "Bus line number N (Route)" -> "Bus
    line number"): the longest run of words without a placeholder (YYYY, N, <name>, {x}, ...),
    less the capitalised role words that end it. "" when no run of two words remains."""
    runs: list[list[str]] = [[]]
    for token in template.split():
        bare = token.strip(",;:")
        if _PLACEHOLDER_TOKEN.fullmatch(bare) or _PLACEHOLDER_TOKEN.fullmatch(bare.strip(".")):
            runs.append([])
        else:
            runs[-1].append(token)
    best: list[str] = []
    for run in runs:
        while run and run[-1][:1].isupper():
            run = run[:-1]
        if len(run) > len(best):
            best = run
    literal = " ".join(best).strip(" ,;:")
    return literal if len(best) >= 2 and len(literal) >= 6 else ""


_PLACEHOLDER_TOKEN = re.compile(
    r"[A-Z]|[A-Z]{3,}|<[^>]*>|\{[^}]*\}|\.\.\.|\u2026|\(?[A-Z]\)?|\[[^\]]*\]"
)


def requirement_groups(question: str) -> list[tuple[list[str], str]]:
    """Literal text the question requires, from its quotes: each group holds alternatives
    ("A", "B" or "C" is one group). Examples ("e.g. ...") are not requirements; templates
    ("of the form ...", placeholders like YYYY or <name>) require their fixed words."""
    found: list[tuple[list[str], str]] = []
    previous_end = -1
    previous_kind = ""
    for match in _QUOTED.finditer(question):
        phrase = match.group(1).strip()
        before = question[max(0, match.start() - 40) : match.start()]
        gap = question[previous_end : match.start()] if previous_end >= 0 else ""
        listed = previous_end >= 0 and bool(_ALTERNATIVE_GAP.match(gap))
        previous_end = match.end()
        after = _NEXT_WORD.match(question, match.end())
        names_a_field = after is not None and fold(after.group(1)) in _FIELD_NOUNS
        if names_a_field or sum(c.isalnum() for c in phrase) < 3:
            kind = "skip"  # 'the "Elevation" data', '"Government type" field': a field's name
        elif _EXAMPLE_CUE.search(before) or (listed and previous_kind == "example"):
            kind = "example"
        elif (
            _PLACEHOLDER.search(phrase)
            or _FORM_CUE.search(before)
            or (listed and previous_kind == "template")
        ):
            kind = "template"
            phrase = template_literal(phrase)
            if not phrase:
                kind = "skip"
        elif phrase[0] == "." or phrase[-1] == ".":
            kind = "skip"  # a fragment like "www."
        else:
            kind = "literal"
        joins = listed and previous_kind in ("literal", "template") and kind in (
            "literal", "template")  # fmt: skip
        previous_kind = kind
        if kind in ("skip", "example"):
            continue
        if joins and found:
            if phrase not in found[-1][0]:
                found[-1][0].append(phrase)
        else:
            # the word right after the quote often names the field ('the "admin" section')
            label = after.group(1) if after and fold(after.group(1)) not in _NOT_LABELS else ""
            found.append(([phrase], label))
    return found


def _covered(phrase: str, conditions: list[Condition]) -> bool:
    """A planner's condition tests the phrase itself or a part of it (not the phrase inside
    a longer paraphrase, like "independence (from the UK)" for "(from the UK)")."""
    folded = fold(phrase)
    return any(fold(c.value) in folded for c in conditions if c.value)


def narrowed_to_quotes(
    question: str, conditions: list[Condition]
) -> tuple[list[Condition], list[Condition]]:
    """The conditions with a text test of a part of a phrase the question quotes as a
    requirement ("reserved" for '"reserved (can be function or type)"') testing the whole
    phrase: the user wrote the text to match, a part of it loosens the condition. Where
    several conditions test a part of one quote, the one whose field the question names
    nearest to the quote takes it. Also the conditions so changed."""
    out = list(conditions)
    narrowed: list[Condition] = []
    folded = fold(question)
    for group, _ in requirement_groups(question):
        if len(group) != 1:
            continue
        phrase, quote = group[0], fold(group[0])
        parts = [i for i, c in enumerate(out) if c.test in ("contains", "equals")
                 and "" != fold(c.value) != quote and fold(c.value) in quote]  # fmt: skip
        if len(parts) > 1:
            at = folded.find(quote)
            near = sorted((_distance(folded, fold(out[i].field), at), i) for i in parts)
            parts = [near[0][1]] if near[0][0] < near[1][0] else []
        for i in parts:
            out[i] = out[i].model_copy(update={"value": phrase})
            narrowed.append(out[i])
    return out, narrowed


def _distance(text: str, name: str, at: int) -> int:
    """How far from position `at` of `text` it names `name` (len(text) when it does not)."""
    if not name or at < 0:
        return len(text)
    places = [m.start() for m in re.finditer(re.escape(name), text)]
    return min((abs(p - at) for p in places), default=len(text))


def question_conditions(
    question: str, conditions: list[Condition], row_words: set[str] | None = None
) -> list[Condition]:
    """The question's quoted requirements the planner's conditions leave out, as "contains"
    tests: of the field the next word names ('the "admin" section': Section), or of the whole
    text when the document has no such field; alternatives share one label (one group)."""
    added: list[Condition] = []
    for group, label in requirement_groups(question):
        if any(_covered(phrase, conditions) for phrase in group):
            continue
        if label and set(words(label)) & (row_words or set()):
            label = ""  # 'the "stable" packages': the rows themselves, not a field
        if not label and len(group) > 1:
            label = "text"  # one (field, test) pair makes the alternatives one group
        added.extend(Condition(field=label, test="contains", value=p) for p in group)
    return added


_SIGN_WORDS = frozenset(["negative", "positive", "zero", "nonzero", "nonnegative"])
"""Words that state a comparison with 0 without writing the number."""


def ask_of(question: str) -> str:
    """The question's ask: its first paragraph (the columns and the answer's format follow)."""
    return question.strip().split("\n\n", 1)[0]


_IN_YEAR = re.compile(
    r"\b(?:in|during)\s+((?:1[5-9]|20)\d\d)\b"
    r"(?!\s*(?:or|and|to|through|-|\u2013)\s*(?:\d|later|earlier|after|before|newer|older|more|less))"
)
"""A year the question places its rows in ("came out in 2023", "during 2024"), not one end of a
range ("in 2019 or later", "in 2019 to 2021", "in 2023 or 2024")."""


def stated_year(
    question: str, columns: list[Column], conditions: list[Condition]
) -> Condition | None:
    """The one year the question's ask places its rows in, as a test of its first date column
    ("Release Date equals 2023": a date of that year passes), when no condition tests it (a
    phrase holding it, "releases published in 2024", is no test of a year)."""
    years = {m.group(1) for m in _IN_YEAR.finditer(ask_of(question))}
    if len(years) != 1:
        return None
    year = years.pop()
    if any(words(c.value) == [year] for c in conditions):
        return None  # tested already ("Year equals 2023"; not a phrase holding it)
    column = next((c for c in columns if c.type == "date"), None)
    if column is None:
        return None
    return Condition(field=column.name, test="equals", value=year)


def in_question(value: str, question: str) -> bool:
    """Whether the question states a condition's value: its words (text), or the number
    give or take one (a model turns "25 to 48 inclusive" into "less than 49")."""
    numbers = numbers_in(value)
    if numbers and not words(re.sub(r"[\d.,\s-]+", " ", value)):
        stated = numbers_in(question)
        if _SIGN_WORDS & set(words(question)):
            stated.append(0.0)  # "negative elevation": less than 0
        return all(any(abs(n - q) <= 1 for q in stated) for n in numbers)
    return set(words(value)) <= set(words(question))


_INCLUSIVE_LOW = (
    r"{n}\s*(?:or|and)\s*(?:later|more|above|higher|after|greater|over)|at least\s*{n}|from\s*{n}\b"
)
_INCLUSIVE_HIGH = (
    r"{n}\s*(?:or|and)\s*(?:earlier|less|below|lower|before|fewer|under)|at most\s*{n}|up to\s*{n}"
)


def inclusive_bound(condition: Condition, question: str) -> Condition:
    """A strict comparison the question states inclusively ("released in 1960 or later",
    "from 25 to 48 (inclusive)") made inclusive: small models write "more than 1960"."""
    numbers = numbers_in(condition.value)
    if condition.test not in ("more_than", "less_than") or len(numbers) != 1:
        return condition
    number = numbers[0]
    text = fold(question).replace(",", "")
    variants = {format_number(number), f"{number:,.0f}".replace(",", "")}
    low = condition.test == "more_than"
    template = _INCLUSIVE_LOW if low else _INCLUSIVE_HIGH
    inclusive = any(re.search(template.format(n=re.escape(v)), text) for v in variants)
    if not inclusive and re.search(r"\binclusive\b", text):
        # "from 25 to 48 (inclusive)": both ends of a stated range
        inclusive = any(re.search(rf"(?<![\d.]){re.escape(v)}(?![\d.])", text) for v in variants)
    if not inclusive:
        return condition
    return condition.model_copy(update={"test": "at_least" if low else "at_most"})


def only_as_example(value: str, question: str) -> bool:
    """Whether the question states `value` only as an example ("the limit name, e.g.
    LIMIT_LENGTH", "such as 'x'"): an example shows a value's form, it asks for no row."""
    if _example_only(value, question):
        return True
    # a value built around an example's number or identifier ("Release 15.3" from 'e.g.
    # "Release 15.3"', written "PostgreSQL 15.3") is the example too
    tokens = _DISTINCT_TOKEN.findall(value)
    return any(_example_only(token, question, whole=True) for token in tokens if len(token) >= 3)


_DISTINCT_TOKEN = re.compile(r"[\w.-]*(?:\d[\w.-]*|_[\w.-]*)")


_EXAMPLE_WORDS = re.compile(r"\be\.g\.|\bfor (?:example|instance)\b|\bsuch as\b", re.I)


def _example_only(value: str, question: str, *, whole: bool = False) -> bool:
    """Whether every mention of `value` follows an example cue: right before it, or (`whole`:
    a token inside an example, 'e.g. "Release 4.2"') earlier in its line, within 40 chars."""
    pattern = re.escape(value)
    if whole:
        pattern = rf"(?<![\w.]){pattern}(?![\w]|\.\w)"
    found = [m.start() for m in re.finditer(pattern, question, re.IGNORECASE)]

    def cued(start: int) -> bool:
        window = question[max(0, start - 40) : start]
        if whole:
            return bool(_EXAMPLE_WORDS.search(window.rsplit("\n", 1)[-1]))
        return bool(_EXAMPLE_CUE.search(window))

    return bool(found) and all(cued(start) for start in found)


_COMPARISONS = frozenset(["more_than", "less_than", "at_least", "at_most"])
_COMPARISON_CUES = frozenset(
    ["more", "less", "than", "greater", "fewer", "over", "under", "above", "below", "least",
     "most", "after", "before", "since", "later", "earlier", "newer", "older", "higher", "lower",
     "exceed", "exceeds", "exceeding", "between", "until", "till", "up", "beyond",
     "minimum", "maximum", "min", "max", "onwards", "onward", "newest", "oldest", "within",
     "upwards", "plus", "smaller", "larger", "bigger", "longer", "shorter", "taller", "fewest",
     "outside", "past", "prior", "inclusive", "exclusive"]
)  # fmt: skip
"""Words that make a number in a question a bound ("more than 50", "2019 or later")."""
_RANGE_CUES = frozenset(["from", "to", "through", "thru"])
"""Words that make the number right after them a bound ("from 25 to 48"), not before it."""
_CUE_WINDOW = 3
_TOKEN = re.compile(r"\S+")


_SIGN = re.compile(r"[<>\u2264\u2265]")


def _is_cue(token: str, cues: frozenset[str] = _COMPARISON_CUES) -> bool:
    """A comparison word (one of `cues`) or sign, as written (stop words like "from" and
    "than" count)."""
    return bool(_SIGN.search(token)) or bool(set(re.findall(r"[a-z]+", fold(token))) & cues)


def worded_as_comparison(condition: Condition, question: str) -> bool:
    """Whether the question states a comparison's number as a bound: a mention of it (give or
    take one) within a few words of a comparison word or sign ("at least 3", "2019 or later",
    "> 40"), not only inside a name ("the Vega 15 client": a version of the product, no
    bound on the rows). A year is a bound however it is worded: a model tests "the releases of
    2022" as after 2021 and before 2023."""
    if condition.test not in _COMPARISONS:
        return True
    numbers = numbers_in(condition.value)
    if not numbers:
        return True
    if numbers == [0.0] and _SIGN_WORDS & set(words(question)):
        return True  # "negative elevation": less than 0
    if all(n.is_integer() and 1000 <= n <= 2999 for n in numbers):
        return True  # a year: "releases of 2022" may be tested as "after 2021, before 2023"
    tokens = _TOKEN.findall(question)
    for index, token in enumerate(tokens):
        stated = numbers_in(token.replace(",", ""))
        if not any(abs(n - s) <= 1 for n in numbers for s in stated):
            continue
        if _SIGN.search(token) or "+" in token:  # "> 40", "40+"
            return True
        near = (
            tokens[max(0, index - _CUE_WINDOW) : index]
            + tokens[index + 1 : index + 1 + _CUE_WINDOW]
        )
        if any(_is_cue(t) for t in near):
            return True
        if index and _is_cue(tokens[index - 1], _RANGE_CUES):
            return True
    return False


def clean_conditions(conditions: list[Condition], question: str = "") -> list[Condition]:
    """The planner's conditions, deduplicated, without those whose value the question does
    not state (a small model invents tests like "Architecture equals amd64")."""
    out: list[Condition] = []
    seen: set[tuple[str, str, str]] = set()
    for condition in conditions:
        value = condition.value.strip().strip("\"'`")
        if not value or (question and not in_question(value, question)):
            continue
        if question and only_as_example(value, question):
            continue
        if question and not worded_as_comparison(condition.model_copy(update={"value": value}),
                                                 question):  # fmt: skip
            continue
        if all(w in STRUCTURE_NOUNS for w in words(value)):
            continue  # "contains list": where items are listed, no property of an item
        key = (fold(condition.field), condition.test, fold(value))
        if key in seen:
            continue
        seen.add(key)
        cleaned = condition.model_copy(update={"value": value})
        out.append(inclusive_bound(cleaned, question) if question else cleaned)
    return out
