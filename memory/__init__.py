"""The knowledge cache and run store, in SQLite."""

from memory.run_store import RunRecord, RunStore, RunStoreError

__all__ = ["RunRecord", "RunStore", "RunStoreError"]
