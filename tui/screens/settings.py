"""Model, corpus, web and budget settings for this session; validated before they apply."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch

from agent.config import ConfigError, Settings

# field id -> (label, dotted settings key, input type)
BUDGET_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("max-steps", "search/read steps", "budget.max_steps", "integer"),
    ("max-tool-calls", "tool calls", "budget.max_tool_calls", "integer"),
    ("max-seconds", "seconds per run", "budget.max_seconds", "number"),
    ("max-tokens", "tokens per run", "budget.max_tokens", "integer"),
)


class SettingsScreen(Screen[Settings | None]):
    """Dismissed with the new settings (None: cancelled). `build` turns dotted overrides into
    validated settings and raises `ConfigError` naming the bad key."""

    DEFAULT_CSS = """
    SettingsScreen #settings-form { padding: 0 1; }
    SettingsScreen Grid {
        grid-size: 2;
        grid-columns: 20 1fr;
        grid-rows: 3;
        height: auto;
    }
    SettingsScreen Label { padding: 1 0 0 0; }
    SettingsScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    SettingsScreen #settings-error { color: $error; height: auto; }
    SettingsScreen #settings-buttons { height: 3; margin-top: 1; }
    SettingsScreen #settings-buttons Button { margin-right: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "apply", "Apply")]

    def __init__(
        self,
        settings: Settings,
        build: Callable[[dict[str, Any]], Settings],
        corpora: list[str],
    ) -> None:
        super().__init__()
        self.settings = settings
        self.build = build
        self.corpora = corpora

    def compose(self) -> ComposeResult:
        model = self.settings.models.default
        budget = self.settings.budget
        with VerticalScroll(id="settings-form"):
            yield Static("Model", classes="section")
            with Grid():
                yield Label("backend")
                yield Select(
                    [("embedded (in-process, CPU)", "embedded"),
                     ("OpenAI-compatible server", "openai")],
                    value=model.backend if model.backend != "scripted" else "embedded",
                    allow_blank=False, id="backend",
                )  # fmt: skip
                yield Label("model")
                yield Input(model.model, id="model")
                yield Label("server URL")
                yield Input(model.base_url or "", placeholder="http://127.0.0.1:8000/v1",
                            id="base-url")  # fmt: skip
            yield Static("Corpora", classes="section")
            with Grid():
                yield Label("search in")
                yield Input(", ".join(self.settings.corpora), id="corpora")
            yield Static(
                f"indexed: {', '.join(self.corpora) or 'none (wideseek index PATH --corpus NAME)'}",
                id="corpora-known",
            )
            yield Static("Web", classes="section")
            with Grid():
                yield Label("search the web")
                yield Switch(self.settings.web.enabled, id="web")
            yield Static(self._backends_text(), id="web-backends")
            yield Static("Budget", classes="section")
            with Grid():
                for field_id, label, key, kind in BUDGET_FIELDS:
                    name = key.split(".")[1]
                    value = getattr(budget, name)
                    yield Label(label)
                    yield Input(f"{value:g}" if isinstance(value, float) else str(value),
                                type=kind, id=field_id)  # type: ignore[arg-type]  # fmt: skip
            yield Static("", id="settings-error")
            with Horizontal(id="settings-buttons"):
                yield Button("Apply", variant="primary", id="apply")
                yield Button("Cancel", id="cancel")
        yield Footer()

    def _backends_text(self) -> str:
        backends = self.settings.web.configured_backends()
        if not backends:
            return (
                "backends: none ([[web.backends]] in wideseek.toml, or BRAVE_API_KEY / "
                "TAVILY_API_KEY / SERPER_API_KEY / WIDESEEK_SEARXNG_URL)"
            )
        return "backends: " + ", ".join(f"{b.backend_name} ({b.kind})" for b in backends)

    def overrides(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "models.default.backend": self.query_one("#backend", Select).value,
            "models.default.model": self.query_one("#model", Input).value.strip(),
            "models.default.base_url": self.query_one("#base-url", Input).value.strip() or None,
            "corpora": [
                c.strip() for c in self.query_one("#corpora", Input).value.split(",") if c.strip()
            ],
            "web.enabled": self.query_one("#web", Switch).value,
        }
        for field_id, _, key, _ in BUDGET_FIELDS:
            values[key] = self.query_one(f"#{field_id}", Input).value.strip()
        return values

    @on(Button.Pressed, "#apply")
    def action_apply(self) -> None:
        overrides = self.overrides()
        unknown = [c for c in overrides["corpora"] if self.corpora and c not in self.corpora]
        try:
            if not overrides["corpora"]:
                raise ConfigError("corpora: name at least one corpus to search")
            if unknown:
                raise ConfigError(
                    f"corpora: {', '.join(unknown)} not indexed; indexed: {', '.join(self.corpora)}"
                )
            if (
                overrides["models.default.backend"] == "openai"
                and not overrides["models.default.base_url"]
            ):
                raise ConfigError("server URL: the OpenAI-compatible backend needs one")
            if overrides["web.enabled"] and not self.settings.web.configured_backends():
                raise ConfigError(
                    "web: no search backend is configured ([[web.backends]] in wideseek.toml, "
                    "or BRAVE_API_KEY / TAVILY_API_KEY / SERPER_API_KEY / WIDESEEK_SEARXNG_URL)"
                )
            settings = self.build(overrides)
        except ConfigError as error:
            self.query_one("#settings-error", Static).update(str(error))
            self.notify(str(error), title="settings not applied", severity="error")
            return
        self.dismiss(settings)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
