"""`wideseek doctor`: what this installation can use, checked for real, as one table.

Each check is a `Check(area, name, ok, detail)`: the models of each role (an embedded model's
weights found, an OpenAI-compatible server answering /models), the corpora indexed, the
knowledge cache, and the web search backends (configured, key present, a one-result probe
search answered). Keys are never printed: only whether one is set and where it came from.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["Check", "run_checks", "web_checks"]


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    ok: bool | None  # None: not applicable / not configured
    detail: str


async def web_checks(settings: Any, *, probe: bool = True, timeout: float = 10.0) -> list[Check]:
    """One row per web backend: configured (kind, URL, key present), reachable (a probe search
    for one result answered)."""
    from tools.web import BackendConfigError, SearchRequest, build_backend
    from tools.web.results import BackendError

    web = settings.web
    backends = web.configured_backends()
    state = "on" if web.enabled else "off (ask --web or [web] enabled = true)"
    if not backends:
        return [
            Check(
                "web",
                "backends",
                None if not web.enabled else False,
                f"web search {state}; none configured ([[web.backends]] in wideseek.toml, or "
                "BRAVE_API_KEY / TAVILY_API_KEY / SERPER_API_KEY / WIDESEEK_SEARXNG_URL)",
            )
        ]
    checks = [Check("web", "web search", None, state)]
    async with httpx.AsyncClient(timeout=timeout) as client:
        for settings_item in backends:
            label = f"{settings_item.backend_name} ({settings_item.kind})"
            try:
                backend = build_backend(settings_item)
            except BackendConfigError as error:
                checks.append(Check("web", label, False, str(error)))
                continue
            key = "key set" if backend.secrets() else "no key"
            where = f"{backend.base_url}, {key}"
            if not probe:
                checks.append(Check("web", label, None, f"{where} (not probed)"))
                continue
            started = time.perf_counter()
            try:
                results = await asyncio.wait_for(
                    backend.search(SearchRequest(query="wideseek", k=1), client), timeout
                )
            except (BackendError, httpx.HTTPError, TimeoutError) as error:
                checks.append(Check("web", label, False, f"{where}: {backend.mask(str(error))}"))
                continue
            ms = (time.perf_counter() - started) * 1000
            checks.append(
                Check("web", label, True, f"{where}: answered in {ms:.0f} ms, {len(results)} hit")
            )
    return checks


async def _model_checks(settings: Any, timeout: float) -> list[Check]:
    from agent.config import ROLES

    checks: list[Check] = []
    seen: dict[str, Check] = {}
    for role in ROLES:
        config = settings.models.for_role(role)
        key = config.model_dump_json()
        if key in seen:
            previous = seen[key]
            checks.append(Check("models", role, previous.ok, f"same as {previous.name}"))
            continue
        if config.backend == "openai":
            ok, detail = await _server_models(config, timeout)
        elif config.backend == "embedded":
            ok, detail = _embedded_weights(config.model, settings)
        else:
            ok, detail = None, f"{config.backend} (tests only)"
        check = Check("models", role, ok, detail)
        seen[key] = check
        checks.append(check)
    return checks


async def _server_models(config: Any, timeout: float) -> tuple[bool, str]:
    """GET /models through the agent's own client (its auth and one-line, key-free errors)."""
    from agent.llm.base import ModelError
    from agent.llm.factory import build_model

    model: Any = build_model(config)
    try:
        served = await asyncio.wait_for(model.list_models(), timeout)
    except (ModelError, TimeoutError) as error:
        return False, str(error) or f"GET {config.base_url}/models: timed out"
    finally:
        await model.aclose()
    listed = "listed" if config.model in served else f"not among {', '.join(served[:5])}"
    return True, f"{config.model} at {config.base_url} ({listed})"


def _embedded_weights(model: str, settings: Any) -> tuple[bool, str]:
    import importlib.util

    from agent.llm.weights import WeightsError, resolve_model_path

    if importlib.util.find_spec("llama_cpp") is None:
        return False, "llama-cpp-python is not installed (pip install 'wideseek[embedded]')"
    try:
        path = resolve_model_path(model)
    except (WeightsError, OSError) as error:
        return False, f"{model}: {error}"
    return True, f"{model}: {path}"


def _corpus_checks(settings: Any) -> list[Check]:
    if not settings.corpus_db.exists():
        return [
            Check(
                "corpora",
                "index",
                False,
                f"none indexed ({settings.corpus_db}); wideseek index --default",
            )
        ]
    from retriever.corpus_store import CorpusError, CorpusStore

    try:
        store = CorpusStore(settings.corpus_db)
        corpora = {c.name: c for c in store.corpora()}
        store.close()
    except CorpusError as error:
        return [Check("corpora", "index", False, str(error))]
    checks = []
    for name in settings.corpora:
        corpus = corpora.get(name)
        if corpus is None:
            checks.append(Check("corpora", name, False, "searched by default but not indexed"))
        elif corpus.outdated:  # searchable, but without sections and tables
            checks.append(
                Check(
                    "corpora",
                    name,
                    False,
                    f"{corpus.documents:,} documents, indexed by an older wideseek without "
                    f"document structure; wideseek index PATH --corpus {name} --rebuild",
                )
            )
        else:
            checks.append(Check("corpora", name, True, f"{corpus.documents:,} documents"))
    return checks


async def run_checks(settings: Any, *, probe: bool = True, timeout: float = 10.0) -> list[Check]:
    """Every check, in display order."""
    checks = await _model_checks(settings, timeout)
    checks += _corpus_checks(settings)
    checks += await web_checks(settings, probe=probe, timeout=timeout)
    return checks
