"""Retrieval: documents in, ranked passages out.

Documents are parsed into their structure (`retriever.structure`: sections holding paragraphs,
tables, lists, definition lists and code, with spans) by `retriever.parse_html`,
`retriever.parse_text` and `retriever.parse_pdf`; `retriever.listings` finds the listings (tables,
lists, entries, runs of entry sections) and their rows. (The functions `parse_html`,
`parse_text` and `listings` share their modules' names, so they are imported from the modules.)

The local corpus search (SQLite FTS5, BM25) lives in `retriever.corpus_store`; reading files into
documents in `retriever.ingest`; the bundled Wikipedia corpus in `retriever.default_corpus`;
embeddings in `retriever.encoder`, the FAISS index in `retriever.dense`, reciprocal rank fusion
in `retriever.hybrid` (heavy libraries load lazily, on first use).
"""

from retriever.chunking import chunk_document, chunk_text
from retriever.corpus_store import (
    AmbiguousDocumentError,
    CorpusError,
    CorpusInfo,
    CorpusStore,
    DocumentNotFoundError,
    InvalidCorpusNameError,
    OutdatedCorpusError,
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
from retriever.listings import Listing, ListingKind, ListingRow
from retriever.parse_html import HtmlParse
from retriever.parse_pdf import PdfError, PdfText, pdf_text
from retriever.structure import (
    Block,
    Code,
    Definition,
    DefinitionList,
    DocumentRenderer,
    DocumentStructure,
    ListBlock,
    ListItem,
    Paragraph,
    Section,
    StructureError,
    Table,
)
from retriever.types import Document, Hit, Passage
from retriever.vectors import CorpusVectors

__all__ = [
    "DEFAULT_CORPUS",
    "MAX_TEXT_CHARS",
    "AmbiguousDocumentError",
    "Block",
    "Code",
    "CorpusError",
    "CorpusInfo",
    "CorpusStore",
    "CorpusVectors",
    "DefaultCorpusError",
    "Definition",
    "DefinitionList",
    "DenseIndex",
    "DenseIndexError",
    "DenseUnavailableError",
    "Document",
    "DocumentNotFoundError",
    "DocumentRenderer",
    "DocumentStructure",
    "Encoder",
    "EncoderError",
    "Hit",
    "HtmlParse",
    "HybridSearcher",
    "IngestError",
    "IngestReport",
    "InvalidCorpusNameError",
    "ListBlock",
    "ListItem",
    "Listing",
    "ListingKind",
    "ListingRow",
    "MiniLMEncoder",
    "OpenAIEmbeddingsEncoder",
    "OutdatedCorpusError",
    "Paragraph",
    "Passage",
    "PdfError",
    "PdfText",
    "Section",
    "StructureError",
    "Table",
    "UnknownCorpusError",
    "build_encoder",
    "build_match_query",
    "chunk_document",
    "chunk_text",
    "default_corpus_documents",
    "default_corpus_path",
    "load_documents",
    "pdf_text",
    "query_terms",
    "rrf",
]
