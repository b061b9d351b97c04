"""Saved KV states of prompt prefixes for the embedded model: a role's instructions are read once.

Every role's prompt starts with the same instructions (its system message). llama.cpp already
reuses the part of a prompt that matches the previous call's, but roles alternate (reflector,
writer, planner), so each call would read its instructions again: 150-450 tokens, 3-8 s on two
cores. `PrefixStates` keeps the KV state of each distinct prefix (the prompt up to where the
first user message's text begins), in memory and in files under the user cache directory, so
the next call of the role, in this process or the next one, starts from it.

The prefix of a prompt is found without knowing the chat template: the messages are rendered
once more with every non-system text replaced, and the common token prefix of the two
renderings is the part that does not depend on the call. Whatever is restored, llama.cpp's own
prefix match decides what is reused: a state that does not match costs time, never a wrong
reply. A damaged or stale file is a miss (and is removed).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MIN_PREFIX_TOKENS = 48
"""Shorter prefixes are read again: cheaper than restoring a state."""
MAX_MEMORY_STATES = 16
MAX_FILES = 48
_MAGIC = b"WSKV1\n"
_PROBE = "\u2063"  # a character no prompt starts its user text with


def default_state_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("wideseek")) / "prompt-states"


class PrefixStates:
    """Prefix KV states of one loaded `llama_cpp.Llama` (its calls must be serialised)."""

    def __init__(self, llama: Any, model_path: Path, directory: Path | None = None) -> None:
        self._llama = llama
        self._dir = directory
        self._memory: OrderedDict[str, tuple[list[int], bytes]] = OrderedDict()
        self._formatter = _formatter(llama)
        stat = model_path.stat() if model_path.exists() else None
        import llama_cpp

        self._model_key = json.dumps(
            [
                str(model_path),
                stat.st_size if stat else 0,
                stat.st_mtime if stat else 0,
                llama_cpp.__version__,
                llama.n_ctx(),
            ]
        )
        self.hits = 0
        self.saved = 0

    @property
    def enabled(self) -> bool:
        return self._formatter is not None

    def prime(self, messages: Sequence[dict[str, Any]]) -> int:
        """Make the model's KV cache start with this prompt's prefix (restored or read now, and
        then saved). Returns the prefix length in tokens (0 when nothing was done)."""
        if self._formatter is None:
            return 0
        try:
            prefix = self._prefix(messages)
        except Exception as error:  # a template that cannot render these messages
            log.debug("no prompt prefix: %s", error)
            return 0
        if len(prefix) < MIN_PREFIX_TOKENS:
            return 0
        llama = self._llama
        live = _common(llama.input_ids[: llama.n_tokens].tolist(), prefix)
        if live >= len(prefix):
            return len(prefix)
        key = hashlib.sha256(f"{self._model_key}{prefix}".encode()).hexdigest()[:32]
        state = self._memory.get(key) or self._read(key, prefix)
        if state is not None and self._restore(prefix, state[1]):
            self._memory[key] = state
            self._memory.move_to_end(key)
            self.hits += 1
            return len(prefix)
        llama.n_tokens = live
        llama.eval(prefix[live:])
        data = self._save()
        if data is not None:
            self._remember(key, prefix, data)
        return len(prefix)

    # --- prefixes --------------------------------------------------------------------------

    def _tokens(self, messages: Sequence[dict[str, Any]]) -> list[int]:
        assert self._formatter is not None
        result = self._formatter(messages=list(messages))
        return list(
            self._llama.tokenize(
                result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
            )
        )

    def _prefix(self, messages: Sequence[dict[str, Any]]) -> list[int]:
        probe = [
            m if m.get("role") == "system" else {**m, "content": _PROBE + "x"} for m in messages
        ]
        real = self._tokens(messages)
        other = self._tokens(probe)
        return real[: _common(real, other)]

    # --- states ----------------------------------------------------------------------------

    def _save(self) -> bytes | None:
        import llama_cpp

        ctx = self._llama._ctx.ctx
        size = llama_cpp.llama_state_seq_get_size(ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0)
        return bytes(buffer[:written]) if written else None

    def _restore(self, prefix: list[int], data: bytes) -> bool:
        import llama_cpp

        llama = self._llama
        llama._ctx.kv_cache_clear()
        llama.n_tokens = 0
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if not llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(data), 0):
            llama._ctx.kv_cache_clear()
            return False
        llama.input_ids[: len(prefix)] = prefix
        llama.n_tokens = len(prefix)
        return True

    def _remember(self, key: str, prefix: list[int], data: bytes) -> None:
        self._memory[key] = (prefix, data)
        while len(self._memory) > MAX_MEMORY_STATES:
            self._memory.popitem(last=False)
        self.saved += 1
        if self._dir is None:
            return
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            header = json.dumps({"tokens": prefix}).encode() + b"\n"
            with tempfile.NamedTemporaryFile(dir=self._dir, delete=False) as handle:
                handle.write(_MAGIC + header + data)
            os.replace(handle.name, self._dir / f"{key}.kv")
            files = sorted(self._dir.glob("*.kv"), key=lambda p: p.stat().st_mtime)
            for old in files[:-MAX_FILES]:
                old.unlink(missing_ok=True)
        except OSError as error:
            log.debug("prompt state not saved: %s", error)

    def _read(self, key: str, prefix: list[int]) -> tuple[list[int], bytes] | None:
        if self._dir is None:
            return None
        path = self._dir / f"{key}.kv"
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        try:
            if not raw.startswith(_MAGIC):
                raise ValueError("not a prompt state file")
            header, data = raw[len(_MAGIC) :].split(b"\n", 1)
            if json.loads(header)["tokens"] != prefix or not data:
                raise ValueError("prompt state for other tokens")
        except (ValueError, KeyError, TypeError) as error:
            log.debug("prompt state %s unusable (%s): removed", path, error)
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        with contextlib.suppress(OSError):
            os.utime(path)
        return prefix, data


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _formatter(llama: Any) -> Any:
    """The chat formatter `create_chat_completion` uses for this model (its GGUF template), or
    None when the model has none (no prefix states then)."""
    template = (getattr(llama, "metadata", None) or {}).get("tokenizer.chat_template")
    if not template or getattr(llama, "chat_format", None) != "chat_template.default":
        return None
    from llama_cpp import llama_chat_format

    model = llama._model
    eos, bos = model.token_eos(), model.token_bos()
    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=model.token_get_text(eos) if eos != -1 else "",
        bos_token=model.token_get_text(bos) if bos != -1 else "",
        stop_token_ids=[eos],
    )
