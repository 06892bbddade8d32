"""``qdrant``: a Qdrant server or cluster through qdrant-client, or its local mode.

With ``RAGPIPE_QDRANT_URL`` set, the store talks to that server (``RAGPIPE_QDRANT_API_KEY`` if
set). Without it, qdrant-client's local mode runs in process: ``location: disk`` keeps the points
in ``<index_dir>/qdrant-local``, ``memory`` keeps them only as long as the store is open. Local
mode is pure-Python brute force (no HNSW, payload indexes ignored, one SQLite commit per point):
fine for tests and tiny corpora only; use ``qdrant-edge`` for an embedded index of any size.
Every other code path (collection, points, filters, queries) is the same for server and local.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ragpipe.config.base import QUERY_TIME
from ragpipe.config.settings import RuntimeSettings
from ragpipe.config.stages import StoreConfig
from ragpipe.errors import ConfigError, IndexDamagedError, RagpipeError
from ragpipe.index_location import IndexLocation
from ragpipe.registry import register
from ragpipe.stores._common import (
    SERVER_HNSW_M,
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
from ragpipe.stores._payload import DENSE, SPARSE, FilterModels, engine_doc_ids_filter, engine_filter
from ragpipe.types import Chunk, Hit, SparseVector

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.filters import FilterExpr

LOCAL_DIR = "qdrant-local"


class QdrantConfig(StoreConfig):
    """Qdrant through qdrant-client: the server at ``RAGPIPE_QDRANT_URL``, else local mode."""

    supports_sparse = True
    type: Literal["qdrant"] = "qdrant"
    location: Literal["disk", "memory"] = "disk"
    """Local mode only: ``disk`` = ``<index_dir>/qdrant-local``, ``memory`` = nothing persisted."""
    collection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    """Collection name; null = ``<pipeline name>-<index fingerprint>``."""
    prefer_grpc: bool = Field(default=False, json_schema_extra=QUERY_TIME)
    """Server only: use gRPC instead of REST."""
    timeout: float = Field(default=30.0, gt=0, json_schema_extra=QUERY_TIME)
    """Server only: request timeout in seconds."""
    payload_indexes: PayloadIndexSpecs = Field(default_factory=list)
    """Server only (local mode ignores indexes): ``"field"`` (keyword) or ``"field:integer|float|bool|keyword"``;
    ``doc_id`` is always indexed."""
    search_ef: int | None = Field(default=None, ge=1, json_schema_extra=QUERY_TIME)
    """Server only: HNSW search-time candidate list size; null = the server's default."""
    exact_search: ExactSearch = exact_search_field()
    """Server only (local mode is always brute force): dense search by brute force, 'auto' when one chunk
    text repeats more than 16 times (Qdrant's default ``m``: such groups trap HNSW searches), 'always', 'never'."""
    upsert_batch_size: int = Field(default=256, ge=1, json_schema_extra=QUERY_TIME)
    """Points per upsert request."""

    def pipeline_problem(self) -> str | None:
        if self.location == "memory":
            return (
                "store.location: 'memory' keeps points only while one store object is open, so a published index "
                "would lose its dense vectors; use 'disk' (or RAGPIPE_QDRANT_URL for a server)"
            )
        return None


@register("store", config=QdrantConfig)
class QdrantStore:
    """Dense ("dense", cosine) and sparse ("sparse", IDF modifier) named vectors in one collection."""

    def __init__(self, config: QdrantConfig, location: IndexLocation, settings: RuntimeSettings) -> None:
        self.config = config
        self.location = location
        self.settings = settings
        self.collection = config.collection or location.index_name
        self._exact_reason = (
            exact_search_reason(config.exact_search, location.max_text_repeats, SERVER_HNSW_M)
            if settings.qdrant_url
            else None
        )
        self._lock = threading.RLock()
        self._client: Any = None
        self._has_collection = False

    @property
    def is_local(self) -> bool:
        return not self.settings.qdrant_url

    # ------------------------------------------------------------------ lifecycle

    def open(self, chunks: int) -> None:
        """Connect now. In local mode the points live in the generation: a folder that cannot be read, or that
        holds another number of points than ``chunks``, raises IndexDamagedError naming it. A server
        collection lives on the server, written in place by each ingest, so its count is not checked."""
        where = str(self.location.folder / LOCAL_DIR)
        try:
            self._connect()
            points = self.count() if self.is_local and self.config.location == "disk" else chunks
        except RagpipeError:
            raise
        except Exception as exc:
            raise IndexDamagedError(where, f"qdrant local mode: {exc}") from None
        if points != chunks:
            raise IndexDamagedError(where, f"holds {points} points but the catalog records {chunks} chunks")

    def exact_search_reason(self) -> str | None:
        return self._exact_reason

    def _connect(self) -> Any:
        """The client, created on first use (server by URL, else local mode)."""
        with self._lock:
            if self._client is not None:
                return self._client
            from qdrant_client import QdrantClient

            settings = self.settings
            if settings.qdrant_url:
                key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
                client = QdrantClient(
                    url=settings.qdrant_url,
                    api_key=key,
                    prefer_grpc=self.config.prefer_grpc,
                    timeout=self.config.timeout,  # type: ignore[arg-type]
                )
            elif self.config.location == "memory":
                client = QdrantClient(location=":memory:")
            else:
                path = self.location.folder / LOCAL_DIR
                if not self.location.writable and not path.is_dir():  # a published generation is never written
                    raise IndexDamagedError(str(path), "the qdrant local folder is missing")
                path.mkdir(parents=True, exist_ok=True)
                try:  # calls are serialized by self._lock, so the SQLite handle may cross threads
                    client = QdrantClient(path=str(path), force_disable_check_same_thread=True)
                except PermissionError as exc:
                    raise RagpipeError(
                        f"the qdrant local index at {path} cannot be opened: local mode needs write access to its "
                        f"folder (it locks it), even to read; use store.type 'qdrant-edge' or a Qdrant server for a "
                        f"read-only data dir ({exc})"
                    ) from exc
                except RuntimeError as exc:
                    raise RagpipeError(
                        f"the qdrant local index at {path} is already open in another process (or another store "
                        f"object in this one); local mode allows one client per folder. Stop the other process, "
                        f"or set RAGPIPE_QDRANT_URL to use a Qdrant server. ({exc})"
                    ) from exc
            try:
                self._has_collection = client.collection_exists(self.collection)
            except Exception as exc:
                client.close()
                where = settings.qdrant_url or "local mode"
                raise RagpipeError(f"cannot reach Qdrant ({where}) for collection {self.collection!r}: {exc}") from exc
            self._client = client
            return client

    def _ensure_collection(self, dimension: int) -> Any:
        """The client, with the collection created (or its dimension checked) for ``dimension``-d vectors."""
        from qdrant_client import models

        client = self._connect()
        if self._has_collection:
            params = client.get_collection(self.collection).config.params
            size = params.vectors[DENSE].size if isinstance(params.vectors, dict) else None
            if size != dimension:
                raise ConfigError(
                    f"qdrant collection {self.collection!r} holds {size}-d dense vectors, got {dimension}-d: "
                    "the embedder changed; use a new collection (or drop this one) and re-ingest"
                )
            return client
        client.create_collection(
            self.collection,
            vectors_config={DENSE: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
        )
        if not self.is_local:  # local mode ignores payload indexes (and warns about them)
            schemas = {
                "keyword": models.PayloadSchemaType.KEYWORD,
                "integer": models.PayloadSchemaType.INTEGER,
                "float": models.PayloadSchemaType.FLOAT,
                "bool": models.PayloadSchemaType.BOOL,
            }
            for key, schema in wanted_payload_indexes(self.config.payload_indexes):
                client.create_payload_index(self.collection, key, field_schema=schemas[schema], wait=True)
        self._has_collection = True
        return client

    def close(self) -> None:
        """Close the client (idempotent); a later call reconnects (memory mode then starts empty)."""
        with self._lock:
            client, self._client = self._client, None
            self._has_collection = False
            if client is not None:
                client.close()

    def flush(self) -> None:
        """Nothing to do: every upsert waits until the engine has applied it (local mode writes per point)."""

    # ------------------------------------------------------------------ writes

    def upsert(self, chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVector] | None = None) -> None:
        from qdrant_client import models

        rows = dense_rows(chunks, dense, sparse)
        if not rows:
            return

        def point(pid: uuid.UUID, vector: dict[str, Any], payload: dict[str, Any]) -> Any:
            return models.PointStruct(id=str(pid), vector=vector, payload=payload)

        with self._lock:
            client = self._ensure_collection(len(rows[0]))
            for points in point_batches(chunks, rows, sparse, self.config.upsert_batch_size, _sparse_vector, point):
                client.upsert(self.collection, points=points, wait=True)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        from qdrant_client import models

        parts = doc_id_batches(doc_ids)
        with self._lock:
            client = self._connect()
            if not self._has_collection or not parts:
                return
            for ids in parts:
                selector = models.FilterSelector(filter=engine_doc_ids_filter(ids, _filter_models()))
                client.delete(self.collection, points_selector=selector, wait=True)

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        with self._lock:
            client = self._connect()
            return int(client.count(self.collection, exact=True).count) if self._has_collection else 0

    def search_dense(self, vector: np.ndarray, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        return self._query(dense_query(vector), DENSE, top_k, flt, exact=self._exact_reason is not None)

    def search_sparse(self, vector: SparseVector, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        if not vector.indices:
            return []
        return self._query(_sparse_vector(list(vector.indices), list(vector.values)), SPARSE, top_k, flt)

    def _query(self, query: Any, using: str, top_k: int, flt: FilterExpr | None, exact: bool = False) -> list[Hit]:
        from qdrant_client import models

        wanted = self.config.search_ef or exact
        params = models.SearchParams(hnsw_ef=self.config.search_ef, exact=exact) if wanted else None
        with self._lock:
            client = self._connect()
            if not self._has_collection:
                return []
            response = client.query_points(
                self.collection,
                query=query,
                using=using,
                query_filter=engine_filter(flt, _filter_models()),
                search_params=params,
                limit=top_k,
                with_payload=True,
            )
        return hits(response.points)


def _sparse_vector(indices: list[int], values: list[float]) -> Any:
    from qdrant_client import models

    return models.SparseVector(indices=indices, values=values)


def _filter_models() -> FilterModels:
    """qdrant-client's filter classes for :func:`engine_filter`."""
    from qdrant_client import models

    return FilterModels(
        filter=models.Filter,
        field_condition=models.FieldCondition,
        match_value=models.MatchValue,
        match_any=models.MatchAny,
        range=models.Range,
        is_empty=lambda key: models.IsEmptyCondition(is_empty=models.PayloadField(key=key)),
    )
