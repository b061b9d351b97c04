"""The run's steps as they stream: tool calls, what they returned, reflections, errors."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from agent.events import EVENT_LOOK, Event


def event_text(event: Event) -> Text:
    label, style = EVENT_LOOK.get(event.type, (event.type, ""))
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
        if event.type == "answer_delta":
            return  # a piece of the answer as it is written: the Answer tab shows those
        self.write(event_text(event))
