"""A cited source: its title, URL and the passages the run read from it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.progress import SourceView


class PassageScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    PassageScreen { align: center middle; }
    PassageScreen > Vertical {
        width: 90%;
        height: 80%;
        border: thick $accent;
        background: $surface;
        padding: 0 1;
    }
    PassageScreen #passage-head { height: auto; margin-bottom: 1; }
    PassageScreen .passage { margin-bottom: 1; }
    """
    BINDINGS = [Binding("escape,q", "dismiss_screen", "Close")]

    def __init__(self, source: SourceView, label: str = "") -> None:
        super().__init__()
        self.source = source
        self.label = label

    def compose(self) -> ComposeResult:
        s = self.source
        head = Text.assemble(
            (f"{self.label} " if self.label else "", "bold"),
            (s.title or s.source_id, "bold"),
            "\n",
            (s.url or s.source_id, "underline dim"),
        )
        with Vertical():
            yield Static(head, id="passage-head")
            with VerticalScroll(id="passages"):
                if not s.passages:
                    yield Static("No stored passage for this source.", classes="passage")
                for text in s.passages:
                    # document text is data: shown verbatim, never parsed as markup
                    yield Static(Text(text), classes="passage")

    def action_dismiss_screen(self) -> None:
        self.dismiss(None)
