"""The knowledge cache and run store, in SQLite (+ the FAISS index of facts)."""

from memory.fact_index import FactIndex, default_fact_index_path, recall
from memory.knowledge import (
    AnswerRecord,
    DocumentRecord,
    EvidenceRecord,
    FactRecord,
    KnowledgeCache,
    KnowledgeCacheError,
    PassageRecord,
    tool_cache_key,
)
from memory.run_store import ModelCallRecord, RunRecord, RunStore, RunStoreError

__all__ = [
    "AnswerRecord",
    "DocumentRecord",
    "EvidenceRecord",
    "FactIndex",
    "FactRecord",
    "KnowledgeCache",
    "KnowledgeCacheError",
    "ModelCallRecord",
    "PassageRecord",
    "RunRecord",
    "RunStore",
    "RunStoreError",
    "default_fact_index_path",
    "recall",
    "tool_cache_key",
]
