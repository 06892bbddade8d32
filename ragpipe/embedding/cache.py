"""The persistent embedding cache of ingest, and the ingest's Embedder that embeds only what it has not seen.

Vectors are keyed by ``(model_id, sha256(text))`` in one SQLite file (WAL mode), so a re-ingest, a sweep
over retrieval settings, or another process re-uses every vector whose text is unchanged. Only ingest reads
and writes it: query-time texts never touch it (nor wait on its lock).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragpipe.embedding.wrapper import EmbedderWrapper
from ragpipe.errors import RagpipeError
from ragpipe.protocols import Embedder

CACHE_FILE_NAME = "embeddings.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID;
"""
_LOOKUP_BATCH = 500  # stays below SQLite's bound-parameter limit


def text_key(text: str) -> bytes:
    """The 32-byte sha256 digest of ``text`` (UTF-8) used as the cache key."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    """Float32 vectors keyed by ``(model_id, sha256 of the text)`` in one SQLite file.

    Safe to share between threads (one connection per thread) and processes (WAL + busy timeout).
    """

    def __init__(self, path: Path, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()

    @classmethod
    def in_dir(cls, cache_dir: Path) -> EmbeddingCache:
        """The cache file shared by every pipeline using ``cache_dir``."""
        return cls(Path(cache_dir) / CACHE_FILE_NAME)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        """Connect and set up WAL + schema. Switching to WAL needs an exclusive lock and SQLite answers
        "database is locked" there without waiting on its busy handler, so that step is retried here."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.executescript(_SCHEMA)
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise self._unreadable(exc) from exc
                if time.monotonic() > deadline:
                    raise RagpipeError(
                        f"embedding cache {self.path} stayed locked by another writer for {self.busy_timeout_s:.0f} s"
                    ) from exc
                time.sleep(0.01)
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise self._unreadable(exc) from exc

    def _unreadable(self, exc: sqlite3.DatabaseError) -> RagpipeError:
        return RagpipeError(
            f"embedding cache {self.path} cannot be opened as SQLite ({exc}); delete the file to rebuild it"
        )

    def get_many(self, model_id: str, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The cached vector of each text (None where absent), in input order."""
        keys = [text_key(t) for t in texts]
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        conn = self._conn()
        for start in range(0, len(unique), _LOOKUP_BATCH):
            batch = unique[start : start + _LOOKUP_BATCH]
            marks = ",".join("?" * len(batch))
            rows = conn.execute(
                f"SELECT text_sha256, vector FROM embeddings WHERE model_id=? AND text_sha256 IN ({marks})",
                [model_id, *batch],
            )
            for key, blob in rows:
                found[bytes(key)] = np.frombuffer(blob, dtype=np.float32).copy()
        return [found.get(k) for k in keys]

    def put_many(self, model_id: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per text (existing entries are kept: a model_id always maps to the same vector)."""
        array = np.asarray(vectors, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise ValueError(f"put_many: expected vectors of shape ({len(texts)}, dim), got {array.shape}")
        rows = [(model_id, text_key(t), np.ascontiguousarray(v).tobytes()) for t, v in zip(texts, array, strict=True)]
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("INSERT OR IGNORE INTO embeddings VALUES (?,?,?)", rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def count(self, model_id: str | None = None) -> int:
        """Number of stored vectors (of one model, or of all)."""
        if model_id is None:
            return int(self._conn().execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
        sql = "SELECT COUNT(*) FROM embeddings WHERE model_id=?"
        return int(self._conn().execute(sql, (model_id,)).fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection (other threads' connections close when they are collected)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class CachedEmbedder(EmbedderWrapper):
    """The ingest's Embedder: embeds only document texts missing from an :class:`EmbeddingCache`.

    One is made per ingest run, so ``computed`` (texts actually embedded) and ``reused`` (served from the cache
    or repeated within one call) count that run only. Queries never come here (see
    :class:`~ragpipe.embedding.memory_cache.QueryEmbedder`); ``embed_queries`` passes straight through.
    """

    def __init__(self, inner: Embedder, cache: EmbeddingCache) -> None:
        super().__init__(inner)
        self.cache = cache
        self.computed = 0
        self.reused = 0
        self._compute_lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        model_id = self.inner.model_id
        vectors: dict[str, np.ndarray] = {}
        self._collect(model_id, texts, vectors)
        computed = 0
        if len(vectors) < len(set(texts)):
            # One thread computes at a time, after a second look-up: concurrent callers never embed a text twice.
            with self._compute_lock:
                missing = self._collect(model_id, texts, vectors)
                if missing:
                    fresh = np.asarray(self.inner.embed_documents(missing), dtype=np.float32)
                    self.cache.put_many(model_id, missing, fresh)
                    vectors.update(zip(missing, fresh, strict=True))
                    computed = len(missing)
                self.computed += computed
                self.reused += len(texts) - computed
        else:
            with self._compute_lock:
                self.reused += len(texts)
        return stack_rows([vectors[t] for t in texts], self.dimension)

    def _collect(self, model_id: str, texts: Sequence[str], vectors: dict[str, np.ndarray]) -> list[str]:
        """Add cached vectors of texts not yet in ``vectors``; return the unique texts still missing."""
        wanted = [t for t in dict.fromkeys(texts) if t not in vectors]
        missing = []
        for text, vector in zip(wanted, self.cache.get_many(model_id, wanted), strict=True):
            if vector is None:
                missing.append(text)
            else:
                vectors[text] = vector
        return missing

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)


def stack_rows(rows: list[np.ndarray], dimension: int) -> np.ndarray:
    """One float32 C-contiguous matrix of ``rows`` (an empty one of width ``dimension`` for no rows)."""
    if not rows:
        return np.empty((0, dimension), dtype=np.float32)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)
