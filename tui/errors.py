"""Failures as notifications: what happened and what to do about it."""

from __future__ import annotations

from agent.config import ConfigError
from agent.errors import expected_errors as library_errors
from agent.llm.base import ModelError


def expected_errors() -> tuple[type[BaseException], ...]:
    """The library's expected failures, and OS errors (an unwritable data dir)."""
    return (*library_errors(), OSError)


def explain(error: BaseException) -> tuple[str, str]:
    """(title, message with the next step) for a failed run."""
    text = str(error) or type(error).__name__
    lowered = text.lower()
    if isinstance(error, ModelError):
        if any(w in lowered for w in ("connect", "unreachable", "refused", "timed out", "timeout")):
            return (
                "model unreachable",
                f"{text}\nStart the model server, or pick another model on the settings screen "
                "(F4).",
            )
        return "model failed", f"{text}\nTry again, or pick another model (F4)."
    if "no corpus" in lowered or "unknown corpus" in lowered:
        return (
            "no corpus to search",
            f"{text}\nChoose an indexed corpus on the settings screen (F4).",
        )
    if isinstance(error, ConfigError):
        return "bad settings", f"{text}\nFix it on the settings screen (F4) or in wideseek.toml."
    return "run failed", text


def stop_advice(stop_reason: str) -> str | None:
    """A note for runs that ended before they were done (None: it answered)."""
    if stop_reason in ("", "answered"):
        return None
    if "budget" in stop_reason or "time limit" in stop_reason:
        return f"{stop_reason}: the answer uses what was found. Raise the budget on the settings " \
            "screen (F4) for a fuller one."  # fmt: skip
    if "cancelled" in stop_reason:
        return "Run cancelled: the partial answer is kept (and in History, F2)."
    return f"{stop_reason}: the answer may be incomplete."
