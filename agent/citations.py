"""Citations are real: an answer may cite only sources that the run actually read.

The writer sees sources numbered [1]..[n]. `enforce_citations` keeps a marker only when its
number names a source the run read, removes every other marker, and renumbers the kept sources
1..m in order of first use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from agent.result import Citation

_MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")


@dataclass
class SourceRef:
    source_id: str
    url: str = ""
    title: str = ""


@dataclass
class CitationCheck:
    answer: str
    citations: list[Citation]
    rejected: list[str] = field(default_factory=list)


def enforce_citations(
    answer: str,
    numbered: Mapping[int, SourceRef],
    read_ids: set[str],
) -> CitationCheck:
    """Drop markers that point at unknown numbers or at sources not in `read_ids`."""
    renumber: dict[str, int] = {}
    citations: list[Citation] = []
    rejected: list[str] = []

    def replace(match: re.Match[str]) -> str:
        kept: list[int] = []
        for raw in re.split(r"\s*[,;]\s*", match.group(1)):
            n = int(raw)
            ref = numbered.get(n)
            if ref is None or ref.source_id not in read_ids:
                rejected.append(ref.source_id if ref else f"[{n}]")
                continue
            if ref.source_id not in renumber:
                renumber[ref.source_id] = len(renumber) + 1
                citations.append(
                    Citation(
                        n=renumber[ref.source_id],
                        source_id=ref.source_id,
                        url=ref.url,
                        title=ref.title,
                    )
                )
            if renumber[ref.source_id] not in kept:
                kept.append(renumber[ref.source_id])
        return "".join(f"[{k}]" for k in kept)

    text = _MARKER.sub(replace, answer)
    text = re.sub(r"[ \t]+([.,;:])", r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return CitationCheck(answer=text, citations=citations, rejected=rejected)


_SENTENCE_END = re.compile(r"(?<=[.!?])(\s+)")
_WORD = re.compile(r"\w+")


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3 or w.isdigit()}


def attribute_uncited(answer: str, sources: Mapping[int, str], min_share: float = 0.6) -> str:
    """Add a [n] marker to each prose sentence that has none but is clearly supported by
    source n: at least `min_share` of its content words (and 3 or more) occur in that source.
    Small writers often copy from the sources and forget the markers. Table lines are left
    alone. Only numbers in `sources` are used, so `enforce_citations` still has the last word."""
    source_words = {n: _content_words(text) for n, text in sources.items()}
    out_lines = []
    for line in answer.split("\n"):
        if line.lstrip().startswith("|") or not line.strip():
            out_lines.append(line)
            continue
        parts = _SENTENCE_END.split(line)
        rebuilt = []
        for i in range(0, len(parts), 2):
            sentence = parts[i]
            gap = parts[i + 1] if i + 1 < len(parts) else ""
            words = _content_words(sentence)
            if sentence.strip() and not _MARKER.search(sentence) and len(words) >= 3:
                best = max(source_words, key=lambda n: len(words & source_words[n]), default=None)
                if best is not None and len(words & source_words[best]) >= min_share * len(words):
                    stripped = sentence.rstrip()
                    tail = stripped[-1] if stripped[-1:] in ".!?" else ""
                    body = stripped[:-1] if tail else stripped
                    sentence = f"{body} [{best}]{tail}" + sentence[len(stripped) :]
            rebuilt.append(sentence + gap)
        out_lines.append("".join(rebuilt))
    return "\n".join(out_lines)
