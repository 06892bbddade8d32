"""BM25 inside the vector store: sparse vectors of BM25 term weights, IDF applied by the engine.

Each chunk is stored with a sparse vector whose indices are stable 32-bit hashes of its tokens
(blake2b, never Python's salted ``hash``) and whose values are the BM25 term-frequency part
``tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avg_len))``. The store's sparse vector has
Qdrant's IDF modifier (``ln(1 + (N - df + 0.5) / (df + 0.5))``, computed over the stored points),
so a query vector of term counts scores exactly BM25, with filters evaluated inside the engine.

``avg_len`` must be the same for every chunk ever encoded: unless the config fixes it, it is taken
from the first batch encoded and persisted in ``<generation>/qdrant_sparse.json`` for later batches
and re-ingests (each generation starts as a copy of the previous one, so the file carries over).
Qdrant Edge's own ``Bm25`` helper is not used: it has a different tokenizer (so results would differ
from the other engines) and a fixed ``avg_len`` (256 by default).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import Field

from ragpipe.errors import ConfigError, IndexDamagedError
from ragpipe.filters import FilterExpr
from ragpipe.index_location import IndexLocation
from ragpipe.lexical.tokenize import Tokenizer, TokenizerOptions
from ragpipe.protocols import VectorStore
from ragpipe.registry import register
from ragpipe.types import Chunk, Hit, SparseVector

STATE_FILE = "qdrant_sparse.json"


def term_id(token: str) -> int:
    """Stable uint32 id of a token (the same in every process and on every machine)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=4).digest(), "little")


def bm25_document_vector(tokens: Sequence[str], k1: float, b: float, avg_len: float) -> SparseVector:
    """BM25 term-frequency weights of one document, keyed by :func:`term_id` (hash collisions add up)."""
    norm = k1 * (1 - b + b * len(tokens) / avg_len)
    weights: dict[int, float] = {}
    for token, tf in Counter(tokens).items():
        tid = term_id(token)
        weights[tid] = weights.get(tid, 0.0) + tf * (k1 + 1) / (tf + norm)
    ids = sorted(weights)
    return SparseVector(indices=tuple(ids), values=tuple(weights[i] for i in ids))


def bm25_query_vector(tokens: Sequence[str]) -> SparseVector:
    """One entry per distinct query term, weighted by its count in the query (as bm25s and Lucene do)."""
    counts = Counter(term_id(t) for t in tokens)
    ids = sorted(counts)
    return SparseVector(indices=tuple(ids), values=tuple(float(counts[i]) for i in ids))


class QdrantSparseConfig(TokenizerOptions):
    """BM25 scored by the vector store (needs a store with sparse vectors + IDF, e.g. qdrant-edge)."""

    needs_sparse_store = True
    type: Literal["qdrant-sparse"] = "qdrant-sparse"
    k1: float = Field(default=1.2, ge=0)
    """Term-frequency saturation."""
    b: float = Field(default=0.75, ge=0, le=1)
    """Document-length normalization (0 = none, 1 = full)."""
    avg_len: float | None = Field(default=None, gt=0)
    """Average chunk length in tokens; null = measured on the first batch encoded, then persisted."""


@register("lexical", config=QdrantSparseConfig)
class QdrantSparseIndex:
    """Encodes chunks as BM25 sparse vectors for the store and searches them there."""

    def __init__(self, config: QdrantSparseConfig, location: IndexLocation, store: VectorStore) -> None:
        self.config = config
        self.store = store
        self.state_path: Path = location.folder / STATE_FILE
        self._tokenizer = Tokenizer.from_options(config)
        self._lock = threading.Lock()
        self._avg_len: float | None = None

    def open(self) -> None:
        """Read the persisted ``avg_len`` of a published generation (when the config does not fix it)."""
        if self.config.avg_len is None and self.state_path.exists():
            try:
                self.average_length()
            except ConfigError as exc:
                raise IndexDamagedError(str(self.state_path), str(exc)) from None

    def average_length(self, first_batch: Sequence[Sequence[str]] = ()) -> float:
        """The ``avg_len`` in use: config, else persisted, else measured on ``first_batch`` and persisted."""
        if self.config.avg_len is not None:
            return self.config.avg_len
        with self._lock:
            if self._avg_len is None:
                self._avg_len = self._read_state()
            if self._avg_len is None:
                if not first_batch:
                    raise ConfigError(
                        f"lexical.avg_len is not set and {self.state_path} does not exist yet; "
                        "encode a first batch of chunks (or set lexical.avg_len)"
                    )
                measured = sum(len(t) for t in first_batch) / len(first_batch)
                self._avg_len = max(measured, 1.0)
                self._write_state({"avg_len": self._avg_len, "measured_on_chunks": len(first_batch)})
            return self._avg_len

    def _read_state(self) -> float | None:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{self.state_path}: unreadable or not JSON ({exc})") from None
        value = state.get("avg_len") if isinstance(state, dict) else None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ConfigError(f"{self.state_path}: 'avg_len' must be a positive number, got {value!r}")
        return float(value)

    def _write_state(self, state: dict[str, float | int]) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def encode(self, chunks: Sequence[Chunk]) -> list[SparseVector]:
        """One BM25 term-weight vector per chunk, to be stored with it."""
        if not chunks:
            return []
        tokens = self._tokenizer.tokenize_many([c.text for c in chunks])
        avg_len = self.average_length(tokens)
        return [bm25_document_vector(t, self.config.k1, self.config.b, avg_len) for t in tokens]

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Nothing to do: the vectors were written with the chunks."""
        return None

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        """BM25 search run by the store, filter applied inside the engine (the pipeline checked, when it was
        built, that the store keeps sparse vectors)."""
        tokens = self._tokenizer.tokenize(query)
        if not tokens:
            return []
        return self.store.search_sparse(bm25_query_vector(tokens), top_k, flt)
