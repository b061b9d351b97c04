"""A real HTTP server on 127.0.0.1 serving the pages the URL reader must cope with.

Paths (see `FakePages._route`): an article with nav/script/footer boilerplate, malformed HTML,
a page whose Content-Length is over the cap, a chunked page with no Content-Length that streams
past the cap, a slow page that dribbles bytes, redirect chains (`/hop/<n>` redirects n times,
alternating relative and absolute Locations), redirects to private and cloud metadata
addresses, PNG bytes labelled image/png and text/html, wrong charsets, PDFs (plain, encrypted,
broken, served as octet-stream), gzip bodies (and a gzip bomb), 404 and 500.

`make_pdf` writes a small valid PDF by hand (Helvetica text, one content stream per page).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import ssl
import subprocess
import threading
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>The Harbour Bridge | City News</title>
<meta property="article:published_time" content="2021-03-14T09:00:00Z">
<script>var tracking = "SCRIPT_MARKER"; function go() { return 1; }</script>
<style>.nav { color: red } /* STYLE_MARKER */</style>
</head><body>
<header><nav><a href="/">Home</a> | <a href="/news">News</a> | <a href="/sport">NAV_MARKER</a>
</nav></header>
<main><article>
<h1>The Harbour Bridge</h1>
<p>The Harbour Bridge is a steel arch bridge across the harbour of Port Elsewhere. It carries
rail, vehicular, bicycle and pedestrian traffic between the central business district and the
north shore of the city, and it is one of the best known landmarks of the region.</p>
<h2>Construction</h2>
<p>Construction began in 1924 after decades of public debate about a permanent crossing. Over
1,400 workers were employed on the project and sixteen of them lost their lives during the
works. The steel was shipped in from overseas mills and assembled on site.</p>
<p>The two halves of the arch met in August 1930, and the deck was hung from the arch over the
following year. Load testing used ninety-six steam locomotives parked end to end.</p>
<h2>Opening</h2>
<p>The bridge was opened on 19 March 1932 by the premier of the state, in a ceremony watched by
nearly one million people. A mounted officer famously cut the ribbon before the premier could,
and the ribbon was tied together again for the official opening.</p>
<h2>Design</h2>
<p>The arch spans 503 metres and the top of the arch stands 134 metres above the water. The
deck carries eight lanes of road traffic, two railway tracks, a footway and a cycleway. Its
granite pylons are decorative and carry no load.</p>
<h2>Maintenance</h2>
<p>Painting the bridge is a continuous task: a crew repaints the steelwork section by section,
and a full coat takes about ten years and some eighty thousand litres of paint.</p>
</article></main>
<footer><p>Copyright 2024 City News FOOTER_MARKER. All rights reserved.
<a href="/privacy">Privacy</a> <a href="/terms">Terms</a></p></footer>
<script>document.write("MORE_SCRIPT_MARKER")</script>
</body></html>
"""

LISTING_HTML = """<!DOCTYPE html>
<html><head><title>Ferry timetable | Harbour Transit</title></head><body>
<div class="menu"><a href="/">Home</a> <a href="/routes">Routes</a> <a href="/fares">Fares</a>
<a href="/help">Help</a></div>
<h1>Ferry timetable</h1>
<p>Ferries leave from the central wharf. Times are for weekdays.</p>
<h2 id="routes">Routes</h2>
<table>
<caption>Table 1. Weekday departures</caption>
<thead><tr><th rowspan="2">Route</th><th colspan="2">Departures</th></tr>
<tr><th>First</th><th>Last</th></tr></thead>
<tbody>
<tr><td>F1 North Cove</td><td>06:10</td><td>23:40</td></tr>
<tr><td>F2 Pine Island</td><td>06:45</td><td>21:15</td></tr>
<tr><td>F3 Old Mill</td><td>07:05</td><td>19:50</td></tr>
</tbody></table>
<h2 id="rules">Rules</h2>
<dl><dt>Bicycles</dt><dd>Allowed on F1 and F2 outside peak hours.</dd>
<dt>Dogs</dt><dd>Allowed on a lead.</dd></dl>
<div class="footer-links"><a href="/a">About</a> <a href="/b">Contact</a> <a href="/c">Jobs</a>
<a href="/d">Press</a></div>
</body></html>
"""

MALFORMED_HTML = (
    "<html><head><title>Broken &amp page</title><body><div><p>First paragraph about "
    "lighthouses &amp; their keepers &#xZZ; &bogus; entity<p>Second <b>bold <i>nested "
    "paragraph about the lamp<div>An unclosed div with more words about fog signals <span>"
    "and a span < that never ends"
)

# cp1252 bytes: é ü € are 0xE9 0xFC 0x80 (0x80 is invalid UTF-8 and undefined in ISO-8859-1)
WESTERN_TEXT = (
    "Le café près du pont coûte 3 € le matin. Über die Brücke gehen wir später zur Bäckerei, "
    "wo die Brötchen 2 € kosten. Das Café heißt Zürich."
)
PNG_BYTES = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
PDF_PAGES = [
    "Annual report of the Lighthouse Board\nThe board met four times during the year.",
    "The Northern Light was automated in 1998.\nIts lamp is visible for 24 nautical miles.",
]


def _pdf_string(text: str) -> bytes:
    escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    return b"(" + escaped.encode("latin-1") + b")"


def make_pdf(pages: list[str], title: str = "Lighthouse report") -> bytes:
    """A minimal valid PDF: one Helvetica text page per item of `pages` (lines split on \\n),
    with `/Title` and `/CreationDate` (2020-01-02) in the document information."""
    objects: list[bytes] = []
    n_pages = len(pages)
    font_id = 3
    first_page = 4  # page i is object 4 + 2i, its content stream 5 + 2i
    info_id = first_page + 2 * n_pages
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n_pages)
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        lines = [b"BT /F1 12 Tf 72 720 Td 16 TL"]
        for line in text.split("\n"):
            lines.append(_pdf_string(line) + b" Tj T*")
        lines.append(b"ET")
        stream = b"\n".join(lines)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
            % (font_id, first_page + 2 * i + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Title " + _pdf_string(title) + b" /CreationDate (D:20200102030405Z) >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, info_id, xref)
    )
    return out.getvalue()


def encrypted_pdf(user_password: str) -> bytes:
    """`make_pdf(PDF_PAGES)` encrypted with RC4 (pypdf's pure-Python crypto)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(make_pdf(PDF_PAGES))))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_certificates(folder: Path, name: str) -> tuple[Path, ssl.SSLContext] | None:
    """A throwaway CA and a server certificate for `name` (made with the openssl CLI): the CA
    file for the client and the server's TLS context; None when openssl is not installed."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    ca_key, ca, key, csr, cert = (
        folder / f for f in ("ca.key", "ca.pem", "s.key", "s.csr", "s.pem")
    )
    ext = folder / "ext.cnf"
    ext.write_text(
        f"subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [openssl, "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
         "-subj", "/CN=wideseek test CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [openssl, "req", *ec, "-keyout", key, "-out", csr, "-subj", f"/CN={name}"],
        [openssl, "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
         "-out", cert, "-days", "2", "-extfile", ext],
    ]  # fmt: skip
    for command in commands:
        subprocess.run([str(part) for part in command], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return ca, context


Reply = tuple[int, dict[str, str], bytes]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up (or fails the TLS handshake) is expected here


class FakePages:
    """The server; `base` is its http://127.0.0.1:<port> address, `hits` counts requests per
    path, `seen_headers` keeps the headers of the last request per path."""

    def __init__(self, slow_seconds: float = 6.0, tls: ssl.SSLContext | None = None) -> None:
        self.slow_seconds = slow_seconds
        self.stop = threading.Event()
        self.hits: dict[str, int] = {}
        self.seen_headers: dict[str, dict[str, str]] = {}
        self.pdf = make_pdf(PDF_PAGES)
        self.static = self._static()
        self.busy_hits: dict[str, int] = {}
        pages = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                pages.hits[path] = pages.hits.get(path, 0) + 1
                pages.seen_headers[path] = {k.lower(): v for k, v in self.headers.items()}
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    pages._route(self, path)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakePages:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return self.base + path

    # -- routing ---------------------------------------------------------------------------

    def _static(self) -> dict[str, Reply]:
        html = {"Content-Type": "text/html; charset=utf-8"}
        return {
            "/article": (200, html, ARTICLE_HTML.encode()),
            "/listing": (200, html, LISTING_HTML.encode()),
            "/malformed": (200, {"Content-Type": "text/html"}, MALFORMED_HTML.encode()),
            "/tiny": (200, html, b"<p>Just one short line of text.</p>"),
            "/empty": (200, html, b""),
            "/text": (200, {"Content-Type": "text/plain"}, b"Plain text line one.\nLine two."),
            "/json": (200, {"Content-Type": "application/json"}, b'{"bridge": "opened 1932"}'),
            "/no-type": (200, {}, ARTICLE_HTML.encode()),
            "/png": (200, {"Content-Type": "image/png"}, PNG_BYTES),
            "/png-as-html": (200, html, PNG_BYTES),
            "/png-no-type": (200, {}, PNG_BYTES),
            "/zip": (200, {"Content-Type": "application/zip"}, b"PK\x03\x04" + b"\x00" * 60),
            "/octet": (200, {"Content-Type": "application/octet-stream"}, b"\x00\x01" * 600),
            "/cp1252-as-utf8": (
                200,
                html,
                f"<html><head><title>Café</title></head><body><article><p>{WESTERN_TEXT}</p>"
                f"<p>{WESTERN_TEXT}</p></article></body></html>".encode("cp1252"),
            ),
            "/utf8-as-latin1": (
                200,
                {"Content-Type": "text/html; charset=iso-8859-1"},
                f"<html><head><title>Café</title></head><body><article><p>{WESTERN_TEXT}</p>"
                f"<p>{WESTERN_TEXT}</p></article></body></html>".encode(),
            ),
            "/meta-charset": (
                200,
                {"Content-Type": "text/html"},
                f'<html><head><meta charset="windows-1252"><title>Café</title></head><body>'
                f"<article><p>{WESTERN_TEXT}</p></article></body></html>".encode("cp1252"),
            ),
            "/pdf": (200, {"Content-Type": "application/pdf"}, self.pdf),
            "/pdf-octet": (200, {"Content-Type": "application/octet-stream"}, self.pdf),
            "/pdf-encrypted": (200, {"Content-Type": "application/pdf"}, encrypted_pdf("secret")),
            "/pdf-empty-password": (200, {"Content-Type": "application/pdf"}, encrypted_pdf("")),
            "/pdf-broken": (
                200,
                {"Content-Type": "application/pdf"},
                b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + b"garbage " * 50,
            ),
            "/gzip": (
                200,
                {**html, "Content-Encoding": "gzip"},
                gzip.compress(ARTICLE_HTML.encode()),
            ),
            "/deflate": (
                200,
                {**html, "Content-Encoding": "deflate"},
                zlib.compress(ARTICLE_HTML.encode()),
            ),
            "/gzip-bomb": (
                200,
                {"Content-Type": "text/plain", "Content-Encoding": "gzip"},
                gzip.compress(b"a" * 20_000_000, compresslevel=1),  # ~87 KB on the wire,
            ),
            "/404": (404, html, b"<h1>Not here</h1>"),
            "/500": (500, html, b"<h1>Oops</h1>"),
            "/redirect-private": (302, {"Location": "http://10.0.0.5/"}, b""),
            "/redirect-metadata": (
                301,
                {"Location": "http://169.254.169.254/latest/meta-data/"},
                b"",
            ),
            "/redirect-loopback-name": (302, {"Location": "http://localhost/admin"}, b""),
            "/redirect-no-location": (302, {}, b""),
            "/redirect-public-name": (302, {"Location": "http://public.example/page"}, b""),
            "/redirect-file": (302, {"Location": "file:///etc/passwd"}, b""),
        }

    def _route(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {
            "/huge-declared": self._huge_declared,
            "/huge-chunked": self._huge_chunked,
            "/slow": self._slow,
            "/busy-once": self._busy,
            "/busy-always": self._busy,
            "/busy-long": self._busy,
        }
        if path in special:
            special[path](handler)
            return
        if path.startswith("/hop/"):
            self._hop(handler, path)
            return
        reply = self.static.get(path)
        if reply is None:
            reply = (404, {"Content-Type": "text/plain"}, b"no such page")
        status, headers, body = reply
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _busy(self, handler: BaseHTTPRequestHandler) -> None:
        """429 with Retry-After: once then the article (/busy-once), always (/busy-always), or
        asking for an hour (/busy-long)."""
        path = handler.path.split("?", 1)[0]
        self.busy_hits[path] = self.busy_hits.get(path, 0) + 1
        if path == "/busy-once" and self.busy_hits[path] > 1:
            body = ARTICLE_HTML.encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            body = b"<h1>Too many requests</h1>"
            handler.send_response(429)
            handler.send_header("Retry-After", "3600" if path == "/busy-long" else "1")
            handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def _hop(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        left = int(path.rsplit("/", 1)[1])
        if left <= 0:
            location = "/article"
        elif left % 2:
            location = f"{left - 1}"  # relative to /hop/
        else:
            location = self.url(f"/hop/{left - 1}")
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _huge_declared(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(50_000_000))
        handler.end_headers()
        handler.wfile.write(b"<html><body>" + b"x" * 65536)  # the client should not wait for more

    def _huge_chunked(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"word " * 13_107  # 65,535 bytes
        for _ in range(800):  # ~52 MB if nobody stops reading
            if self.stop.is_set():
                return
            handler.wfile.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        handler.wfile.write(b"0\r\n\r\n")

    def _slow(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        handler.wfile.flush()
        for _ in range(1000):
            if self.stop.wait(self.slow_seconds / 100):
                return
            handler.wfile.write(b"a")
            handler.wfile.flush()


def serve() -> Iterator[FakePages]:
    with FakePages() as pages:
        yield pages
