"""Records that flow through the retriever: documents in, hits out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from retriever.structure import DocumentStructure


@dataclass(frozen=True)
class Document:
    """One source document. `doc_id` is stable within a corpus. `structure` (sections, tables,
    lists... with spans into `text`) is set by parsers of markup; the corpus store parses plain
    text when it is None."""

    doc_id: str
    text: str
    url: str = ""
    title: str = ""
    source: str = ""
    structure: DocumentStructure | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Passage:
    """A chunk of a document: `start`/`end` are character offsets into the document text."""

    doc_id: str
    ordinal: int
    start: int
    end: int
    text: str
    context: str = ""
    """What the passage needs to be read alone (its section path; in a table, the caption and
    column names): shown beside it and searched with it, never part of `text`."""


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
    context: str = ""
    """The passage's section path and, inside a table, its caption and column names."""
