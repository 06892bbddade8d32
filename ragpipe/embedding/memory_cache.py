"""The query-time Embedder: an in-memory LRU of vectors in front of the model, shared by every thread.

Queries, the extractive answerer's sentences and answer-similarity metrics are embedded here. Nothing is
written to disk and no lock is held while the model runs, so a query never waits on an ingest that is
embedding a batch through the persistent cache (:mod:`ragpipe.embedding.cache`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

from ragpipe.embedding.cache import stack_rows
from ragpipe.embedding.wrapper import EmbedderWrapper
from ragpipe.protocols import Embedder

DEFAULT_SIZE = 4096


class QueryEmbedder(EmbedderWrapper):
    """Serves repeated texts from memory; documents and queries are cached apart (their prefixes differ)."""

    def __init__(self, inner: Embedder, size: int = DEFAULT_SIZE) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        super().__init__(inner)
        self.size = size
        self._lock = threading.Lock()
        self._vectors: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("query", texts, self.inner.embed_queries)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed("document", texts, self.inner.embed_documents)

    def _embed(self, role: str, texts: Sequence[str], compute: Callable[[Sequence[str]], np.ndarray]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[(role, t)] for t in dict.fromkeys(texts) if (role, t) in self._vectors}
            for text in known:
                self._vectors.move_to_end((role, text))
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            fresh = np.asarray(compute(missing), dtype=np.float32)
            known.update(zip(missing, fresh, strict=True))
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    self._vectors[(role, text)] = vector
                    self._vectors.move_to_end((role, text))
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return stack_rows([known[t] for t in texts], self.dimension)
