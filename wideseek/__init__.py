"""wideseek: an agentic research assistant. The CLI lives in `wideseek.cli`."""

__version__ = "0.1.0"
