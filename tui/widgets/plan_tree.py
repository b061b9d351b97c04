"""The plan as a tree: a node per goal, marked open, working, satisfied, partial, abandoned."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Tree

from tui.progress import GoalStatus, RunProgress

MARKS: dict[GoalStatus, tuple[str, str]] = {
    "open": ("○", "dim"),
    "active": ("▶", "bold yellow"),
    "satisfied": ("✓", "bold green"),
    "partial": ("◐", "yellow"),
    "abandoned": ("✗", "red"),
}


class PlanTree(Tree[str]):
    """Goals of the current run; for wide questions the table, its conditions and its rows."""

    DEFAULT_CSS = """
    PlanTree {
        width: 30;
        min-width: 24;
        border: round $primary-background;
        padding: 0 1;
        overflow-x: hidden;
    }
    PlanTree:focus { border: round $accent; }
    """

    BORDER_TITLE = "Plan"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("no question yet", id=id)
        self.show_root = True
        self.guide_depth = 2

    def show(self, progress: RunProgress) -> None:
        self.clear()
        kind = progress.task_kind or "planning"
        goals = len(progress.goals)
        self.root.set_label(Text(f"{kind} · {goals} goal{'s' * (goals != 1)}", style="bold"))
        for goal in progress.goals.values():
            mark, style = MARKS[goal.status]
            label = Text.assemble((f"{mark} ", style), goal.goal)
            node = self.root.add(label, data=goal.id, expand=True)
            for query in goal.queries:
                node.add_leaf(Text(f"search: {query}", style="dim"))
            if goal.note:
                node.add_leaf(Text(f"missing: {goal.note}", style="italic dim"))
        if progress.table_title and not progress.goals:
            self.root.set_label(Text("wide · one table", style="bold"))
        if progress.table_title:
            table = self.root.add(
                Text(f"table · {progress.table_title}", style="cyan"), expand=True
            )
            for condition in progress.table_conditions:
                table.add_leaf(Text(f"row if {condition}", style="dim"))
            if progress.enumeration:
                table.add_leaf(Text(progress.enumeration, style="yellow"))
            table.add_leaf(Text(f"{progress.rows} rows", style="green"))
            if progress.coverage:
                table.add_leaf(Text(progress.coverage, style="magenta"))
        self.root.expand()
