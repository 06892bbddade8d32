"""``qdrant-edge``: Qdrant's Rust engine in process (qdrant-edge-py), the default embedded store.

The shard lives in ``<generation>/qdrant-edge`` (see :mod:`ragpipe.generations`); a writer creates it on the
first write (dimension taken from the first vectors) or loads it if the folder holds one. Qdrant Edge allows
one open shard per directory and needs write access to it: a reader of a published generation that another
process holds, or that lies on a read-only file system, opens a private copy of it; a writer that finds its
folder held raises a :class:`RagpipeError` saying so. A published shard that cannot be loaded, or holds
fewer points than its catalog's chunks, raises :class:`~ragpipe.errors.IndexDamagedError`.

Caveats of qdrant-edge-py 0.9.0: ``optimize()`` (run by :meth:`QdrantEdgeStore.flush`, it builds
HNSW) holds the GIL for its whole run, so by default it runs in a child process; nothing builds HNSW
until it runs (searches stay exact, brute force, until then); there is no bulk-array upsert, so
building points dominates ingest.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ragpipe.config.base import QUERY_TIME
from ragpipe.config.stages import StoreConfig
from ragpipe.errors import IndexDamagedError, RagpipeError
from ragpipe.index_location import IndexLocation
from ragpipe.registry import register
from ragpipe.stores._common import (
    ExactSearch,
    PayloadIndexSpecs,
    dense_query,
    dense_rows,
    doc_id_batches,
    exact_search_field,
    exact_search_reason,
    hits,
    point_batches,
    wanted_payload_indexes,
)
from ragpipe.stores._edge_child import open_replica, optimize_in_child
from ragpipe.stores._edge_engine import engine_failure, filter_models, payload_index_params, shard_config
from ragpipe.stores._payload import DENSE, SPARSE, engine_doc_ids_filter, engine_filter
from ragpipe.types import Chunk, Hit, SparseVector

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.filters import FilterExpr

SHARD_DIR = "qdrant-edge"


class QdrantEdgeConfig(StoreConfig):
    """Embedded Qdrant Edge shard in the index folder (no server)."""

    supports_sparse = True
    type: Literal["qdrant-edge"] = "qdrant-edge"
    hnsw_m: int = Field(default=16, ge=4, le=128)
    """HNSW edges per node (used when the shard is created)."""
    hnsw_ef_construct: int = Field(default=100, ge=4)
    """HNSW build-time candidate list size (used when the shard is created)."""
    search_ef: int | None = Field(default=None, ge=1, json_schema_extra=QUERY_TIME)
    """HNSW search-time candidate list size; null = the engine's default."""
    exact_search: ExactSearch = exact_search_field()
    """Dense search by brute force: 'auto' (when one chunk text repeats more than ``hnsw_m`` times, which
    traps HNSW searches), 'always' or 'never'. Brute force costs ~12 ms per query at 59k chunks on 2 cores."""
    payload_indexes: PayloadIndexSpecs = Field(default_factory=list)
    """Metadata fields to index, ``"field"`` (keyword) or ``"field:integer|float|bool|keyword"``;
    ``doc_id`` is always indexed."""
    optimize_on_flush: bool = Field(default=True, json_schema_extra=QUERY_TIME)
    """Run the optimizer (builds HNSW, merges segments, drops deleted points) on every flush. Off, deleted
    points keep counting in the sparse IDF (``qdrant-sparse`` scores) and unindexed vectors are brute-forced."""
    optimize_in_subprocess: bool = Field(default=True, json_schema_extra=QUERY_TIME)
    """Run the optimizer in a child process: in process it holds the GIL (stalling every other thread,
    e.g. queries) for its whole run."""
    upsert_batch_size: int = Field(default=1000, ge=1, json_schema_extra=QUERY_TIME)
    """Points per engine update call."""


@register("store", config=QdrantEdgeConfig)
class QdrantEdgeStore:
    """Dense ("dense", cosine) and sparse ("sparse", IDF modifier) vectors in one Qdrant Edge shard."""

    def __init__(self, config: QdrantEdgeConfig, location: IndexLocation) -> None:
        self.config = config
        self.location = location
        self.path = location.folder / SHARD_DIR
        self._exact_reason = exact_search_reason(config.exact_search, location.max_text_repeats, config.hnsw_m)
        self._lock = threading.RLock()
        self._shard: Any = None
        self._replica: Path | None = None

    # ------------------------------------------------------------------ lifecycle

    def open(self, chunks: int) -> None:
        """Load a published shard now, count its points and read one with its vectors and payload; a damaged
        shard (missing, not loadable, emptied files, points missing) raises IndexDamagedError naming it."""
        from qdrant_edge import CountRequest, ScrollRequest

        with self._lock:
            shard = self._open(None)
            if shard is None:
                raise IndexDamagedError(str(self.path), f"the shard is missing (the catalog records {chunks} chunks)")
            try:
                points = int(shard.count(CountRequest(exact=True)))
                shard.scroll(ScrollRequest(limit=1, with_payload=True, with_vector=True))
            except BaseException as exc:
                if not engine_failure(exc):
                    raise
                raise IndexDamagedError(str(self.path), f"Qdrant Edge cannot read its points: {exc}") from None
        if points != chunks:
            raise IndexDamagedError(str(self.path), f"holds {points} points but the catalog records {chunks} chunks")

    def exact_search_reason(self) -> str | None:
        return self._exact_reason

    def _open(self, dimension: int | None) -> Any:
        """The open shard; loaded if it exists, else created when ``dimension`` is given, else None."""
        with self._lock:
            if self._shard is not None:
                return self._shard
            exists = self.path.is_dir() and any(self.path.iterdir())
            if not exists and dimension is None:
                return None
            if not self.location.writable:
                self._shard = self._open_published()
                return self._shard
            from qdrant_edge import EdgeShard

            try:
                if exists:
                    shard = EdgeShard.load(str(self.path))
                else:
                    shard = EdgeShard.create(str(self.path), shard_config(dimension, self.config))
            except BaseException as exc:
                if not engine_failure(exc):
                    raise
                raise self._open_error(exc) from exc
            self._ensure_payload_indexes(shard)
            self._shard = shard
            return shard

    def _open_published(self) -> Any:
        """Load a published shard: in place, or as a private copy when another process holds it or the
        folder is read-only. A shard that does not load is damaged."""
        from qdrant_edge import EdgeShard

        try:
            return EdgeShard.load(str(self.path))
        except BaseException as exc:
            if not engine_failure(exc):
                raise
            if "WouldBlock" not in str(exc) and os.access(self.path, os.W_OK):
                raise IndexDamagedError(str(self.path), f"Qdrant Edge cannot load the shard: {exc}") from None
        try:
            shard, self._replica = open_replica(self.path, self.location.scratch_root())
        except BaseException as exc:
            if not engine_failure(exc):
                raise
            raise IndexDamagedError(str(self.path), f"Qdrant Edge cannot load the shard: {exc}") from None
        return shard

    def _ensure_payload_indexes(self, shard: Any) -> None:
        """Create missing payload indexes (before points arrive, with HNSW sub-graphs disabled)."""
        from qdrant_edge import UpdateOperation

        existing = set(shard.info().payload_schema)
        for key, schema in wanted_payload_indexes(self.config.payload_indexes):
            if key not in existing:
                shard.update(UpdateOperation.create_field_index(key, payload_index_params(schema)))
                existing.add(key)

    def _open_error(self, exc: Exception) -> RagpipeError:
        if "WouldBlock" in str(exc):
            return RagpipeError(
                f"the qdrant-edge index at {self.path} is already open in another process (or another store "
                "object in this one): Qdrant Edge allows one open shard per folder. Stop the other ragpipe "
                "process (e.g. a running server or ingest) and retry, or use the `qdrant` store with a Qdrant "
                "server for concurrent access."
            )
        return RagpipeError(f"cannot open the qdrant-edge index at {self.path}: {exc}")

    def close(self) -> None:
        """Release the shard (idempotent); a later call reopens it."""
        with self._lock:
            shard, self._shard = self._shard, None
            replica, self._replica = self._replica, None
            if shard is not None:
                shard.close()
            if replica is not None:
                shutil.rmtree(replica, ignore_errors=True)

    def flush(self) -> None:
        """Persist every write; with ``optimize_on_flush`` also build HNSW (in a child process by default)."""
        with self._lock:
            shard = self._open(None)
            if shard is None:
                return
            shard.flush()
            if not self.config.optimize_on_flush:
                return
            if not self.config.optimize_in_subprocess:
                shard.optimize()
                return
            self.close()  # the child needs the folder; the shard reopens lazily
            optimize_in_child(self.path)

    # ------------------------------------------------------------------ writes

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVector] | None = None) -> None:
        from qdrant_edge import Point, UpdateOperation
        from qdrant_edge import SparseVector as EdgeSparse

        rows = dense_rows(chunks, dense, sparse)
        if not rows:
            return
        with self._lock:
            shard = self._open(len(rows[0]))
            for points in point_batches(chunks, rows, sparse, self.config.upsert_batch_size, EdgeSparse, Point):
                try:
                    shard.update(UpdateOperation.upsert_points(points))
                except Exception as exc:
                    raise RagpipeError(f"qdrant-edge index at {self.path} rejected an upsert: {exc}") from exc

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        from qdrant_edge import UpdateOperation

        parts = doc_id_batches(doc_ids)
        with self._lock:
            shard = self._open(None)
            if shard is None or not parts:
                return
            for ids in parts:
                shard.update(UpdateOperation.delete_points_by_filter(engine_doc_ids_filter(ids, filter_models())))

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        from qdrant_edge import CountRequest

        with self._lock:
            shard = self._open(None)
            return 0 if shard is None else int(shard.count(CountRequest(exact=True)))

    def search_dense(self, vector: np.ndarray, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        from qdrant_edge import Query

        exact = self._exact_reason is not None
        return self._query(Query.Nearest(dense_query(vector), using=DENSE), top_k, flt, exact=exact)

    def search_sparse(self, vector: SparseVector, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        from qdrant_edge import Query
        from qdrant_edge import SparseVector as EdgeSparse

        if not vector.indices:
            return []
        query = EdgeSparse(list(vector.indices), list(vector.values))
        return self._query(Query.Nearest(query, using=SPARSE), top_k, flt)

    def _query(self, query: Any, top_k: int, flt: FilterExpr | None, exact: bool = False) -> list[Hit]:
        from qdrant_edge import QueryRequest, SearchParams

        params = SearchParams(hnsw_ef=self.config.search_ef, exact=exact) if self.config.search_ef or exact else None
        request = QueryRequest(
            limit=top_k,
            query=query,
            filter=engine_filter(flt, filter_models()),
            with_payload=True,
            with_vector=False,
            params=params,
        )
        with self._lock:
            shard = self._open(None)
            if shard is None:
                return []
            try:
                points = shard.query(request)
            except BaseException as exc:
                if not engine_failure(exc):
                    raise
                raise IndexDamagedError(str(self.path), f"Qdrant Edge failed a query: {exc}") from None
        return hits(points)
