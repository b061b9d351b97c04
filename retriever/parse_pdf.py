"""The text of a PDF: pypdf's page texts, joined by blank lines, with the title and date.

`pdf_text(data, where)` returns a `PdfText(title, text, created)` and raises only `PdfError`
(encrypted, broken or image-only PDFs) with a one-line reason. At most `MAX_PDF_PAGES` pages are
read; one page that fails does not lose the others. A PDF with an empty user password is read;
one that needs a password is refused. The text's structure (paragraphs, and whatever lists or
tables the text shows) comes from `retriever.parse_text`.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["MAX_PDF_PAGES", "PdfError", "PdfText", "pdf_text"]

log = logging.getLogger(__name__)

MAX_PDF_PAGES = 300


class PdfError(ValueError):
    """The PDF holds no text this reader can use; the message says why, in one line."""


@dataclass(frozen=True)
class PdfText:
    title: str
    text: str
    created: date | None


def pdf_text(data: bytes, where: str) -> PdfText:
    """The text of the PDF `data` (`where` names it in errors)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except (PyPdfError, NotImplementedError) as error:
                raise PdfError(f"cannot decrypt the PDF at {where}: {error}") from None
            if not unlocked:
                raise PdfError(f"the PDF at {where} is encrypted (needs a password)")
        pages = reader.pages
        count = len(pages)
    except PdfError:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise PdfError(f"broken PDF at {where}: {type(error).__name__}: {error}") from None
    texts: list[str] = []
    failures = 0
    for index in range(min(count, MAX_PDF_PAGES)):
        try:
            page_text = pages[index].extract_text() or ""
        except Exception:  # one bad page must not lose the others
            log.debug("PDF page %d of %s failed", index + 1, where, exc_info=True)
            failures += 1
            continue
        page_text = page_text.strip()
        if page_text:
            texts.append(page_text)
    text = "\n\n".join(texts)
    if not text.strip():
        if failures:
            raise PdfError(f"broken PDF at {where}: no page could be read")
        raise PdfError(f"the PDF at {where} has no extractable text (scanned images?)")
    title = ""
    created: date | None = None
    try:
        info = reader.metadata
        if info is not None:
            title = " ".join(str(info.title or "").split())[:300]
            stamp = info.creation_date
            created = stamp.date() if isinstance(stamp, datetime) else None
    except Exception:  # malformed document information: the text is still good
        log.debug("PDF metadata of %s unreadable", where, exc_info=True)
    return PdfText(title=title, text=text, created=created)
