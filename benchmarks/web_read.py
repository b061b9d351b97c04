"""Reading web pages: time per page for fetch + safety checks + text extraction + passage
ranking (`read_url`), by page size, on a local HTTP server (no internet needed).

    python benchmarks/web_read.py [--repeat 5]

Prints a table and, last, one JSON object {"<size>": {"ms_median", "ms_p90", "chars"}}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rich.console import Console
from rich.table import Table

from tools.web import FetchLimits, ReadUrlTool, UrlPolicy

PARAGRAPH = (
    "The Harbour Bridge is a steel arch bridge across the harbour. It carries rail, road, "
    "bicycle and pedestrian traffic between the business district and the north shore. "
)
SIZES = {"5 KB": 5_000, "50 KB": 50_000, "500 KB": 500_000, "2 MB": 2_000_000}


def html_page(size: int) -> bytes:
    paragraphs = []
    total = 0
    n = 0
    while total < size:
        text = f"<p>Section {n}. {PARAGRAPH * 3}</p>\n"
        if n == size // 3000:
            text = "<p>The bridge was opened on 19 March 1932 by the premier.</p>\n"
        paragraphs.append(text)
        total += len(text)
        n += 1
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Bridge</title></head><body>"
        "<nav><a href='/'>Home</a></nav><main><article><h1>Bridge</h1>"
        + "".join(paragraphs)
        + "</article></main><footer>Copyright</footer></body></html>"
    ).encode()


def serve(pages: dict[str, bytes]) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


async def measure(repeat: int) -> dict[str, dict[str, float]]:
    pages = {f"/{n}": html_page(size) for n, size in enumerate(SIZES.values())}
    server, base = serve(pages)
    tool = ReadUrlTool(UrlPolicy(allow_hosts=["127.0.0.1"]), FetchLimits(max_bytes=5_000_000))
    results: dict[str, dict[str, float]] = {}
    try:
        await tool({"url": f"{base}/0", "goal": "warm up"})
        for n, label in enumerate(SIZES):
            times: list[float] = []
            chars = 0
            for _ in range(repeat):
                started = time.perf_counter()
                observations = await tool({"url": f"{base}/{n}", "goal": "when was it opened"})
                times.append((time.perf_counter() - started) * 1000)
                chars = sum(len(o.text) for o in observations)
                assert observations and "1932" in observations[0].text, label
            times.sort()
            results[label] = {
                "ms_median": round(statistics.median(times), 1),
                "ms_p90": round(times[min(len(times) - 1, int(0.9 * len(times)))], 1),
                "passage_chars": chars,
            }
    finally:
        server.shutdown()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    results = asyncio.run(measure(max(1, args.repeat)))
    table = Table(title="read_url on a local server (fetch + extract + rank)")
    for column in ("page", "median ms", "p90 ms", "chars returned"):
        table.add_column(column, justify="right")
    for label, row in results.items():
        table.add_row(label, f"{row['ms_median']:.1f}", f"{row['ms_p90']:.1f}",
                      f"{row['passage_chars']:,}")  # fmt: skip
    Console().print(table)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
