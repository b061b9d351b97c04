"""Facts between the reflector and the knowledge cache, checked against their sources.

- `evidence_support`: how much of the reflector's evidence the results actually say. Small
  models sometimes "find" an answer no result contains (from their own memory); evidence the
  results do not support is not noted and cannot satisfy a goal.

- `grounded_facts`: the reflector's fact triples, checked against the result each one cites. A
  fact is kept only when one statement (sentence) of that result states its value together with
  its subject (or the result is the subject's own document, named by its title, and the
  statement its value), and the value is not just the subject's own name: small models invent
  values and pair a true value with the wrong subject. Its confidence is how well that best
  statement holds it (`statement_support`).
- `fact_supported`: the same test for a recalled fact against its stored passage, before it
  may settle a goal: a wrong fact in the cache cannot turn a right answer into a wrong one.
- `fact_about`: whether a recalled fact is about what a goal names: a fact may be near a goal
  in meaning ("the elevation of one mountain" for "the elevation of another") and still be
  about something else.
- `fact_observations`: recalled facts as observations for the reflector and the writer, one per
  source passage: the facts, then the stored passage they were read from (so the evidence is
  the source's own words, and citations point at the source, not at the cache).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from agent.schemas import FactItem, Reflection
from agent.text import STOPWORDS, passage_sentences
from memory.knowledge import FactRecord

_TOKEN = re.compile(r"[^\W_]+")
MIN_VALUE_SUPPORT = 0.6
"""Share of a value's words that must occur in the cited result's text."""


def _tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    # "2,102,650" and "2102650" are the same number
    plain = re.sub(r"(?<=\d)[,\u202f\u00a0'](?=\d{3})", "", plain)
    return _TOKEN.findall(plain)


def support(claim: str, text: str) -> float:
    """Share of `claim`'s words (digits included) that occur in `text`."""
    wanted = _tokens(claim)
    if not wanted:
        return 0.0
    have = set(_tokens(text))
    return sum(token in have for token in wanted) / len(wanted)


_MARKER = re.compile(r"\[\d+\]")
MIN_EVIDENCE_SUPPORT = 0.5
"""Share of the evidence's content words that the best single result must hold."""


def evidence_support(evidence: str, observations: Sequence[dict[str, Any]]) -> float:
    """How well the best single result supports `evidence`: the share of its content words
    (stopwords and [n] markers left out) found in that result's title and text. 1.0 for empty
    evidence (nothing is claimed)."""
    words = [
        t
        for t in _tokens(_MARKER.sub(" ", evidence))
        if t not in STOPWORDS and (len(t) > 2 or t.isdigit())
    ]
    if not words:
        return 1.0
    best = 0.0
    for obs in observations:
        have = set(_tokens(f"{obs.get('title', '')}\n{obs.get('text', '')}"))
        best = max(best, sum(w in have for w in words) / len(words))
    return best


MIN_STATEMENT_SUPPORT = 0.5
"""Least `statement_support` of a fact that is stored or recalled."""


def _numbers(text: str) -> set[str]:
    return {t for t in _tokens(text) if t.isdigit()}


def statement_support(subject: str, attribute: str, value: str, title: str, text: str) -> float:
    """How well one sentence of a passage states `subject — attribute — value`, from 0 to 1:
    the share of the value's words in the sentence (every number of the value must be there)
    times the share of the subject's words in it (or in the passage's title: a document's
    sentences are about its title's subject), times 0.85 when the sentence names no word of
    the attribute. 0 when the value is only the subject's own name."""
    return best_statement(subject, attribute, value, title, text)[0]


def best_statement(
    subject: str, attribute: str, value: str, title: str, text: str
) -> tuple[float, str]:
    """(`statement_support`, the sentence of `text` that gives it; "" when none does)."""
    value_words = set(_tokens(value)) - STOPWORDS
    subject_words = set(_tokens(subject)) - STOPWORDS
    if not value_words or not subject_words or value_words <= subject_words:
        return 0.0, ""
    titled = support(subject, title) if title else 0.0
    attribute_stems = {t[:5] for t in _tokens(attribute) if t not in STOPWORDS}
    best, best_sentence = 0.0, ""
    for sentence in passage_sentences(text):
        have = set(_tokens(sentence))
        if not _numbers(value) <= have:
            continue
        value_share = len(value_words & have) / len(value_words)
        if value_share < MIN_VALUE_SUPPORT:
            continue
        subject_share = max(len(subject_words & have) / len(subject_words), titled)
        named = not attribute_stems or bool(attribute_stems & {t[:5] for t in have})
        score = value_share * subject_share * (1.0 if named else 0.85)
        if score > best:
            best, best_sentence = score, sentence
    return best, best_sentence


def stating_result(
    item: FactItem, observations: Sequence[dict[str, Any]]
) -> tuple[int, float, str] | None:
    """(index, support, sentence) of the result that states the fact: the one it cites, or
    else the one other result that states it best (small models mix up result numbers, as
    they do citation markers); None when no result states it."""
    if not item.subject or not item.attribute:
        return None
    order = list(range(len(observations)))
    if 1 <= item.result <= len(observations):
        order.remove(item.result - 1)
        order.insert(0, item.result - 1)
    best: tuple[int, float, str] | None = None
    for index in order:
        obs = observations[index]
        score, sentence = best_statement(
            item.subject, item.attribute, item.value, obs.get("title", ""), obs.get("text", "")
        )
        if score >= MIN_STATEMENT_SUPPORT and (best is None or score > best[1]):
            best = (index, score, sentence)
            if index == item.result - 1:
                break  # the cited result states it: no need to look further
    return best


def fact_supported(fact: FactRecord) -> bool:
    """Whether a stored fact's own passage still states it (see `statement_support`)."""
    if not fact.passage:
        return False
    score = statement_support(fact.subject, fact.attribute, fact.value, fact.title, fact.passage)
    return score >= MIN_STATEMENT_SUPPORT


MIN_SUBJECT_NAMED = 0.5
"""Share of a recalled fact's subject words that the goal must name."""


def fact_about(fact: FactRecord, goal: str) -> bool:
    """Whether `goal` names the fact's subject: at least half of the subject's words (and at
    least one) occur in it."""
    subject_words = set(_tokens(fact.subject)) - STOPWORDS
    if not subject_words:
        return False
    named = subject_words & set(_tokens(goal))
    return len(named) / len(subject_words) >= MIN_SUBJECT_NAMED


_VERB_LIKE = re.compile(
    r"(?:ed|ing)\b|\b(?:in|on|at|by|of|for|from|to|into|through|with|as|after)$", re.I
)
"""An attribute written as a verb or ending in a preposition: a relation, not a role."""


def oriented(item: FactItem, asked: str) -> FactItem:
    """The fact with what was asked about as its subject. A question names the thing it asks
    about and not its answer ("Who painted The Scream?"); a fact whose value the question
    names while it names nothing of the subject was written answer-first by a small model
    ("Edvard Munch — painter — The Scream") and is turned round. Only a role ("painter",
    "capital") is turned: a verb ("discovered", "flows through") reads subject-verb-object as
    written, whoever the question names. A value that does not start with a capital (a
    quantity, a date) is never a subject; a question naming both, or neither, leaves the fact
    as it is."""
    asked_words = set(_tokens(asked)) - STOPWORDS
    subject = set(_tokens(item.subject)) - STOPWORDS
    value = set(_tokens(item.value)) - STOPWORDS
    if not asked_words or not subject or not value or not item.value[:1].isupper():
        return item  # a quantity or a date is never a subject
    if _VERB_LIKE.search(item.attribute.strip()):
        return item  # "discovered", "flows through": read subject-verb-object, as written
    value_named = len(value & asked_words) / len(value)
    if value_named >= MIN_SUBJECT_NAMED and not subject & asked_words:
        return item.model_copy(update={"subject": item.value, "value": item.subject})
    return item


def grounded_facts(
    items: Sequence[FactItem],
    observations: Sequence[dict[str, Any]],
    run_id: str,
    asked: str = "",
) -> list[dict[str, Any]]:
    """`record_facts` rows for the facts a result states (`stating_result`), each with that
    result as its source, turned round (`oriented`) to be about what `asked` (the question
    and the goal) names when a result states it that way too."""
    rows: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for item in items:
        stated = stating_result(item, observations)
        turned = oriented(item, asked)
        if turned is not item:
            # turned round only when a result states it so at least as well ("houses" looks
            # like a role, yet "Louvre — houses — Mona Lisa" is the fact its sentence states)
            stated_turned = stating_result(turned, observations)
            if stated_turned is not None and (stated is None or stated_turned[1] >= stated[1]):
                item, stated = turned, stated_turned
        if stated is None:
            continue
        index, confidence, _ = stated
        obs = observations[index]
        key = (item.subject.casefold(), item.attribute.casefold(), item.value.casefold(),
               obs["source_id"])  # fmt: skip
        if key in seen:
            continue
        seen.add(key)
        start, end = obs.get("start"), obs.get("end")
        if start is None or end is None:
            start = end = None
        rows.append(
            {
                "subject": item.subject,
                "attribute": item.attribute,
                "value": item.value,
                "source_id": obs["source_id"],
                "run_id": run_id,
                "confidence": round(min(1.0, confidence), 3),
                "start": start,
                "end": end,
            }
        )
    return rows


def fact_item(fact: FactRecord) -> dict[str, Any]:
    """A fact as event data: the triple and where it came from."""
    return {
        "id": fact.id,
        "subject": fact.subject,
        "attribute": fact.attribute,
        "value": fact.value,
        "source_id": fact.source_id,
        "title": fact.title,
        "url": fact.url,
        "confidence": fact.confidence,
        "run_id": fact.run_id,
    }


def fact_observations(facts: Sequence[FactRecord]) -> list[dict[str, Any]]:
    """One observation per source passage of the facts, best fact first."""
    groups: dict[tuple[str, int | None, int | None], list[FactRecord]] = {}
    for fact in facts:
        groups.setdefault((fact.source_id, fact.start, fact.end), []).append(fact)
    observations = []
    for (source_id, start, end), group in groups.items():
        lines = [f"Noted earlier: {f.text()}" for f in group]
        passage = next((f.passage for f in group if f.passage), None)
        text = "\n".join(lines) + (f"\n{passage}" if passage else "")
        observations.append(
            {
                "source_id": source_id,
                "url": group[0].url,
                "title": group[0].title,
                "text": text,
                "score": max((f.score or 0.0) for f in group),
                "start": start,
                "end": end,
            }
        )
    return observations


def check_reflection(
    reflection: Reflection, observations: Sequence[dict[str, Any]], fallback_query: str
) -> tuple[Reflection, float]:
    """The reflection with unsupported evidence taken out: evidence that the results do not
    hold (support below `MIN_EVIDENCE_SUPPORT`) is dropped, cannot settle the goal (verdict
    off_track) and sends the agent searching again. Returns it and the evidence's support."""
    score = evidence_support(reflection.evidence, observations)
    if not reflection.evidence.strip() or score >= MIN_EVIDENCE_SUPPORT:
        return reflection, score
    update: dict[str, Any] = {"evidence": "", "verdict": "off_track"}
    if reflection.next_action in ("next_goal", "answer"):
        update["next_action"] = "search"
        update["query"] = reflection.query.strip() or fallback_query
    return reflection.model_copy(update=update), score
