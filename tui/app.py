"""`wideseek tui`: the research assistant in the terminal.

The agent runs in an async worker on the app's event loop (its model calls, searches and
database work run in threads), so the UI stays responsive; a run is cancelled through
`Researcher.cancel`, which keeps its partial answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker

from agent.config import Settings, load_settings
from agent.events import Event
from agent.researcher import Researcher
from agent.result import ResearchResult
from tui.errors import expected_errors, explain, stop_advice
from tui.export import export_table
from tui.progress import RunProgress, SourceView
from tui.screens.history import HistoryScreen
from tui.screens.knowledge import KnowledgeScreen
from tui.screens.passage import PassageScreen
from tui.screens.research import ResearchScreen
from tui.screens.settings import SettingsScreen
from tui.widgets.answer import AnswerView, ResultTable
from tui.widgets.evidence import EvidenceTable

log = logging.getLogger(__name__)

ResearcherFactory = Callable[[Settings], Researcher]


class WideseekApp(App[None]):
    TITLE = "wideseek"
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        config_file: Path | None = None,
        researcher_factory: ResearcherFactory = Researcher,
        new_run_id: Callable[[], str] = lambda: uuid.uuid4().hex[:12],
    ) -> None:
        super().__init__()
        self.config_file = config_file
        self.settings = settings or load_settings(config_file)
        self._factory = researcher_factory
        self._new_run_id = new_run_id
        self._researcher: Researcher | None = None
        self.progress: RunProgress | None = None
        self._worker: Worker[None] | None = None
        self._facts: int | None = None
        self._pending_settings: Settings | None = None

    # -- parts -------------------------------------------------------------------------------

    @property
    def researcher(self) -> Researcher:
        if self._researcher is None:
            self._researcher = self._factory(self.settings)
        return self._researcher

    @property
    def research_screen(self) -> ResearchScreen:
        screen = self.get_screen("research")
        assert isinstance(screen, ResearchScreen)
        return screen

    @property
    def model_label(self) -> str:
        model = self.settings.models.for_role("planner")
        return f"{model.model} ({model.backend})"

    @property
    def running(self) -> bool:
        return self._worker is not None and not self._worker.is_finished

    def on_mount(self) -> None:
        self.install_screen(ResearchScreen(), "research")
        self.push_screen("research")
        self._refresh_facts()
        self.call_after_refresh(self._tick)  # the status line at once, not after the first tick
        self.set_interval(0.5, self._tick)
        self._check_corpora()

    def _check_corpora(self) -> None:
        """Say at once when there is nothing to search (before the first question)."""
        indexed = self._indexed_corpora()
        if not indexed:
            self.notify(
                f"No corpus is indexed in {self.settings.data_dir}. Index one with: wideseek "
                "index PATH --corpus NAME (or wideseek index --default), then restart.",
                title="empty corpus", severity="error", timeout=15,
            )  # fmt: skip
            return
        missing = [c for c in self.settings.corpora if c not in indexed]
        if missing:
            self.notify(
                f"Not indexed: {', '.join(missing)}; indexed: {', '.join(indexed)}. Choose on the "
                "settings screen (F4).",
                title="unknown corpus", severity="error", timeout=15,
            )  # fmt: skip

    def _tick(self) -> None:
        if self.screen_stack and isinstance(self.screen, ResearchScreen):
            self.screen.status(self.progress, self.model_label, self._facts)

    def _refresh_facts(self) -> None:
        try:
            cache = self.researcher.knowledge
            self._facts = int(cache.stats()["facts"]) if cache is not None else None
        except expected_errors() as error:
            log.warning("knowledge cache unavailable: %s", error)
            self._facts = None

    # -- asking --------------------------------------------------------------------------------

    def ask(self, question: str) -> bool:
        """Start researching `question`; False (with a notice) while another run is going."""
        if self.running:
            self.notify("A run is in progress: wait for it, or cancel it (Esc).",
                        severity="warning")  # fmt: skip
            return False
        self._worker = self._research(question, self._new_run_id())
        return True

    @work(exclusive=True, group="research", exit_on_error=False)
    async def _research(self, question: str, run_id: str) -> None:
        progress = RunProgress(question=question, run_id=run_id)
        self.progress = progress
        screen = self.research_screen
        await screen.start(progress)

        def on_event(event: Event) -> None:
            progress.add(event)
            screen.event(progress, event)

        try:
            researcher = self.researcher
            # the first run loads the corpus, its vectors and the encoder: off the event loop
            await asyncio.to_thread(_warm, researcher)
            result = await researcher.arun(question, run_id=run_id, on_event=on_event)
            progress.finish(result)
            advice = stop_advice(result.stop_reason)
            if advice:
                self.notify(advice, title="run ended early", severity="warning", timeout=8)
        except asyncio.CancelledError:
            progress.end("cancelled")
            raise
        except expected_errors() as error:
            title, message = explain(error)
            progress.end("failed")
            self.notify(message, title=title, severity="error", timeout=12)
        except Exception as error:  # a bug must not take the app down: report, keep going
            log.exception("run %s failed", run_id)
            progress.end("failed")
            self.notify(f"{type(error).__name__}: {error}", title="unexpected error",
                        severity="error", timeout=12)  # fmt: skip
        finally:
            await screen.finished(progress)
            self._refresh_facts()
            screen.status(progress, self.model_label, self._facts)
            pending, self._pending_settings = self._pending_settings, None
            if pending is not None:
                self._worker = None
                self.call_later(self._apply_settings, pending)

    def action_cancel_run(self) -> None:
        if not self.running or self.progress is None:
            self.notify("Nothing is running.", severity="information")
            return
        if not self.researcher.cancel(self.progress.run_id) and self._worker is not None:
            self._worker.cancel()  # not started yet: nothing to keep
        self.notify("Cancelling: the partial answer is kept.", title="cancel")

    # -- answer, evidence, export -----------------------------------------------------------

    @on(AnswerView.CitationSelected)
    async def _open_citation(self, message: AnswerView.CitationSelected) -> None:
        result = self.progress.result if self.progress else None
        citation = next((c for c in (result.citations if result else []) if c.n == message.n),
                        None)  # fmt: skip
        if citation is None:
            self.notify(f"No source [{message.n}] in this answer.", severity="warning")
            return
        await self.show_source(citation.source_id, label=f"[{citation.n}]")

    @on(EvidenceTable.SourceRequested)
    async def _open_evidence(self, message: EvidenceTable.SourceRequested) -> None:
        await self.show_source(message.source_id)

    async def show_source(self, source_id: str, label: str = "") -> None:
        source = await asyncio.to_thread(self.source_passages, source_id)
        await self.push_screen(PassageScreen(source, label))

    def source_passages(self, source_id: str) -> SourceView:
        """What the run read from a source: the knowledge cache's passages, else the run's
        snippets."""
        source = SourceView(source_id)
        seen = self.progress.sources.get(source_id) if self.progress else None
        if seen is not None:
            source.title, source.url = seen.title, seen.url
        try:
            cache = self.researcher.knowledge
            if cache is not None:
                document = cache.get_document(source_id)
                if document is not None:
                    source.title = source.title or document.title
                    source.url = source.url or document.url
                source.passages = [p.text for p in cache.get_passages(source_id)]
        except expected_errors() as error:
            log.warning("passages of %s unavailable: %s", source_id, error)
        if not source.passages and seen is not None:
            source.passages = list(seen.passages)
        return source

    @on(ResultTable.ExportRequested)
    def _export(self, message: ResultTable.ExportRequested) -> None:
        result = self.progress.result if self.progress else None
        if result is None:
            self.notify("No table to export yet.", severity="warning")
            return
        try:
            path = export_table(result, self.settings.data_dir / "exports",
                                "csv" if message.fmt == "csv" else "md")  # fmt: skip
        except (ValueError, OSError) as error:
            self.notify(str(error), title="export failed", severity="error")
            return
        self.notify(str(path), title=f"table exported ({message.fmt})")

    # -- history, knowledge, settings -------------------------------------------------------

    def action_history(self) -> None:
        try:
            store = self.researcher.run_store
        except expected_errors() as error:
            self.notify(explain(error)[1], title="history unavailable", severity="error")
            return
        try:
            runs = store.list_runs(200)
        except expected_errors() as error:
            self.notify(explain(error)[1], title="history unavailable", severity="error")
            return
        self.push_screen(HistoryScreen(runs), self._reopen)

    async def _reopen(self, run_id: str | None) -> None:
        if not run_id:
            return
        if self.running:
            self.notify("A run is in progress: cancel it (Esc) to reopen another.",
                        severity="warning")  # fmt: skip
            return
        unreadable: tuple[type[BaseException], ...] = (*expected_errors(), ValueError)
        try:
            result = self.stored_result(run_id)
        except unreadable as error:  # pydantic's ValidationError is a ValueError
            self.notify(f"Run {run_id} cannot be reopened: {error}", severity="error")
            return
        if result is None:
            self.notify(f"Run {run_id} is not in the run store.", severity="error")
            return
        self.progress = RunProgress.of_result(result)
        await self.research_screen.replay(self.progress)

    def stored_result(self, run_id: str) -> ResearchResult | None:
        store = self.researcher.run_store
        record = store.get_run(run_id)
        if record is None:
            return None
        if record.result:
            return ResearchResult.model_validate(record.result)
        # a run that never finished (killed): rebuild what it streamed
        events = [Event.model_validate(e) for e in store.events(run_id)]
        return ResearchResult(
            run_id=run_id,
            question=record.question,
            answer=record.answer or f"(this run ended without an answer: {record.status})",
            events=events,
            stop_reason=record.status,
        )

    def action_knowledge(self) -> None:
        try:
            cache = self.researcher.knowledge
        except expected_errors() as error:
            self.notify(explain(error)[1], title="knowledge cache unavailable",
                        severity="error")  # fmt: skip
            return
        self.push_screen(KnowledgeScreen(cache))

    def action_settings(self) -> None:
        self.push_screen(
            SettingsScreen(self.settings, self.build_settings, self._indexed_corpora()),
            self._apply_settings,
        )

    def build_settings(self, overrides: dict[str, Any]) -> Settings:
        base = self.settings.model_dump(mode="python")
        kept = {key: base[key] for key in ("data_dir", "cache_dir")}
        return load_settings(self.config_file, **kept, **overrides)

    def _indexed_corpora(self) -> list[str]:
        from retriever.corpus_store import CorpusError, CorpusStore

        if not self.settings.corpus_db.exists():
            return []
        try:
            return CorpusStore(self.settings.corpus_db).corpus_names()
        except CorpusError:
            return []

    async def _apply_settings(self, settings: Settings | None) -> None:
        if settings is None:
            return
        if self.running:
            self._pending_settings = settings
            self.notify("The settings apply once this run ends.", severity="warning")
            return
        old, self._researcher = self._researcher, None
        self.settings = settings
        if old is not None:
            await old.aclose()
        self._refresh_facts()
        self.notify(f"{self.model_label} · corpora {', '.join(settings.corpora)} · "
                    f"{settings.budget.max_steps} steps", title="settings applied")  # fmt: skip

    async def action_quit(self) -> None:
        if self.running and self.progress is not None:
            self.researcher.cancel(self.progress.run_id)
            if self._worker is not None:
                self._worker.cancel()
        if self._researcher is not None:
            await self._researcher.aclose()
        self.exit()


def _warm(researcher: Researcher) -> None:
    researcher.tools()
    _ = researcher.knowledge
    _ = researcher.run_store
