"""Turn a fetched page into plain text: HTML main text, PDF text, or plain text as it is.

`extract_text(page)` returns an `ExtractedDocument(title, text, published, kind)` and raises
nothing but `ExtractError` (binary bodies, empty pages, encrypted or broken PDFs, and any
surprise from the parsers are all `ExtractError` with a one-line reason).

- Charset: a byte-order mark wins; then the `Content-Type` charset, then (HTML) a
  `<meta charset>` / `http-equiv` declaration, each used only if the bytes decode with it; then
  UTF-8; then charset-normalizer's guess (preferring windows-1252 among equally good guesses, the
  web's usual legacy encoding); at worst windows-1252 with replacement characters. A page
  declared ISO-8859-1/ASCII/windows-1252 whose bytes are valid UTF-8 with multibyte characters
  is read as UTF-8 (the usual mislabel); "iso-8859-1" means windows-1252, as in browsers.
- HTML: the page's structure read with lxml (`retriever.parse_html`: the main content, headings
  as sections, tables with their headers, lists, definition lists, code; scripts, styles,
  navigation, footers and link bars around the content dropped), written as plain text with
  spans; title and publication date from trafilatura's metadata (`<title>` as the fallback
  title). When that finds no text, trafilatura's main-text extraction (as Markdown), and failing
  that an lxml text dump of the page, are read as text.
- PDF: pypdf's page texts, joined by blank lines (at most `MAX_PDF_PAGES` pages); the title
  and creation date from the document information. A PDF with an empty user password is read;
  one that needs a password is refused. Its structure is its paragraphs (and whatever lists or
  tables its text shows: `retriever.parse_text`).
- Anything else allowed by the fetcher (text, Markdown, JSON, XML, CSV): the decoded text, its
  structure read from the text.

The text is at most `MAX_TEXT_CHARS` characters. It is untrusted page content: data to quote
and cite, never instructions.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from retriever.parse_html import parse_html
from retriever.parse_pdf import MAX_PDF_PAGES, PdfError, pdf_text
from retriever.parse_text import parse_text
from retriever.structure import DocumentStructure
from tools.web.fetch import HTML_TYPES, PDF_TYPE, FetchedPage, sniff_binary

__all__ = [
    "MAX_PDF_PAGES",
    "MAX_TEXT_CHARS",
    "ExtractError",
    "ExtractedDocument",
    "decode_body",
    "extract_text",
]

log = logging.getLogger(__name__)
# trafilatura logs ERROR lines for junk HTML ("parsed tree length: 0") that `extract_text`
# already turns into a fallback or an ExtractError: they are noise to the user
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)

MAX_TEXT_CHARS = 1_000_000

Kind = Literal["html", "pdf", "text"]

_LATIN_LABELS = frozenset({"ascii", "latin_1", "cp1252", "iso8859_15"})
_WHATWG_ALIASES = {"ascii": "cp1252", "latin_1": "cp1252"}
_PREFERRED_GUESSES = ("cp1252", "latin_1", "iso8859_15")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_TAG = re.compile(rb"<meta\b[^>]*>", re.IGNORECASE)
_META_CHARSET = re.compile(rb"charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u200b]+")
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "iframe", "object", "head")
_BLOCK_TAGS = frozenset(
    ["address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
     "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
     "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot",
     "th", "thead", "tr", "ul"]
)  # fmt: skip


class ExtractError(ValueError):
    """The page holds no text this reader can use; the message says why, in one line."""


@dataclass(frozen=True)
class ExtractedDocument:
    """The readable text of a page and its structure (spans into `text`). `published` is the
    page's own publication date, if any."""

    title: str
    text: str
    published: date | None
    kind: Kind
    structure: DocumentStructure | None = None

    def sections(self) -> DocumentStructure:
        """The structure (read from the text if the extractor gave none)."""
        if self.structure is not None:
            return self.structure
        return parse_text(self.text, title=self.title)


def extract_text(page: FetchedPage) -> ExtractedDocument:
    """The text of `page` (see the module docstring). Raises only `ExtractError`."""
    try:
        return _extract(page)
    except ExtractError:
        raise
    except Exception as error:  # a parser surprise must not escape as anything else
        log.warning("extracting %s failed", page.final_url, exc_info=True)
        raise ExtractError(
            f"cannot extract text from {page.final_url}: {type(error).__name__}: {error}"
        ) from error


def _extract(page: FetchedPage) -> ExtractedDocument:
    body = page.body
    if not body.strip():
        raise ExtractError(f"empty page at {page.final_url}")
    is_pdf = page.content_type == PDF_TYPE or body[:1024].lstrip().startswith(b"%PDF-")
    if is_pdf:
        return _extract_pdf(body, page.final_url)
    binary = sniff_binary(body, page.charset)
    if binary is not None:
        raise ExtractError(
            f"refused binary content at {page.final_url}: "
            f"labelled {page.content_type or 'nothing'} but the bytes are {binary}"
        )
    is_html = page.content_type in HTML_TYPES or (
        not page.content_type and body[:1024].lstrip()[:15].lower().startswith(b"<!doctype html")
    )
    text = decode_body(body, page.charset, html=is_html)
    if is_html:
        return _extract_html(text, page.final_url)
    text = _clean(text)
    if not text.strip():
        raise ExtractError(f"no text at {page.final_url}")
    markdown = page.content_type in ("text/markdown", "text/x-markdown")
    return ExtractedDocument(
        title="",
        text=text,
        published=None,
        kind="text",
        structure=parse_text(text, markdown=markdown),
    )


# --- charsets -------------------------------------------------------------------------------


def _codec(label: str | None) -> str | None:
    """Python's codec name for a charset label, or None if unknown or not a text encoding."""
    if not label:
        return None
    try:
        info = codecs.lookup(label.strip().lower())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, zlib, rot13 ... are codecs too
    name = info.name.replace("-", "_")
    name = {"iso8859_1": "latin_1", "us_ascii": "ascii", "utf_8": "utf-8"}.get(name, name)
    return _WHATWG_ALIASES.get(name, name)


def _meta_charset(body: bytes) -> str | None:
    for tag in _META_TAG.finditer(body[:8192]):
        match = _META_CHARSET.search(tag.group(0))
        if match:
            return match.group(1).decode("ascii", "replace")
    return None


def _utf8_multibyte(body: bytes) -> bool:
    """Valid UTF-8 with at least one non-ASCII character."""
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _guess(body: bytes) -> str | None:
    from charset_normalizer import from_bytes

    matches = list(from_bytes(body))
    if not matches:
        return None
    best = matches[0]
    for preferred in _PREFERRED_GUESSES:
        for match in matches:
            if (
                match.encoding == preferred
                and match.chaos <= best.chaos + 0.01
                and match.coherence >= best.coherence - 0.01
            ):
                return str(match)
    return str(best)


def decode_body(body: bytes, declared: str | None = None, *, html: bool = False) -> str:
    """`body` as text: the declared charset if the bytes fit it, else the detected one (see
    the module docstring); never raises on undecodable bytes (they become U+FFFD)."""
    for bom, bom_codec in _BOMS:
        if body.startswith(bom):
            return body.decode(bom_codec, errors="replace")
    candidates = [declared]
    if html:
        candidates.append(_meta_charset(body))
    for label in candidates:
        codec = _codec(label)
        if codec is None:
            continue
        if codec in _LATIN_LABELS and _utf8_multibyte(body):
            return body.decode("utf-8")
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guessed = _guess(body)
    if guessed is not None:
        return guessed
    return body.decode("cp1252", errors="replace")


def _clean(text: str) -> str:
    """Newlines normalised, control characters dropped, at most `MAX_TEXT_CHARS` long."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text[:MAX_TEXT_CHARS].strip()


# --- HTML -----------------------------------------------------------------------------------


def _extract_html(html: str, url: str) -> ExtractedDocument:
    parsed = parse_html(html, url=url, main_only=True, max_chars=MAX_TEXT_CHARS)
    structure: DocumentStructure | None = None
    text = parsed.document.text
    if text.strip():
        structure = parsed.document.structure
    else:
        text = _trafilatura_text(html, url)
    title, published = _html_metadata(html, url)
    title = title or parsed.title
    if structure is None:
        structure = parse_text(text, markdown=True, title=title)
    return ExtractedDocument(
        title=title, text=text, published=published, kind="html", structure=structure
    )


def _trafilatura_text(html: str, url: str) -> str:
    """trafilatura's main text as Markdown, else a text dump; `ExtractError` if neither."""
    import trafilatura

    text = (
        trafilatura.extract(
            html,
            url=url or None,
            output_format="markdown",
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            with_metadata=False,
        )
        or ""
    )
    text = _clean(text)
    if not text:
        text = _clean(_html_dump(html))
    if not text:
        raise ExtractError(f"no text found in the HTML page at {url}")
    return text


def _html_metadata(html: str, url: str) -> tuple[str, date | None]:
    """The page's title and publication date (trafilatura's metadata, `<title>` failing it)."""
    import trafilatura

    title = ""
    published: date | None = None
    try:
        metadata = trafilatura.extract_metadata(
            html,
            default_url=url or None,
            date_config={"extensive_search": False, "original_date": True},
            extensive=False,
        )
    except Exception:  # metadata is optional; a page whose metadata breaks still has text
        log.debug("metadata extraction failed for %s", url, exc_info=True)
        metadata = None
    if metadata is not None:
        title = _one_line(metadata.title or "")
        published = _parse_date(metadata.date)
    if not title:
        match = _TITLE.search(html[:65536])
        if match:
            import html as html_lib

            title = _one_line(html_lib.unescape(re.sub(r"<[^>]+>", "", match.group(1))))
    return title, published


def _html_dump(html: str) -> str:
    """All visible text of `html`, one line per block element (the fallback extractor)."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return ""
    for element in list(root.iter(*_DROP_TAGS)):
        element.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
    lines = (_SPACES.sub(" ", line).strip() for line in root.text_content().splitlines())
    return "\n\n".join(line for line in lines if line)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _parse_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


# --- PDF ------------------------------------------------------------------------------------


def _extract_pdf(body: bytes, url: str) -> ExtractedDocument:
    try:
        pdf = pdf_text(body, url)
    except PdfError as error:
        raise ExtractError(str(error)) from None
    text = _clean(pdf.text)
    if not text:
        raise ExtractError(f"the PDF at {url} has no extractable text (scanned images?)")
    return ExtractedDocument(
        title=pdf.title,
        text=text,
        published=pdf.created,
        kind="pdf",
        structure=parse_text(text, title=pdf.title),
    )
