"""Retrieval: documents in, ranked passages out.

The local corpus search (SQLite FTS5, BM25) lives in `retriever.corpus_store`; reading files into
documents in `retriever.ingest`; the bundled Wikipedia corpus in `retriever.default_corpus`;
embeddings in `retriever.encoder`, the FAISS index in `retriever.dense`, reciprocal rank fusion
in `retriever.hybrid` (heavy libraries load lazily, on first use).
"""

from retriever.chunking import chunk_text
from retriever.corpus_store import (
    AmbiguousDocumentError,
    CorpusError,
    CorpusInfo,
    CorpusStore,
    DocumentNotFoundError,
    InvalidCorpusNameError,
    UnknownCorpusError,
    build_match_query,
    query_terms,
)
from retriever.default_corpus import (
    DEFAULT_CORPUS,
    DefaultCorpusError,
    default_corpus_documents,
    default_corpus_path,
)
from retriever.dense import DenseIndex, DenseIndexError
from retriever.encoder import (
    Encoder,
    EncoderError,
    MiniLMEncoder,
    OpenAIEmbeddingsEncoder,
    build_encoder,
)
from retriever.hybrid import DenseUnavailableError, HybridSearcher, rrf
from retriever.ingest import MAX_TEXT_CHARS, IngestError, IngestReport, load_documents
from retriever.types import Document, Hit, Passage
from retriever.vectors import CorpusVectors

__all__ = [
    "DEFAULT_CORPUS",
    "MAX_TEXT_CHARS",
    "AmbiguousDocumentError",
    "CorpusError",
    "CorpusInfo",
    "CorpusStore",
    "CorpusVectors",
    "DefaultCorpusError",
    "DenseIndex",
    "DenseIndexError",
    "DenseUnavailableError",
    "Document",
    "DocumentNotFoundError",
    "Encoder",
    "EncoderError",
    "Hit",
    "HybridSearcher",
    "IngestError",
    "IngestReport",
    "InvalidCorpusNameError",
    "MiniLMEncoder",
    "OpenAIEmbeddingsEncoder",
    "Passage",
    "UnknownCorpusError",
    "build_encoder",
    "build_match_query",
    "chunk_text",
    "default_corpus_documents",
    "default_corpus_path",
    "load_documents",
    "query_terms",
    "rrf",
]
