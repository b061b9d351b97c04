"""Write the README's screenshot of the TUI: a finished run on the embedded model.

    .venv/bin/python scripts/tui_screenshot.py [--question Q] [--out docs/tui.svg]

Runs the app headless over the default corpus (indexed into a temporary data dir), asks the
question, waits for the answer and saves the screen as SVG.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from agent import Researcher, load_settings
from retriever.corpus_store import CorpusStore
from retriever.default_corpus import DEFAULT_CORPUS, default_corpus_documents
from tui import WideseekApp

QUESTION = "Who developed the theory of general relativity, and when was it published?"


async def shoot(question: str, out: Path, size: tuple[int, int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), corpora=[DEFAULT_CORPUS],
                                 **{"search.hybrid": False})  # fmt: skip
        CorpusStore(settings.corpus_db).add_documents(DEFAULT_CORPUS, default_corpus_documents())
        app = WideseekApp(settings, researcher_factory=Researcher)
        async with app.run_test(size=size) as pilot:
            field = app.screen.query_one("#question")
            field.value = question  # type: ignore[attr-defined]
            await pilot.press("enter")
            while app.progress is None or app.running:
                await pilot.pause(0.5)
            await pilot.pause(0.5)
            field.cursor_blink = False  # type: ignore[attr-defined]
            app.screen.query_one("#plan").focus()
            await pilot.pause()
            out.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=out.name, path=str(out.parent))
            result = app.progress.result
            print(f"{out}: {result.stop_reason if result else app.progress.stop}, "
                  f"{app.progress.elapsed:.0f} s")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--out", type=Path, default=Path("docs/tui.svg"))
    parser.add_argument("--width", type=int, default=100)
    parser.add_argument("--height", type=int, default=30)
    args = parser.parse_args()
    asyncio.run(shoot(args.question, args.out, (args.width, args.height)))


if __name__ == "__main__":
    main()
