"""The failures of `finetune` a user can act on: front ends print them as one line."""

from __future__ import annotations

from pathlib import Path

INSTALL_HINT = "install with: pip install 'wideseek[train]'"


class FinetuneError(RuntimeError):
    """Bad input to export or training (a missing run store, an unknown run id, a malformed
    data line, an unwritable folder, an unusable base model)."""


class MissingExtraError(FinetuneError):
    """The training libraries (trl, peft, datasets, accelerate, gguf) are not installed."""

    def __init__(self, missing: str) -> None:
        super().__init__(f"{missing} is not installed; {INSTALL_HINT}")


def require_train_extra() -> None:
    """Raise MissingExtraError unless every library of the `train` extra imports."""
    import importlib.util

    for module in ("torch", "transformers", "trl", "peft", "datasets", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise MissingExtraError(module)


def ensure_writable(folder: Path, what: str) -> None:
    """Create `folder` and check a file can be written in it; else a FinetuneError naming it
    as `what` ("output folder", "adapter folder")."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise FinetuneError(f"{what} {folder} is not writable ({reason})") from None
