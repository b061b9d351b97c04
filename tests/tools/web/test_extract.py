"""`extract_text`: HTML main text without boilerplate, the lxml fallback, charsets (declared,
meta, detected, and wrong), PDFs (plain, encrypted, broken), and fuzzed bad input that must
raise nothing but `ExtractError`."""

from __future__ import annotations

import random
from datetime import date

import pytest

from tests.tools.web.fake_pages import (
    ARTICLE_HTML,
    MALFORMED_HTML,
    PDF_PAGES,
    PNG_BYTES,
    WESTERN_TEXT,
    encrypted_pdf,
    make_pdf,
)
from tools.web.extract import ExtractError, decode_body, extract_text
from tools.web.fetch import FetchedPage

URL = "https://news.example/bridge"


def page(body: bytes, content_type: str = "text/html", charset: str | None = None) -> FetchedPage:
    return FetchedPage(URL, URL, 200, content_type, charset, body)


def western_html(meta: str = "") -> str:
    return (
        f"<html><head>{meta}<title>Café</title></head><body><article><p>{WESTERN_TEXT}</p>"
        f"<p>{WESTERN_TEXT}</p></article></body></html>"
    )


# --- HTML -----------------------------------------------------------------------------------


def test_article_main_text_without_boilerplate() -> None:
    document = extract_text(page(ARTICLE_HTML.encode(), charset="utf-8"))
    assert document.kind == "html"
    assert document.title == "The Harbour Bridge"
    assert document.published == date(2021, 3, 14)
    text = document.text
    assert "The bridge was opened on 19 March 1932" in text
    for marker in ("SCRIPT_MARKER", "STYLE_MARKER", "NAV_MARKER", "FOOTER_MARKER", "tracking"):
        assert marker not in text
    assert "## Opening" in text  # headings kept
    assert "\n\nThe bridge was opened" in text  # paragraph breaks kept


def test_malformed_html_still_gives_its_text() -> None:
    document = extract_text(page(MALFORMED_HTML.encode()))
    assert "lighthouses & their keepers" in document.text
    assert "fog signals" in document.text
    assert document.title == "Broken & page"


def test_falls_back_to_a_plain_text_dump_when_trafilatura_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import trafilatura

    from retriever.parse_html import parse_html
    from tools.web import extract

    # neither the structure reader nor trafilatura finds text: the lxml dump still does
    monkeypatch.setattr(extract, "parse_html", lambda *args, **kwargs: parse_html(""))
    monkeypatch.setattr(trafilatura, "extract", lambda *args, **kwargs: None)
    document = extract_text(page(ARTICLE_HTML.encode(), charset="utf-8"))
    assert "The bridge was opened on 19 March 1932" in document.text
    assert "SCRIPT_MARKER" not in document.text and "STYLE_MARKER" not in document.text
    assert "\n\nConstruction\n\n" in document.text  # one block per line
    assert document.title == "The Harbour Bridge"


def test_tiny_page() -> None:
    tiny = extract_text(page(b"<p>Just one short line of text.</p>"))
    assert tiny.text == "Just one short line of text."
    assert tiny.published is None


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><script>var a = 1;</script></head><body> </body></html>",
        b"<html><head><title>Only a title</title></head></html>",
    ],
)
def test_html_without_text_is_an_extract_error(body: bytes) -> None:
    with pytest.raises(ExtractError, match="no text"):
        extract_text(page(body))


# --- charsets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "charset"),
    [
        (western_html().encode("cp1252"), "utf-8"),  # declared utf-8, bytes cp1252
        (western_html().encode(), "iso-8859-1"),  # declared latin-1, bytes utf-8
        (western_html().encode(), "us-ascii"),
        (western_html().encode("cp1252"), None),  # nothing declared
        (western_html().encode("cp1252"), "no-such-charset"),
        (western_html().encode("cp1252"), "base64"),  # a codec, but not a text encoding
        (western_html('<meta charset="windows-1252">').encode("cp1252"), None),
        (
            western_html(
                '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
            ).encode("cp1252"),
            None,
        ),
        (western_html('<meta charset="utf-8">').encode("cp1252"), None),  # meta lies too
        (western_html().encode("utf-16"), None),  # BOM
    ],
    ids=["cp1252-as-utf8", "utf8-as-latin1", "utf8-as-ascii", "cp1252-undeclared",
         "unknown-label", "bytes-codec-label", "meta-charset", "meta-http-equiv", "meta-lies",
         "utf16-bom"],
)  # fmt: skip
def test_wrong_or_missing_charsets_still_read_right(body: bytes, charset: str | None) -> None:
    document = extract_text(page(body, charset=charset))
    assert "Le café près du pont coûte 3 € le matin" in document.text
    assert "Über die Brücke" in document.text and "heißt Zürich" in document.text
    assert document.title == "Café"
    assert "\ufffd" not in document.text


def test_plain_text_charsets() -> None:
    for body, charset in [
        (WESTERN_TEXT.encode("cp1252"), "utf-8"),
        (WESTERN_TEXT.encode(), "iso-8859-1"),
        (WESTERN_TEXT.encode(), None),
    ]:
        document = extract_text(page(body, "text/plain", charset))
        assert document.text == WESTERN_TEXT
        assert document.kind == "text"


def test_decode_body_never_raises() -> None:
    assert decode_body(b"caf\xe9 \x81\x8d", "utf-8")  # bytes undefined even in cp1252
    assert decode_body("Ελληνικά κείμενα".encode("cp1253") * 20, None) == "Ελληνικά κείμενα" * 20
    russian = "Это тестовый текст на русском языке, он достаточно длинный. " * 3
    assert decode_body(russian.encode("cp1251"), "utf-8") == russian


def test_json_and_text_are_kept_as_is() -> None:
    body = b'{"bridge": "opened 1932",\r\n "arch": 503}'
    document = extract_text(page(body, "application/json"))
    assert document.text == '{"bridge": "opened 1932",\n "arch": 503}'
    assert (document.kind, document.title, document.published) == ("text", "", None)


# --- PDF ------------------------------------------------------------------------------------


def test_pdf_text_title_and_date() -> None:
    document = extract_text(page(make_pdf(PDF_PAGES), "application/pdf"))
    assert document.kind == "pdf"
    assert document.title == "Lighthouse report"
    assert document.published == date(2020, 1, 2)
    assert "The board met four times during the year." in document.text
    assert "The Northern Light was automated in 1998." in document.text
    assert "\n\n" in document.text  # pages joined by a blank line


def test_pdf_with_an_empty_user_password_is_read() -> None:
    document = extract_text(page(encrypted_pdf(""), "application/pdf"))
    assert "automated in 1998" in document.text


def test_password_protected_pdf_is_refused() -> None:
    with pytest.raises(ExtractError, match="encrypted"):
        extract_text(page(encrypted_pdf("secret"), "application/pdf"))


@pytest.mark.parametrize(
    "body",
    [
        make_pdf(PDF_PAGES)[:200],
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + b"garbage " * 50,
        b"%PDF-" + random.Random(7).randbytes(3000),
        b"not a pdf at all, just text",
    ],
    ids=["truncated", "garbage-objects", "random-bytes", "not-a-pdf"],
)
def test_broken_pdfs_are_extract_errors(body: bytes) -> None:
    with pytest.raises(ExtractError, match="PDF"):
        extract_text(page(body, "application/pdf"))


def test_pdf_without_text_is_explained() -> None:
    with pytest.raises(ExtractError, match="no extractable text"):
        extract_text(page(make_pdf([""]), "application/pdf"))


def test_pdf_served_as_html_is_read_as_pdf() -> None:
    assert extract_text(page(make_pdf(PDF_PAGES), "text/html")).kind == "pdf"


# --- fuzz -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "text/html"),
        (b"   \n\t ", "text/plain"),
        (PNG_BYTES, "text/html"),
        (PNG_BYTES, "text/plain"),
        (random.Random(1).randbytes(4000), "text/html"),
        (random.Random(2).randbytes(4000), "application/json"),
    ],
    ids=["empty", "blank", "png-as-html", "png-as-text", "random-as-html", "random-as-json"],
)
def test_empty_and_binary_bodies_are_refused(body: bytes, content_type: str) -> None:
    with pytest.raises(ExtractError, match=r"empty|binary"):
        extract_text(page(body, content_type))


@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_html_raises_only_extract_errors(seed: int) -> None:
    rng = random.Random(seed)
    source = ARTICLE_HTML.encode()
    cut = source[: rng.randrange(1, len(source))]  # truncated HTML
    noise = bytes(rng.choice(b"<>&;/=\"' abcxyz\n#!-[]") for _ in range(rng.randrange(1, 600)))
    for body in (cut, noise, cut + noise, noise + cut):
        try:
            document = extract_text(page(body, rng.choice(["text/html", "application/xhtml+xml"])))
        except ExtractError:
            continue
        assert isinstance(document.text, str) and document.text.strip()
        assert "SCRIPT_MARKER" not in document.text


def test_a_parser_surprise_becomes_an_extract_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.web import extract

    def explode(*args: object, **kwargs: object) -> str:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(extract, "parse_html", explode)
    with pytest.raises(ExtractError, match="RecursionError"):
        extract_text(page(ARTICLE_HTML.encode()))
