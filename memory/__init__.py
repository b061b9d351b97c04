"""The knowledge cache and run store, in SQLite."""

from memory.knowledge import (
    DocumentRecord,
    EvidenceRecord,
    FactRecord,
    KnowledgeCache,
    KnowledgeCacheError,
    PassageRecord,
    tool_cache_key,
)
from memory.run_store import RunRecord, RunStore, RunStoreError

__all__ = [
    "DocumentRecord",
    "EvidenceRecord",
    "FactRecord",
    "KnowledgeCache",
    "KnowledgeCacheError",
    "PassageRecord",
    "RunRecord",
    "RunStore",
    "RunStoreError",
    "tool_cache_key",
]
