"""One small Protocol per stage kind. Implementations register in :mod:`ragpipe.registry`.

An implementation is constructed as ``Impl(config, **resources)`` with the resources its ``__init__`` names
(:data:`ragpipe.registry.RESOURCES`) and only stores them; models, files and clients open lazily, or in
``open()`` for the index stages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ragpipe.types import Answer, Chunk, Document, Hit, ScoredChunk, SparseVector

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.filters import FilterExpr


@runtime_checkable
class Parser(Protocol):
    """Turns a file's bytes into text plus format-specific metadata (title, front matter...)."""

    extensions: tuple[str, ...]  # lower-case, with dot: (".md", ".markdown")

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        """Return ``(text, metadata)``; raise :class:`ragpipe.errors.ParseError` on bad input."""
        ...


@runtime_checkable
class Chunker(Protocol):
    def chunk(self, document: Document) -> list[Chunk]:
        """Split one document; every chunk satisfies ``document.text[c.start:c.end] == c.text``."""
        ...


@runtime_checkable
class Embedder(Protocol):
    @property
    def model_id(self) -> str:
        """Identifies the model *and* everything that changes its vectors (cache key part)."""
        ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_input_tokens(self) -> int | None:
        """Tokens of one text the model reads (longer texts are cut), or None when unbounded/unknown."""
        ...

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """Each document text's length in the model's tokens, prefix and special tokens included, before any
        cut (``input_lengths([""])`` is what every text costs besides its own tokens)."""
        ...

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the model's tokens in one document text (no prefix, no special tokens)."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array of shape (len(texts), dimension), L2-normalized."""
        ...

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class VectorStore(Protocol):
    """Chunks with dense (and optionally sparse) vectors, searchable under a metadata filter. Whether a
    store keeps sparse vectors is declared on its config class (``StoreConfig.supports_sparse``)."""

    def open(self, chunks: int) -> None:
        """Open a published generation now and check that it holds ``chunks`` points; raise
        :class:`~ragpipe.errors.IndexDamagedError` naming a damaged file (a store whose points live outside the
        generation, such as a server collection written in place, may skip the count). Writers open lazily on
        their first write."""
        ...

    def upsert(
        self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVector] | None = None
    ) -> None: ...

    def delete_documents(self, doc_ids: Sequence[str]) -> None: ...

    def search_dense(self, vector: np.ndarray, top_k: int, flt: FilterExpr | None = None) -> list[Hit]: ...

    def search_sparse(self, vector: SparseVector, top_k: int, flt: FilterExpr | None = None) -> list[Hit]: ...

    def count(self) -> int: ...

    def exact_search_reason(self) -> str | None:
        """Why dense searches of this generation run brute force, or None when they use the engine's index."""
        ...

    def flush(self) -> None:
        """Make every write durable and searchable (builds HNSW where the engine needs it)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class LexicalIndex(Protocol):
    """Keyword (BM25) retrieval over the same chunks as the vector store."""

    def open(self) -> None:
        """Load a published generation's files now (raise IndexDamagedError naming a damaged file)."""
        ...

    def encode(self, chunks: Sequence[Chunk]) -> list[SparseVector] | None:
        """Sparse vectors to store with the chunks in the vector store, or None if kept in-process."""
        ...

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """(Re)build the in-process index of a work generation from every indexed chunk (no-op if in-engine)."""
        ...

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]: ...


@runtime_checkable
class Fuser(Protocol):
    def fuse(self, legs: Mapping[str, Sequence[Hit]], top_k: int) -> list[ScoredChunk]:
        """Combine ranked hit lists (keyed by leg name) into one ranking with per-leg scores."""
        ...


@runtime_checkable
class Reranker(Protocol):
    def rerank(self, query: str, chunks: Sequence[ScoredChunk]) -> list[ScoredChunk]: ...


@runtime_checkable
class Generator(Protocol):
    def answer(self, query: str, chunks: Sequence[ScoredChunk]) -> Answer:
        """An answer grounded in ``chunks``, with citations into their documents."""
        ...
