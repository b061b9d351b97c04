"""`Researcher`: the Python API. `run` (sync), `arun`, `astream` (events), `aresume`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

from agent.checkpoint import open_checkpointer
from agent.config import ROLES, Role, Settings, load_settings
from agent.events import Event
from agent.graph import build_graph, fallback_result, find_stored_answer
from agent.llm.base import ChatModel, Usage
from agent.llm.factory import build_role_models
from agent.result import Citation, ResearchResult, RunUsage, Timings
from agent.state import RecordCallFn, ResearchState, RunContext, add_usage
from agent.tool_choice import CORE_TOOLS, ToolSelector
from memory.fact_index import FactIndex, recall
from memory.knowledge import FactRecord, KnowledgeCache, KnowledgeCacheError
from memory.run_store import RunStore
from retriever.dense import DenseIndexError
from retriever.encoder import Encoder, EncoderError
from retriever.tool_retriever import ToolRetriever
from tools.base import Tool, ToolRegistry
from tools.web.recency import recency_from_text

log = logging.getLogger(__name__)

HARD_STOP_GRACE_SECONDS = 300.0  # past the wall budget + this, a run is cancelled outright


class ResearchError(RuntimeError):
    """A run cannot start (bad question, unknown corpus, missing model); the message says why."""


def _default_tools(
    settings: Settings, encoder: Any, cache: KnowledgeCache | None = None
) -> ToolRegistry:
    """Corpus search and read; with `[web] enabled`, search and read reach the web too (the
    corpora stay beside it unless `[web] corpus = false`, and are optional then)."""
    web = settings.web
    if not web.enabled:
        return ToolRegistry(_corpus_tools(settings, encoder))
    search: Tool | None = None
    read: Tool | None = None
    if web.corpus and settings.corpus_db.exists():
        search, read = _corpus_tools(settings, encoder)
    elif web.corpus:
        log.info("no corpus indexed: searching the web only")
    return ToolRegistry(web_tools(settings, search, read, cache=cache))


def web_tools(
    settings: Settings,
    corpus_search: Tool | None = None,
    corpus_read: Tool | None = None,
    *,
    cache: KnowledgeCache | None = None,
    resolver: Any = None,
) -> list[Tool]:
    """`search` and `read` over the configured web backends (and the given corpus tools):
    backend results cached in `cache` for `[web] cache_ttl`; URLs read under the `[web]`
    fetch limits and private-address policy. `resolver` replaces DNS (tests)."""
    from tools.web import (
        BackendConfigError,
        FetchLimits,
        MultiSearch,
        ReadUrlTool,
        UrlPolicy,
        WebSearchTool,
        build_backend,
    )
    from tools.web.combined import WebAndCorpusReadTool, WebAndCorpusSearchTool

    web = settings.web
    backends = web.configured_backends()
    if not backends:
        raise ResearchError(
            "web search is on but no backend is configured: add a [[web.backends]] table "
            '(kind = "searxng" with base_url, or "brave" / "tavily" / "serper" with api_key) '
            "to wideseek.toml, or set BRAVE_API_KEY, TAVILY_API_KEY, SERPER_API_KEY or "
            "WIDESEEK_SEARXNG_URL"
        )
    try:
        search = MultiSearch([build_backend(b) for b in backends], cache, web.cache_ttl)
        policy = UrlPolicy(allow_hosts=web.allow_hosts, allow_networks=web.allow_networks)
    except (BackendConfigError, ValueError) as error:
        raise ResearchError(f"web: {error}") from None
    limits = FetchLimits(
        max_bytes=web.fetch.max_bytes,
        timeout=web.fetch.timeout,
        connect_timeout=web.fetch.connect_timeout,
        max_redirects=web.fetch.max_redirects,
    )
    reader = ReadUrlTool(policy, limits, resolver=resolver)
    urls: dict[str, str] = {}  # web source id -> the URL its search result gave
    return [
        WebAndCorpusSearchTool(WebSearchTool(search), corpus_search, urls),
        WebAndCorpusReadTool(reader, corpus_read, urls),
    ]


def _corpus_tools(settings: Settings, encoder: Any) -> list[Tool]:
    from retriever.corpus_store import CorpusError, CorpusStore
    from tools.corpus import CorpusSearchTool, ReadDocumentTool

    if not settings.corpus_db.exists():
        raise ResearchError(
            f"no corpus is indexed yet ({settings.corpus_db} does not exist); "
            "build one with: wideseek index PATH --corpus NAME  (or: wideseek index --default)"
        )
    try:
        store = CorpusStore(settings.corpus_db)
        known = {c.name for c in store.corpora()}
    except CorpusError as error:
        raise ResearchError(str(error)) from None
    missing = [c for c in settings.corpora if c not in known]
    if missing:
        raise ResearchError(
            f"unknown corpus {', '.join(map(repr, missing))}; indexed: "
            f"{', '.join(sorted(known)) or 'none'} "
            "(add one with: wideseek index PATH --corpus NAME)"
        )
    return [
        CorpusSearchTool(
            store,
            corpora=settings.corpora,
            default_k=settings.search.k,
            vectors=_dense_vectors(settings, store, encoder),
            weights=(settings.search.bm25_weight, settings.search.dense_weight),
            rrf_k=settings.search.rrf_k,
            candidates=settings.search.candidates,
        ),
        ReadDocumentTool(store),
    ]


def _imported_tools(settings: Settings) -> list[Any]:
    """The tools `wideseek tools import` stored, callable with `[tools.apis.<name>]`."""
    if not settings.tools_db.exists():
        return []
    from tools.catalogue import ToolCatalogue, ToolCatalogueError

    try:
        with ToolCatalogue(settings.tools_db) as catalogue:
            return list(catalogue.tools(settings.tools.apis))
    except ToolCatalogueError as error:
        raise ResearchError(f"the tool catalogue {settings.tools_db}: {error}") from None


def _dense_vectors(settings: Settings, store: Any, encoder: Any) -> Any:
    """The corpus' dense vectors when `wideseek corpus embed` built them (hybrid search),
    else None (BM25 only). A damaged vector file is reported and ignored, never fatal."""
    from retriever.vectors import default_index_path

    if not settings.search.hybrid or not default_index_path(settings.corpus_db).exists():
        return None
    from retriever.vectors import CorpusVectors

    vectors = CorpusVectors(store, encoder)
    if not vectors.load():
        log.warning("dense vectors unusable (%s); searching with BM25 only", vectors.load_error)
        return None
    return vectors if len(vectors) else None


class Researcher:
    """Plans, searches, reads, reflects and answers with citations.

    `models` overrides the configured models: one ChatModel for every role, or a mapping from
    role ('planner', 'reflector', 'writer', 'judge') to ChatModel. `tools` overrides the default
    corpus search/read tools. With tools beyond those registered, each search step retrieves
    the tools that fit its goal and the model picks the call; `tool_retriever` replaces the
    retriever built over the registered tools' cards (MiniLM + BM25F, vectors cached).
    """

    def __init__(
        self,
        config: Settings | None = None,
        *,
        models: ChatModel | Mapping[str, ChatModel] | None = None,
        tools: ToolRegistry | None = None,
        checkpoint_path: Path | str | None = None,
        run_store: RunStore | None = None,
        tool_retriever: ToolRetriever | None = None,
    ) -> None:
        self.settings = config or load_settings()
        self._tool_retriever = tool_retriever
        self._models_override = models
        self._tools = tools
        self._models: dict[Role, ChatModel] | None = None
        self.checkpoint_path = Path(checkpoint_path or self.settings.checkpoint_db)
        self._run_store = run_store
        self._knowledge: KnowledgeCache | None = None
        self._fact_index: FactIndex | None = None
        self._encoder: Encoder | None = None
        self._checked = False
        self._stops: dict[str, asyncio.Event] = {}
        self._selector: ToolSelector | None = None

    # -- wiring ---------------------------------------------------------------------------------

    def models(self) -> dict[Role, ChatModel]:
        if self._models is None:
            override = self._models_override
            if override is None:
                self._models = build_role_models(self.settings.models)
            elif isinstance(override, ChatModel):
                self._models = dict.fromkeys(ROLES, override)
            else:
                default = override.get("default")
                roles: dict[Role, ChatModel] = {}
                for role in ROLES:
                    model = override.get(role, default)
                    if model is None:
                        raise ResearchError(f"no model given for role {role!r}")
                    roles[role] = model
                self._models = roles
        return self._models

    async def check_models(self) -> None:
        """Fail before the run when a model cannot be used (missing weights, server down)."""
        if self._checked:
            return
        for model in {id(m): m for m in self.models().values()}.values():
            await model.check()
        self._checked = True

    def tools(self) -> ToolRegistry:
        if self._tools is None:
            registry = _default_tools(self.settings, self.encoder, self.knowledge)
            for tool in _imported_tools(self.settings):
                if tool.name not in registry:
                    registry.register(tool)
            self._tools = registry
        return self._tools

    def tool_selector(self) -> ToolSelector | None:
        """The tool retriever over every registered tool, when tools beyond the corpus search
        and read are registered and `[tools] choose` is on (built once: card vectors are cached
        in `<data dir>/tool_vectors.sqlite`)."""
        if self._selector is None:
            registry = self.tools()
            extra = [t for t in registry if t.name not in CORE_TOOLS]
            if not extra or not self.settings.tools.choose:
                return None
            retriever = self._tool_retriever or ToolRetriever(
                [tool.card() for tool in registry],
                self.encoder,
                vector_cache=self.settings.data_dir / "tool_vectors.sqlite",
            )
            self._selector = ToolSelector(
                retriever, k=self.settings.tools.retrieve_k, max_demos=self.settings.tools.demos
            )
        return self._selector

    @property
    def encoder(self) -> Encoder:
        """The text encoder shared by hybrid search and fact recall (loaded on first use)."""
        if self._encoder is None:
            self._encoder = self.settings.embeddings.build()
        return self._encoder

    @property
    def fact_index(self) -> FactIndex | None:
        """The FAISS index of stored facts (None when the cache or `dense_facts` is off)."""
        cache = self.knowledge
        if self._fact_index is None and cache is not None and self.settings.knowledge.dense_facts:
            self._fact_index = FactIndex(cache, self.encoder)
        return self._fact_index

    def recall(self, goal: str, keywords: str = "", run_id: str = "") -> list[FactRecord]:
        """Stored facts that bear on a goal (what the graph consults before searching), left
        out those of `run_id` and those whose source a tool says was removed or changed since
        (`Tool.source_status`). A broken dense side (encoder, index file) falls back to
        lexical recall."""
        cache = self.knowledge
        if cache is None:
            return []
        config = self.settings.knowledge
        wanted = config.max_facts

        def find(index: FactIndex | None) -> list[FactRecord]:
            return recall(cache, goal, keywords, index=index, k=2 * wanted,
                          min_similarity=config.min_similarity,
                          exclude_run=run_id or None)  # fmt: skip

        try:
            found = find(self.fact_index)
        except (DenseIndexError, EncoderError) as error:
            log.warning("fact recall by meaning failed (%s); recalling by words only", error)
            found = find(None)
        return [fact for fact in found if self._source_current(fact)][:wanted]

    def _source_current(self, fact: FactRecord) -> bool:
        for tool in self.tools():
            status = tool.source_status(fact.source_id, fact.start, fact.end, fact.passage)
            if status is not None:
                if not status:
                    log.info(
                        "fact %s: its source %s changed; not recalled", fact.id, fact.source_id
                    )
                return status
        return True

    def _answer_scope(self) -> str:
        models = ";".join(
            f"{role}={model.name}@{getattr(model, 'base_url', '')}"
            for role, model in sorted(self.models().items())
        )
        tools = ",".join(sorted(self.tools().names()))
        if self.web_enabled:
            tools += "|web=" + self.tools().get("search").cache_scope()
        return f"corpora={','.join(self.settings.corpora)}|tools={tools}|models={models}"

    @property
    def web_enabled(self) -> bool:
        """Whether this researcher's `search` reaches the web (`[web] enabled`, or a registry
        built with `web_tools`)."""
        from tools.web.combined import WebAndCorpusSearchTool

        registry = self.tools()
        return "search" in registry and isinstance(registry.get("search"), WebAndCorpusSearchTool)

    @property
    def run_store(self) -> RunStore:
        if self._run_store is None:
            self._run_store = RunStore(self.settings.runs_db)
        return self._run_store

    @property
    def knowledge(self) -> KnowledgeCache | None:
        """The knowledge cache (None when disabled by `knowledge_cache = false`)."""
        if self._knowledge is None and self.settings.knowledge_cache:
            try:
                self._knowledge = KnowledgeCache(
                    self.settings.knowledge_db, default_ttl=self.settings.knowledge.ttl
                )
            except KnowledgeCacheError as error:
                raise ResearchError(str(error)) from None
        return self._knowledge

    @contextlib.asynccontextmanager
    async def _graph(self) -> AsyncIterator[Any]:
        async with open_checkpointer(self.checkpoint_path) as saver:
            yield build_graph().compile(checkpointer=saver)

    # -- running --------------------------------------------------------------------------------

    async def astream(self, question: str, *, run_id: str | None = None) -> AsyncIterator[Event]:
        """Run and yield every event as it happens; the final event is the `answer`."""
        question = (question or "").strip()
        if not question:
            raise ResearchError("the question is empty")
        run_id = run_id or uuid.uuid4().hex[:12]
        holder: dict[str, ResearchResult] = {}
        async for event in self._execute({"question": question}, run_id, question, holder):
            yield event

    async def arun(
        self,
        question: str,
        *,
        run_id: str | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> ResearchResult:
        question = (question or "").strip()
        if not question:
            raise ResearchError("the question is empty")
        run_id = run_id or uuid.uuid4().hex[:12]
        holder: dict[str, ResearchResult] = {}
        async for event in self._execute({"question": question}, run_id, question, holder):
            if on_event:
                on_event(event)
        return holder["result"]

    async def aresume(
        self, run_id: str, *, on_event: Callable[[Event], None] | None = None
    ) -> ResearchResult:
        """Continue an interrupted run from its last checkpoint."""
        async with self._graph() as graph:
            snapshot = await graph.aget_state({"configurable": {"thread_id": run_id}})
        if not snapshot.values:
            raise ResearchError(f"no checkpoint for run {run_id!r}")
        question = snapshot.values["question"]
        holder: dict[str, ResearchResult] = {}
        graph_input = None if snapshot.next else {"question": question}
        if not snapshot.next and snapshot.values.get("answer"):
            return self._result(run_id, snapshot.values, 0.0)
        async for event in self._execute(graph_input, run_id, question, holder):
            if on_event:
                on_event(event)
        return holder["result"]

    def cancel(self, run_id: str) -> bool:
        """Stop a running run at once; it ends with the partial answer built from what it found
        (stop reason "cancelled by the user"). False when no run with this id is in progress."""
        stop = self._stops.get(run_id)
        if stop is None:
            return False
        stop.set()
        return True

    def running(self) -> list[str]:
        """Ids of the runs in progress."""
        return list(self._stops)

    def run(self, question: str, *, run_id: str | None = None) -> ResearchResult:
        """Synchronous `arun`. HTTP clients are closed before its event loop ends."""

        async def go() -> ResearchResult:
            try:
                return await self.arun(question, run_id=run_id)
            finally:
                await self._close_models()
                if self._fact_index is not None:
                    self._fact_index.close()

        return asyncio.run(go())

    def _call_recorder(self, run_id: str) -> RecordCallFn:
        """Model calls of `run_id` go to the run store (the traces `finetune export` reads)."""
        store = self.run_store

        def record(
            role: str, task: str, messages: list[dict[str, str]], output: str, usage: Usage
        ) -> None:
            store.add_model_call(
                run_id,
                role,
                task,
                messages,
                output,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
            )

        return record

    async def _execute(
        self,
        graph_input: dict[str, Any] | None,
        run_id: str,
        question: str,
        holder: dict[str, ResearchResult],
    ) -> AsyncIterator[Event]:
        ctx = RunContext(
            models=self.models(),
            tools=self.tools(),
            tool_selector=await asyncio.to_thread(self.tool_selector),
            budget=self.settings.budget,
            search=self.settings.search,
            wide=self.settings.wide,
            cache=self.knowledge,
            knowledge=self.settings.knowledge,
            recall=self.recall if self.knowledge is not None else None,
            answer_scope=self._answer_scope(),
            run_id=run_id,
            record_call=self._call_recorder(run_id),
            web=self.web_enabled,
            recency=recency_from_text(question) if self.web_enabled else None,
        )
        stop = self._stops.setdefault(run_id, asyncio.Event())  # cancel() sets it
        watcher: asyncio.Task[None] | None = None
        try:
            if graph_input is None or await find_stored_answer(ctx, question) is None:
                await self.check_models()  # a stored answer needs no model: do not load one
            store = self.run_store
            store.start_run(run_id, question)
            config: dict[str, Any] = {
                "configurable": {"thread_id": run_id},
                "recursion_limit": 200,
            }
            started = time.perf_counter()
            status = "done"
            totals: dict[str, float] = {}
            async with self._graph() as graph:
                stream = graph.astream(
                    graph_input, config, context=ctx, stream_mode=["updates", "custom"]
                )
                try:
                    async with asyncio.timeout(
                        self.settings.budget.max_seconds + HARD_STOP_GRACE_SECONDS
                    ) as deadline:
                        watcher = asyncio.create_task(_expire_on(stop, deadline))
                        async for mode, chunk in stream:
                            if mode == "custom":
                                # the answer as it is written: shown live, not stored (the
                                # checked answer arrives in the `answer` event)
                                if isinstance(chunk, dict) and chunk.get("type") == "answer_delta":
                                    yield Event(
                                        type="answer_delta",
                                        data={"text": str(chunk.get("text", ""))},
                                        usage=totals,
                                    )
                                continue
                            for update in chunk.values():
                                totals = add_usage(totals, (update or {}).get("usage"))
                                for raw in (update or {}).get("events", []):
                                    store.add_event(run_id, raw)
                                    yield Event.model_validate({**raw, "usage": totals})
                except TimeoutError:
                    status = "cancelled" if stop.is_set() else "timeout"
                except asyncio.CancelledError:
                    store.finish_run(run_id, "cancelled", "", {})
                    raise
                snapshot = await graph.aget_state(config)
        finally:
            if watcher is not None:
                watcher.cancel()
            self._stops.pop(run_id, None)
        values: dict[str, Any] = dict(snapshot.values)
        if not snapshot.next and values.get("answer"):
            status = "done"  # stopped after the answer was written: the answer stands
        if status != "done" or not values.get("answer"):
            reason = {
                "timeout": "hard time limit reached",
                "cancelled": "cancelled by the user",
            }.get(status, "run ended early")
            answer, citations, table = fallback_result(values, reason)  # type: ignore[arg-type]
            values["answer"], values["citations"] = answer, citations
            if table is not None:
                values["table"] = table
            values["stop_reason"] = reason
        result = self._result(run_id, values, time.perf_counter() - started)
        store.finish_run(run_id, status, result.answer, result.model_dump(mode="json"))
        holder["result"] = result

    @staticmethod
    def _result(run_id: str, values: ResearchState | dict[str, Any], wall: float) -> ResearchResult:
        usage = values.get("usage") or {}
        model_s = float(usage.get("model_seconds", 0.0))
        tool_s = float(usage.get("tool_seconds", 0.0))
        prompt = int(usage.get("prompt_tokens", 0))
        completion = int(usage.get("completion_tokens", 0))
        return ResearchResult(
            run_id=run_id,
            question=values.get("question", ""),
            answer=values.get("answer", ""),
            citations=[Citation.model_validate(c) for c in values.get("citations") or []],
            events=[Event.model_validate(e) for e in values.get("events") or []],
            usage=RunUsage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                total_tokens=prompt + completion,
                model_calls=int(usage.get("model_calls", 0)),
                tool_calls=int(usage.get("tool_calls", 0)),
                steps=int(usage.get("steps", 0)),
                cache_hits=int(usage.get("cache_hits", 0)),
            ),
            timings=Timings(
                wall_seconds=wall,
                model_seconds=model_s,
                tool_seconds=tool_s,
                framework_seconds=max(0.0, wall - model_s - tool_s),
            ),
            stop_reason=values.get("stop_reason") or "answered",
            reused_from=values.get("reused_from"),
            table=values.get("table"),
            table_columns=[c["name"] for c in (values.get("table_plan") or {}).get("columns", [])],
        )

    async def _close_models(self) -> None:
        for model in {id(m): m for m in (self._models or {}).values()}.values():
            await model.aclose()

    async def aclose(self) -> None:
        await self._close_models()
        if self._fact_index is not None:
            self._fact_index.close()
        if self._knowledge is not None:
            self._knowledge.close()
        if self._run_store is not None:
            self._run_store.close()


async def _expire_on(stop: asyncio.Event, deadline: asyncio.Timeout) -> None:
    """Make `deadline` expire now once `stop` is set: the run's await is interrupted and it ends
    the way a run out of time does, with the partial answer."""
    await stop.wait()
    deadline.reschedule(asyncio.get_running_loop().time())
