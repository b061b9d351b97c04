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
