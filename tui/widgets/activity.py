"""The run's steps as they stream: tool calls, what they returned, reflections, errors."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from agent.events import Event

_LOOK: dict[str, tuple[str, str]] = {
    "plan": ("plan", "bold cyan"),
    "goal": ("goal", "bold magenta"),
    "cache_hit": ("recall", "bold blue"),
    "fact": ("noted", "blue"),
    "tool_call": ("tool", "yellow"),
    "observation": ("saw", "dim"),
    "reflection": ("think", "green"),
    "answer": ("done", "bold"),
    "budget": ("stop", "bold red"),
    "error": ("warn", "red"),
    "table_plan": ("table", "bold cyan"),
    "enumerate": ("found", "yellow"),
    "row": ("row", "green"),
    "coverage": ("check", "magenta"),
}


def event_text(event: Event) -> Text:
    label, style = _LOOK.get(event.type, (event.type, ""))
    return Text.assemble((f"{label:>6} ", style), event.summary())


class ActivityLog(RichLog):
    DEFAULT_CSS = """
    ActivityLog { background: $surface; overflow-x: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id, wrap=True, markup=False, highlight=False, max_lines=5000, min_width=20
        )

    def add(self, event: Event) -> None:
        self.write(event_text(event))
