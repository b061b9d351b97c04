"""The support check: every sentence of an answer is held against the passages it cites.

A sentence is supported when it cites at least one source and one statement of a cited source
(a sentence, or two when the second refers back with "it", "he", "they"...; with the source's
title, which its sentences are about) holds:
- every number it states (thousands separators and accents aside);
- every name it states (a capitalised word), and the names it takes from the question (what the
  claim is about: "designed by X" needs X and the building in one statement, not X anywhere);
- at least `MIN_WORD_SUPPORT` of its other content words (word stems: "developed" and
  "develops" match), leaving out the question's words, which restate what was asked.

A sentence without a citation, or whose cited sources do not hold it, is given the one source
that supports it, if one does (small writers forget markers and mix up numbers); otherwise it is
unsupported, unless it only states what the sources do
not say (a "gap" statement: a negation, and no name, number or word beyond the question's own
and words about searching and sources). Table lines are left as they are.

`ground_answer` keeps the supported sentences and gap statements, in order, and reports the
sentences it removed with the reason: an unsupported sentence is never shown as fact.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.text import STOPWORDS, passage_sentences, split_sentences

MIN_WORD_SUPPORT = 0.5
"""Share of a sentence's content words (beyond the question's) its cited sources must hold."""

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W_]+")
_NEGATION = frozenset({"not", "no", "none", "nothing", "neither", "nor", "cannot", "without"})
_GAP_WORDS = frozenset(
    """source sources document documents corpus text texts passage passages information
    search searched searches result results found find mention mentions mentioned say says
    said state states stated provide provides provided give gives given answer answers
    contain contains available specify specifies specified read detail details data record
    records indicate indicates indicated include includes included question asked however
    unfortunately sorry""".split()  # noqa: SIM905 - a word list reads best as text
)
_META_WORDS = frozenset(
    """source sources document documents text texts passage passages information state
    states stated say says said mention mentions mentioned only""".split()  # noqa: SIM905
)
"""Words about what the sources say ("they only state that ..."): not part of a claim."""
_MAX_GAP_OTHER_WORDS = 2
"""Content words beyond source-and-search words a gap statement may use ("the sources do not
say where it is located")."""
_FUNCTION_WORDS = STOPWORDS | {
    "it", "its", "he", "his", "she", "her", "they", "their", "there", "this", "these", "the",
    "in", "on", "at", "after", "before", "during", "while", "although", "both", "yes", "today",
}  # fmt: skip


@dataclass
class SentenceCheck:
    """One sentence of an answer and what the check found."""

    text: str
    sources: list[int] = field(default_factory=list)
    supported: bool = False
    gap: bool = False
    reason: str = ""
    statement: str = ""
    """The one cited statement that holds the sentence (empty when several do together)."""
    about: str = ""
    """The title of that statement's source (what its sentences are about)."""


@dataclass
class GroundedAnswer:
    """The answer with its unsupported sentences removed, and what was kept and removed."""

    answer: str
    kept: list[SentenceCheck] = field(default_factory=list)
    removed: list[SentenceCheck] = field(default_factory=list)
    table_lines: int = 0

    @property
    def answers(self) -> bool:
        """True when at least one kept sentence states something a source supports (or the
        answer has a table, which is left as it is)."""
        return self.table_lines > 0 or any(s.supported and not s.gap for s in self.kept)


_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "þ": "th"})


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(?<=\w)['’]s\b", "", text)  # possessives: "France's" is "France"
    return re.sub(r"(?<=\d)[,\u202f\u00a0'](?=\d{3}(?!\d))", "", text)


def _stem(word: str) -> str:
    """A crude stem: "kilometres", "kilometre"; "designed", "designs" and "design" match; "lies"
    and "lie"."""
    for suffix in ("ies", "ied", "ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= (3 if suffix == "s" else 4):
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


@dataclass
class _Words:
    numbers: set[str]
    words: set[str]
    stems: set[str]
    text: str = ""
    title: str = ""

    @classmethod
    def of(cls, text: str, shown: str = "", title: str = "") -> _Words:
        """The words of `text`; `shown` is the text a reader sees (a statement without the
        source `title` it is read with)."""
        folded = _fold(text)
        words = set(_WORD.findall(folded))
        numbers = {n.rstrip(".,") for n in _NUMBER.findall(folded)}
        return cls(numbers, words, {_stem(w) for w in words}, shown or text, title)


def cited_numbers(sentence: str) -> list[int]:
    numbers: list[int] = []
    for group in _MARKER.findall(sentence):
        for raw in re.split(r"\s*[,;]\s*", group):
            if int(raw) not in numbers:
                numbers.append(int(raw))
    return numbers


def _question_names(question: str) -> set[str]:
    """The names a question writes (capitalised words past its first): what it is about."""
    names = set()
    for i, match in enumerate(_WORD.finditer(question)):
        word = _fold(match.group(0))
        if i and match.group(0)[0].isupper() and word not in _FUNCTION_WORDS:
            names.add(word)
    return names


def _claims(
    sentence: str,
    asked: _Words,
    asked_names: set[str] = frozenset(),  # type: ignore[assignment]
) -> tuple[set[str], set[str], set[str], set[str]]:
    """(numbers, names, other content words) the sentence states beyond the question, and the
    question's names (`asked_names`) it repeats: what its claim is about. A sentence that
    states nothing beyond the question ("A is longer than B" for "Which is longer, A or B?")
    asserts the relation itself: then its words from the question are what a statement must
    hold."""
    plain = _MARKER.sub(" ", sentence)
    numbers = {n.rstrip(".,") for n in _NUMBER.findall(_fold(plain))} - asked.numbers
    names: set[str] = set()
    others: set[str] = set()
    anchors: set[str] = set()
    for i, match in enumerate(_WORD.finditer(plain)):
        raw = match.group(0)
        word = _fold(raw)
        capital = raw[0].isupper() and not (i == 0 and word in _FUNCTION_WORDS)
        if word.isdigit():
            continue
        if word in asked.words or _stem(word) in asked.stems:
            if word in asked_names:
                anchors.add(word)
            continue
        if capital:
            if word not in _FUNCTION_WORDS and not (i == 0 and word in _META_WORDS):
                names.add(word)
        elif word not in _FUNCTION_WORDS and word not in _META_WORDS and len(word) > 2:
            others.add(word)
    if not (numbers or names or others):
        for match in _WORD.finditer(plain):
            word = _fold(match.group(0))
            if word not in _FUNCTION_WORDS and len(word) > 2 and not word.isdigit():
                anchors.add(word)
    return numbers, names, others, anchors


_REFERS_BACK = frozenset(
    ["it", "its", "he", "his", "she", "her", "they", "their", "this", "these", "there"]
)


@functools.lru_cache(maxsize=256)
def _statements(text: str) -> tuple[_Words, ...]:
    """The statements of a source text ("title\nbody"), each with the title's words (what the
    source's sentences are about): every sentence, and every sentence together with the one
    before it when it refers back to it ("It opened in 1973."). Cached: every sentence of an
    answer, and every attempt to attribute one, reads the same sources."""
    title, _, body = text.partition("\n") if "\n" in text else ("", "", text)
    sentences = passage_sentences(body) or [body]
    statements = []
    for i, sentence in enumerate(sentences):
        statements.append(_Words.of(f"{title}\n{sentence}", sentence, title))
        first = _WORD.match(_fold(sentence).lstrip(" \"'("))
        if i and first and first.group(0) in _REFERS_BACK:
            pair = f"{sentences[i - 1]} {sentence}"
            statements.append(_Words.of(f"{title}\n{pair}", pair, title))
    return tuple(statements)


def _held(words: set[str], have: _Words) -> bool:
    return all(w in have.words or _stem(w) in have.stems for w in words)


def _held_across(
    numbers: set[str],
    names: set[str],
    anchors: set[str],
    others: set[str],
    cited: list[int],
    sources: Mapping[int, str],
) -> bool:
    """A sentence citing several sources ("A is 3,531 km long and B 2,850 km [1][2]"): each of
    its numbers and names is held by a statement of a cited source together with another of
    its names, numbers or question names (not a stray mention), and those statements hold
    enough of its other words."""
    claims = numbers | names
    if len(claims) < 2:
        return False
    statements = [w for n in cited for w in _statements(sources[n])]
    used: list[_Words] = []
    for claim in claims:
        holding = [
            w
            for w in statements
            if (claim in w.numbers or claim in w.words or _stem(claim) in w.stems)
            and any(
                other in w.numbers or other in w.words for other in (claims | anchors) - {claim}
            )
        ]
        if not holding:
            return False
        used.append(holding[0])
    held = sum(any(w in u.words or _stem(w) in u.stems for u in used) for w in others)
    return held >= MIN_WORD_SUPPORT * len(others)


def check_sentence(sentence: str, sources: Mapping[int, str], question: str = "") -> SentenceCheck:
    """Whether the sources `sentence` cites support it (see the module doc). A supported
    sentence about what the sources say that states no number or name of its own ("The sources
    only describe its construction [1]") counts as a gap statement: kept, but no answer."""
    claims = _claims(sentence, _Words.of(question), _question_names(question))
    words = set(_WORD.findall(_fold(_MARKER.sub(" ", sentence))))
    check = _check_sentence(sentence, sources, claims, words)
    numbers, names, _, _ = claims
    if check.supported and not check.gap and words & _META_WORDS and not numbers and not names:
        check.gap = True
    return check


def _check_sentence(
    sentence: str,
    sources: Mapping[int, str],
    claims: tuple[set[str], set[str], set[str], set[str]],
    words: set[str],
) -> SentenceCheck:
    """`check_sentence` given the sentence's `_claims` and its folded words."""
    numbers, names, others, anchors = claims
    cited = [n for n in cited_numbers(sentence) if n in sources]
    check = SentenceCheck(text=sentence, sources=cited)
    if not cited:
        gap_stems = {_stem(g) for g in _GAP_WORDS}
        beyond = [w for w in others if _stem(w) not in gap_stems and w not in _NEGATION]
        if (
            words & _NEGATION
            and words & (_GAP_WORDS | _META_WORDS)
            and not numbers
            and not names
            and len(beyond) <= _MAX_GAP_OTHER_WORDS
        ):
            check.gap = check.supported = True
            return check
        check.reason = "cites no source it was given"
        return check
    have = _Words.of("\n".join(sources[n] for n in cited))
    missing_numbers = sorted(numbers - have.numbers)
    if missing_numbers:
        check.reason = f"number {', '.join(missing_numbers)} not in the cited source"
        return check
    missing_names = sorted(n for n in names if n not in have.words and _stem(n) not in have.stems)
    if missing_names:
        check.reason = f"name {', '.join(missing_names)} not in the cited source"
        return check
    best = 0
    for statement in (w for n in cited for w in _statements(sources[n])):
        if not numbers <= statement.numbers or not _held(names | anchors, statement):
            continue
        held = sum(w in statement.words or _stem(w) in statement.stems for w in others)
        if held >= MIN_WORD_SUPPORT * len(others):
            check.supported = True
            check.statement = statement.text
            check.about = statement.title
            return check
        best = max(best, held)
    if len(cited) > 1 and _held_across(numbers, names, anchors, others, cited, sources):
        check.supported = True
        return check
    if others and best:
        check.reason = f"only {best} of {len(others)} content words in one cited statement"
    else:
        claim = sorted(numbers | names) or sorted(others)[:3]
        check.reason = (
            f"no statement of the cited source holds {', '.join(claim)} with "
            f"{', '.join(sorted(anchors)) or 'the rest of the sentence'}"
        )
    return check


def _attribute(sentence: str, sources: Mapping[int, str], question: str) -> str:
    """`sentence` with a marker for the one source that supports it, or unchanged."""
    body = _MARKER.sub("", sentence).rstrip()
    body = re.sub(r"\s+([.!?])$", r"\1", body)
    tail = body[-1] if body[-1:] in ".!?" else ""
    stem = body[:-1] if tail else body
    for n in sources:
        candidate = f"{stem} [{n}]{tail}"
        if check_sentence(candidate, {n: sources[n]}, question).supported:
            return candidate
    return sentence


def ground_answer(answer: str, sources: Mapping[int, str], question: str = "") -> GroundedAnswer:
    """`answer` with every sentence its cited sources do not support removed."""
    result = GroundedAnswer(answer="")
    lines: list[str] = []
    for line in answer.split("\n"):
        if not line.strip() or line.lstrip().startswith("|"):
            result.table_lines += line.lstrip().startswith("|")
            lines.append(line)
            continue
        bullet = re.match(r"\s*(?:[-*•]|\d+[.)])\s+", line)
        prefix = bullet.group(0) if bullet else ""
        kept_here: list[str] = []
        for sentence in split_sentences(line[len(prefix) :]):
            if not cited_numbers(sentence):
                sentence = _attribute(sentence, sources, question)
            check = check_sentence(sentence, sources, question)
            if not check.supported and cited_numbers(sentence):
                # the claim is sound but cites the wrong source: cite the one that holds it
                recited = _attribute(sentence, sources, question)
                if recited != sentence:
                    sentence, check = recited, check_sentence(recited, sources, question)
            (result.kept if check.supported else result.removed).append(check)
            if check.supported:
                kept_here.append(sentence)
        if kept_here:
            lines.append(prefix + " ".join(kept_here))
    text = "\n".join(lines)
    result.answer = re.sub(r"\n{3,}", "\n\n", text).strip()
    return result
