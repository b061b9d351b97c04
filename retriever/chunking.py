"""Split document text into overlapping passages on word boundaries.

Offsets are exact: for every passage `p`, `text[p.start:p.end] == p.text`. Passages never start or
end with whitespace. A cut prefers, in order, a paragraph break, a line break, the end of a
sentence and any whitespace in the last part of the window; a single "word" longer than the window
(a URL, a base64 blob) is cut hard so every passage stays within `size` characters.
"""

from __future__ import annotations

import re

from retriever.types import Passage

__all__ = ["chunk_text"]

_SENTENCE_END = re.compile(r"[.!?;:][\"')\]]*\s")
_WHITESPACE = re.compile(r"\s")
_NON_WHITESPACE = re.compile(r"\S")


def chunk_text(doc_id: str, text: str, size: int = 800, overlap: int = 150) -> list[Passage]:
    """Cut `text` into passages of at most `size` characters, consecutive ones sharing about
    `overlap` characters (rounded to a word boundary).

    Text of at most `size` characters (after trimming whitespace) is one passage; empty or
    whitespace-only text gives no passages.
    """
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"overlap must be in [0, size), got {overlap} with size {size}")

    passages: list[Passage] = []
    length = len(text)
    pos = _skip_whitespace(text, 0)
    while pos < length:
        end = _trim_end(text, pos, length)
        if end - pos <= size:
            passages.append(Passage(doc_id, len(passages), pos, end, text[pos:end]))
            break
        cut = _find_cut(text, pos, pos + size)
        end = _trim_end(text, pos, cut)
        passages.append(Passage(doc_id, len(passages), pos, end, text[pos:end]))
        pos = _next_start(text, pos, cut, overlap)
    return passages


def _skip_whitespace(text: str, pos: int) -> int:
    match = _NON_WHITESPACE.search(text, pos)
    return match.start() if match else len(text)


def _trim_end(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _find_cut(text: str, start: int, limit: int) -> int:
    """The end (exclusive) of a passage that starts at `start` and may not pass `limit`.

    The cut lands on whitespace in the second half of the window, preferring the strongest
    boundary; with no whitespace there it is a hard cut at `limit`.
    """
    floor = start + (limit - start) // 2
    window = text[floor : limit + 1]  # one extra char: a boundary right after `limit` still fits
    for marker in ("\n\n", "\n"):
        index = window.rfind(marker)
        if index > 0:
            return floor + index
    last_sentence = None
    for match in _SENTENCE_END.finditer(window):
        last_sentence = match
    if last_sentence is not None:
        return floor + last_sentence.end() - 1
    for index in range(len(window) - 1, 0, -1):
        if window[index].isspace():
            return floor + index
    return limit


def _next_start(text: str, start: int, cut: int, overlap: int) -> int:
    """Where the next passage starts: about `overlap` characters before `cut`, at a word start."""
    if overlap == 0:
        return _skip_whitespace(text, cut)
    target = max(cut - overlap, start + 1)
    # Move forward to the beginning of the next word so the passage does not open mid-word.
    if target > 0 and not text[target - 1].isspace():
        match = _WHITESPACE.search(text, target, cut)
        target = match.start() if match else cut
    return _skip_whitespace(text, target)
