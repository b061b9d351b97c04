"""The failures a user can meet and act on (bad config, missing weights, a model that is down,
an unknown corpus, a damaged store): front ends show them as one line, never a traceback."""

from __future__ import annotations


def expected_errors() -> tuple[type[BaseException], ...]:
    """Every expected failure of the library (imported late: some modules are heavy)."""
    from agent.config import ConfigError
    from agent.llm.base import ModelError
    from agent.llm.weights import WeightsError
    from agent.researcher import ResearchError
    from memory.knowledge import KnowledgeCacheError
    from memory.run_store import RunStoreError
    from retriever.corpus_store import CorpusError
    from retriever.dense import DenseIndexError
    from retriever.encoder import EncoderError
    from retriever.ingest import IngestError
    from tools.catalogue import ToolCatalogueError
    from tools.importing import ToolImportError

    return (
        ToolImportError,
        ToolCatalogueError,
        EncoderError,
        DenseIndexError,
        ConfigError,
        ModelError,
        WeightsError,
        ResearchError,
        RunStoreError,
        KnowledgeCacheError,
        CorpusError,
        IngestError,
    )
