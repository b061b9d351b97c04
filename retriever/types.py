"""Records that flow through the retriever: documents in, hits out."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One source document. `doc_id` is stable within a corpus."""

    doc_id: str
    text: str
    url: str = ""
    title: str = ""
    source: str = ""


@dataclass(frozen=True)
class Passage:
    """A chunk of a document: `start`/`end` are character offsets into the document text."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str


@dataclass
class Hit:
    """A ranked passage with where it came from and why it ranked."""

    doc_id: str
    corpus: str
    url: str
    title: str
    text: str
    start: int
    end: int
    score: float
    scores: dict[str, float] = field(default_factory=dict)
