"""One status line: run state, elapsed time, tool calls, tokens, the model in use."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.progress import RunProgress


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $boost;
        color: $text-muted;
        padding: 0 1;
    }
    """

    def show(self, progress: RunProgress | None, model: str, facts: int | None = None) -> None:
        if progress is None:
            state, style = "idle", "dim"
            elapsed, calls, tokens = 0.0, 0, 0
        else:
            running = progress.running
            state = "running" if running else (progress.stop or "done")
            style = "bold yellow" if running else ("green" if state == "answered" else "red")
            elapsed, calls, tokens = progress.elapsed, progress.tool_calls, progress.tokens
        parts = [f"{elapsed:.0f} s", _count(calls, "tool call"), _count(tokens, "token"), model]
        if facts is not None:
            parts.append(f"{_count(facts, 'fact')} cached")
        self.update(Text.assemble((f"● {state}", style), "  " + " · ".join(parts)))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"
