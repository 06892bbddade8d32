"""``qdrant-edge``: Qdrant's Rust engine in process (qdrant-edge-py), the default embedded store.

The shard lives in ``<index_dir>/qdrant-edge`` (``index_dir`` = one index generation, see
:mod:`ragpipe.generations`); it is created on the first write (dimension taken from the first
vectors) or loaded if the folder holds one. Qdrant Edge allows one open shard per directory: a
reader of a published generation that another process holds opens a private copy of it; a writer
that finds its folder held raises a :class:`RagpipeError` saying so.

Caveats of qdrant-edge-py 0.9.0: ``optimize()`` (run by :meth:`QdrantEdgeStore.flush`, it builds
HNSW) holds the GIL for its whole run, so by default it runs in a child process; nothing builds HNSW
until it runs (searches stay exact, brute force, until then); there is no bulk-array upsert, so
building points dominates ingest.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ragpipe.config.base import QUERY_TIME, StageConfig
from ragpipe.context import BuildContext
from ragpipe.errors import RagpipeError
from ragpipe.registry import register
from ragpipe.stores._common import (
    ExactSearch,
    PayloadIndexSpecs,
    dense_query,
    dense_rows,
    dense_search_exact,
    doc_id_batches,
    exact_search_field,
    hits,
    point_batches,
    wanted_payload_indexes,
)
from ragpipe.stores._edge_child import REPLICAS, open_replica, optimize_in_child
from ragpipe.stores._payload import DENSE, SPARSE, FilterModels, engine_doc_ids_filter, engine_filter
from ragpipe.types import Chunk, Hit, SparseVector

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.filters import FilterExpr

SHARD_DIR = "qdrant-edge"


class QdrantEdgeConfig(StageConfig):
    """Embedded Qdrant Edge shard in the index folder (no server)."""

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

    supports_sparse = True

    def __init__(self, config: QdrantEdgeConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._lock = threading.RLock()
        self._shard: Any = None
        self._replica: Path | None = None
        self._exact: bool | None = None

    @property
    def path(self) -> Path:
        return self.context.index_dir / SHARD_DIR

    # ------------------------------------------------------------------ lifecycle

    def _open(self, dimension: int | None) -> Any:
        """The open shard; loaded if it exists, else created when ``dimension`` is given, else None."""
        with self._lock:
            if self._shard is not None:
                return self._shard
            exists = self.path.is_dir() and any(self.path.iterdir())
            if not exists and dimension is None:
                return None
            from qdrant_edge import EdgeShard

            try:
                if dimension is None or exists:
                    shard = EdgeShard.load(str(self.path))
                else:
                    shard = EdgeShard.create(str(self.path), self._edge_config(dimension))
            except Exception as exc:
                if not (self.context.read_only and "WouldBlock" in str(exc)):
                    raise self._open_error(exc) from exc
                shard, self._replica = self._open_replica()
            self._shard = shard
            if not self.context.read_only:
                self._ensure_payload_indexes(shard)
            return shard

    def _open_replica(self) -> tuple[Any, Path]:
        """Another process holds this published generation: read a private copy of it."""
        root = self.context.index_root or self.context.index_dir
        try:
            return open_replica(self.path, root / REPLICAS)
        except Exception as exc:
            raise self._open_error(exc) from exc

    def _edge_config(self, dimension: int) -> Any:
        from qdrant_edge import (
            Distance,
            EdgeConfig,
            EdgeSparseVectorParams,
            EdgeVectorParams,
            HnswIndexConfig,
            Modifier,
        )

        return EdgeConfig(
            vectors={DENSE: EdgeVectorParams(size=dimension, distance=Distance.Cosine)},
            sparse_vectors={SPARSE: EdgeSparseVectorParams(modifier=Modifier.Idf)},
            hnsw_config=HnswIndexConfig(
                m=self.config.hnsw_m, ef_construct=self.config.hnsw_ef_construct, full_scan_threshold=10000
            ),
        )

    def _ensure_payload_indexes(self, shard: Any) -> None:
        """Create missing payload indexes (before points arrive, with HNSW sub-graphs disabled)."""
        from qdrant_edge import (
            BoolIndexParams,
            FloatIndexParams,
            IntegerIndexParams,
            KeywordIndexParams,
            UpdateOperation,
        )

        params = {
            "keyword": lambda: KeywordIndexParams(enable_hnsw=False),
            "integer": lambda: IntegerIndexParams(lookup=True, range=True, enable_hnsw=False),
            "float": lambda: FloatIndexParams(enable_hnsw=False),
            "bool": lambda: BoolIndexParams(enable_hnsw=False),
        }
        existing = set(shard.info().payload_schema)
        for key, schema in wanted_payload_indexes(self.config.payload_indexes):
            if key not in existing:
                shard.update(UpdateOperation.create_field_index(key, params[schema]()))
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
                shard.update(UpdateOperation.delete_points_by_filter(engine_doc_ids_filter(ids, _filter_models())))

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        from qdrant_edge import CountRequest

        with self._lock:
            shard = self._open(None)
            return 0 if shard is None else int(shard.count(CountRequest(exact=True)))

    def search_dense(self, vector: np.ndarray, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        from qdrant_edge import Query

        if self._exact is None:
            self._exact = dense_search_exact(self.config.exact_search, self.context.catalog, self.config.hnsw_m)
        return self._query(Query.Nearest(dense_query(vector), using=DENSE), top_k, flt, exact=self._exact)

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
            filter=engine_filter(flt, _filter_models()),
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
            except Exception as exc:
                raise RagpipeError(f"qdrant-edge index at {self.path} rejected a query: {exc}") from exc
        return hits(points)


def _filter_models() -> FilterModels:
    """qdrant-edge's filter classes for :func:`engine_filter`."""
    import numpy as np
    from qdrant_edge import FieldCondition, Filter, IsEmptyCondition, MatchAny, MatchValue, RangeFloat

    def match_value(value: str | int | bool) -> Any:
        # qdrant-edge-py 0.9 reads a Python bool as the integer 0/1; numpy.bool_ reaches it as a bool
        return MatchValue(value=np.bool_(value) if isinstance(value, bool) else value)

    return FilterModels(
        filter=Filter,
        field_condition=FieldCondition,
        match_value=match_value,
        match_any=MatchAny,
        range=RangeFloat,
        is_empty=IsEmptyCondition,
    )
