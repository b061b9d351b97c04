"""The relation check: a supported sentence whose statement offers several candidates is
confirmed by the model filling the sentence's blank from that statement.

The support check (`agent.grounding`) holds a sentence when one statement of a cited source
holds its names, numbers and words. It cannot tell which of a statement's names the relation
belongs to: "Ann Berg flew as navigator" passes against "The crew were pilot Ann Berg,
navigator Tom Dahl and engineer Lis Vik". When the statement holds other candidates of the
same kind as the sentence's own claim (another name, another number) beyond the question's
words, the sentence becomes a cloze ("___ flew as navigator"), and the model picks, among the
statement's candidates, the one the statement gives. A pick other than the sentence's own claim
corrects the sentence: the pick goes in its blank ("Tom Dahl flew as navigator"), the
candidate the statement holds for that relation; "none" (the model cannot tell) keeps it,
unless the statement lacks a word of the relation the sentence repeats from the question
("the first keeper was X" from "designed by X"): then such a sentence is checked even when
the statement names no other candidate, and "none" (the statement does not say) removes it.
One short call per such sentence, at most `MAX_CHECKS` per answer; other sentences cost
nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, create_model

from agent.grounding import (
    _FUNCTION_WORDS,
    _MARKER,
    _NUMBER,
    _WORD,
    GroundedAnswer,
    SentenceCheck,
    _fold,
    _stem,
    _Words,
)
from agent.llm.base import ModelError, Usage
from agent.prompts import load_prompt
from agent.state import RunContext
from agent.steps import failed_usage, structured
from agent.text import quote_untrusted, with_marker

MAX_CHECKS = 2
"""Ambiguous sentences confirmed per answer (the first ones)."""
MAX_OPTIONS = 6
NONE = "none"
_RUN = re.compile(r"[A-Z\u00c0-\u00de][^\W_]*(?:[-'’][^\W_]+)*")
_BARE_NUMBER = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)*(?![^\W\d_])")  # not "km2"
_CALENDAR = frozenset(
    """january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday
    saturday sunday""".split()  # noqa: SIM905
)
"""Capitalised words of dates, not names: a date's claim is its numbers."""
_JOINERS = frozenset({"of", "de", "da", "van", "von", "der", "la", "le", "del", "di", "du"})


@dataclass
class Cloze:
    """A sentence with its claim blanked, and the statement's candidates for the blank."""

    sentence: str
    blanked: str
    own: str
    options: list[str]
    statement: str
    strict: bool = False
    """The statement lacks a word of the relation the sentence repeats from the question:
    "none" (it does not say) also contradicts the sentence."""


def _name_runs(text: str, asked: _Words) -> list[tuple[int, int, str]]:
    """(start, end, text) of each run of capitalised words in `text`, split where a word of
    the question stands (what is asked about is not a candidate answer)."""
    words, stems = asked.words, asked.stems
    runs: list[tuple[int, int, str]] = []
    current: list[re.Match[str]] = []

    def close() -> None:
        while current and _fold(current[-1].group(0)) in _JOINERS:
            current.pop()
        if current:
            start, end = current[0].start(), current[-1].end()
            runs.append((start, end, text[start:end]))
        current.clear()

    for match in _WORD.finditer(text):
        raw = match.group(0)
        word = _fold(raw)
        gap = text[current[-1].end() : match.start()] if current else " "
        if current and gap not in (" ", "-"):
            close()
        if (
            word in words
            or _stem(word) in stems
            or word in _CALENDAR
            or word in _FUNCTION_WORDS - _JOINERS
        ):
            close()
            continue
        if _RUN.fullmatch(raw) or (current and word in _JOINERS):
            current.append(match)
        else:
            close()
    close()
    return runs


def _numbers(text: str, asked: _Words) -> list[tuple[int, int, str]]:
    words = asked.words
    found = []
    for match in _BARE_NUMBER.finditer(text):
        raw = match.group(0).rstrip(".,")
        if _fold(raw) not in words and raw.replace(",", "") not in words:
            found.append((match.start(), match.start() + len(raw), raw))
    return found


_COORDINATION = re.compile(r"\s*(?:,\s*)?(?:(?:and|or|&)\s+)?", re.IGNORECASE)


def _coordinated(text: str, runs: list[tuple[int, int, str]]) -> list[str]:
    """The candidates, with runs joined only by commas and "and"/"or" taken together ("designed
    by A and B": A and B are both right)."""
    groups: list[list[tuple[int, int, str]]] = []
    for run in runs:
        previous = groups[-1][-1] if groups else None
        if (
            previous is not None
            and _COORDINATION.fullmatch(text[previous[1] : run[0]])
            and not _cut(text, previous)
            and not _cut(text, run)
        ):
            groups[-1].append(run)
        else:
            groups.append([run])
    return [text[group[0][0] : group[-1][1]] for group in groups]


def _cut(text: str, run: tuple[int, int, str]) -> bool:
    """Whether a run is part of a longer capitalised phrase (cut where a question word stands:
    "Lunar" of "Lunar Module Pilot"), so not a name of its own to coordinate."""
    after = re.match(r"[ \t]+[A-Z]", text[run[1] :])
    return bool(after or re.search(r"[A-Z][^\W_]*[ \t]+$", text[: run[0]]))


def _same(a: str, b: str) -> bool:
    """Whether two candidates name the same thing (a shared name word, or the same number)."""
    if _NUMBER.fullmatch(a) or _NUMBER.fullmatch(b):
        return _fold(a).replace(",", "") == _fold(b).replace(",", "")
    ours = {_fold(w) for w in _WORD.findall(a)} - _JOINERS
    return bool(ours & ({_fold(w) for w in _WORD.findall(b)} - _JOINERS))


def cloze_of(check: SentenceCheck, question: str) -> Cloze | None:
    """The cloze for a supported sentence whose statement offers other candidates of the kind
    of its one claim (a name, else a number), or None when there is nothing to confirm."""
    if not check.supported or check.gap or not check.statement:
        return None
    asked = _Words.of(question)
    plain = re.sub(r"\s+([.!?])", r"\1", re.sub(r"\s+", " ", _MARKER.sub("", check.text))).strip()
    for find in (_name_runs, _numbers):
        own = find(plain, asked)
        if not own:
            continue
        if len(own) != 1:
            return None  # several claims in one sentence: not one blank to fill
        start, end, own_text = own[0]
        options: list[str] = []
        for candidate in _coordinated(check.statement, find(check.statement, asked)):
            if not any(_same(candidate, o) for o in options):
                options.append(candidate)
        if not any(_same(own_text, o) for o in options):
            return None
        unstated = _relation_words_unstated(plain, question, f"{check.about}\n{check.statement}")
        if len(options) < 2 and not unstated:
            return None
        blanked = f"{plain[:start]}___{plain[end:]}"
        return Cloze(
            check.text, blanked, own_text, options[:MAX_OPTIONS], check.statement,
            strict=bool(unstated),
        )  # fmt: skip
    return None


def _relation_words_unstated(sentence: str, question: str, statement: str) -> list[str]:
    """The question's content words the sentence repeats (what relation it claims: "keeper",
    "designed") that the statement does not hold."""
    asked = _Words.of(question)
    asked_words, asked_stems = asked.words, asked.stems
    have = {_fold(w) for w in _WORD.findall(statement)}
    have_stems = {_stem(w) for w in have}
    unstated = []
    for raw in _WORD.findall(sentence):
        word = _fold(raw)
        if raw[0].isupper() or word in _FUNCTION_WORDS or len(word) < 3 or word.isdigit():
            continue
        if (word in asked_words or _stem(word) in asked_stems) and not (
            word in have or _stem(word) in have_stems
        ):
            unstated.append(word)
    return unstated


def choices(cloze: Cloze) -> list[str]:
    """The options shown: "none" first when it is the likely answer (a strict cloze)."""
    options = [o for o in cloze.options if o != NONE]
    return [NONE, *options] if cloze.strict else [*options, NONE]


def pick_schema(cloze: Cloze) -> type[BaseModel]:
    """{"fill": one of the options or "none"}, constrained."""
    fill: Any = Literal[tuple(choices(cloze))]
    return create_model("RelationFill", fill=(fill, ...))


def contradicted(cloze: Cloze, pick: str) -> bool:
    """Whether the model's pick for the blank is another candidate than the sentence's own
    (or, for a strict cloze, "none")."""
    if pick == NONE:
        return cloze.strict
    return not _same(cloze.own, pick)


def contradicted_claims(judged: Sequence[dict[str, Any]]) -> list[str]:
    """The claims (names, numbers) of the sentences the check contradicted."""
    return [str(j["claim"]) for j in judged if j.get("kept") is False and j.get("claim")]


def facts_of_claims(events: Sequence[dict[str, Any]], claims: Sequence[str]) -> list[int]:
    """Ids of the facts a run stored (its `fact` events) whose value is one of `claims`: a fact
    read into the same wrong relation as a contradicted sentence."""
    return [
        int(fact["id"])
        for event in events
        if event.get("type") == "fact"
        for fact in (event.get("data") or {}).get("facts", [])
        if "id" in fact and any(_same(str(fact.get("value", "")), c) for c in claims)
    ]


def without(checked: GroundedAnswer, removed: list[SentenceCheck]) -> GroundedAnswer:
    """`checked` with the `removed` kept sentences taken out of its answer."""
    answer = checked.answer
    for check in removed:
        answer = answer.replace(check.text, "", 1)
    lines = [re.sub(r"\s{2,}", " ", line).strip() for line in answer.split("\n")]
    return GroundedAnswer(
        answer="\n".join(line for line in lines if line and line not in ("-", "*")).strip(),
        kept=[c for c in checked.kept if c not in removed],
        removed=[*checked.removed, *removed],
        table_lines=checked.table_lines,
    )


PICK_TOKENS = 40


@dataclass
class Confirmation:
    """What the relation check did: the answer left, its cost, and each sentence it judged."""

    checked: GroundedAnswer
    usage: Usage
    judged: list[dict[str, Any]]


async def confirm_relations(
    ctx: RunContext,
    question: str,
    checked: GroundedAnswer,
    role: str = "reflector",
    judged_before: Sequence[dict[str, Any]] = (),
) -> Confirmation:
    """`checked` with the ambiguous sentences the model contradicts corrected, or removed
    when there is nothing to correct them with (see the module doc). A failed call keeps the
    sentence. A sentence judged
    before in the run (`judged_before`, the `judged` of earlier confirmations) is not asked
    again."""
    usage = Usage()
    judged: list[dict[str, Any]] = []
    contradicted_checks: list[SentenceCheck] = []
    known = {j["sentence"]: j for j in judged_before if "kept" in j}
    clozes = [(c, z) for c in checked.kept if (z := cloze_of(c, question)) is not None]
    for check, cloze in clozes[:MAX_CHECKS]:
        if check.text in known:
            if not known[check.text]["kept"]:
                check.reason = f"the source gives {known[check.text]['pick']}, not {cloze.own}"
                contradicted_checks.append(check)
            continue
        messages = load_prompt("relation_check").render(
            statement=quote_untrusted(cloze.statement),
            sentence=cloze.blanked,
            options="; ".join(choices(cloze)),
        )
        try:
            picked, cost = await structured(ctx, role, messages, pick_schema(cloze), PICK_TOKENS)
        except (ModelError, TimeoutError) as error:
            usage.add(failed_usage(error))
            judged.append({"sentence": check.text, "error": str(error)})
            continue
        usage.add(cost)
        pick = str(picked.fill)
        wrong = contradicted(cloze, pick)
        corrected = corrected_sentence(check, cloze, pick) if wrong else None
        judged.append({"sentence": check.text, "claim": cloze.own, "options": cloze.options,
                       "pick": pick, "kept": not wrong, "corrected": corrected})  # fmt: skip
        if corrected is not None:
            checked = rewritten(checked, check, corrected)
        elif wrong:
            check.reason = f"the source gives {pick}, not {cloze.own}"
            contradicted_checks.append(check)
    if contradicted_checks:
        checked = without(checked, contradicted_checks)
    return Confirmation(checked, usage, judged)


def corrected_sentence(check: SentenceCheck, cloze: Cloze, pick: str) -> str | None:
    """The sentence with the candidate the statement gives in its blank, with its citation
    markers: the statement holds that candidate, and the model read the relation from it.
    None when the model said the statement does not state the relation at all (a strict
    cloze: nothing to put in the blank)."""
    if pick == NONE or cloze.strict or cloze.blanked.count("___") != 1:
        return None
    markers = "".join(m.group(0) for m in _MARKER.finditer(check.text))
    return with_marker(cloze.blanked.replace("___", pick), markers)


def rewritten(checked: GroundedAnswer, check: SentenceCheck, corrected: str) -> GroundedAnswer:
    """`checked` with one kept sentence replaced by its corrected text."""
    replacement = SentenceCheck(
        text=corrected,
        sources=check.sources,
        supported=True,
        statement=check.statement,
        about=check.about,
    )
    return GroundedAnswer(
        answer=checked.answer.replace(check.text, corrected, 1),
        kept=[replacement if c is check else c for c in checked.kept],
        removed=checked.removed,
        table_lines=checked.table_lines,
    )
