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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from ragpipe.config.base import QUERY_TIME, StageConfig
from ragpipe.context import BuildContext
from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.registry import register
from ragpipe.stores._client_filters import client_doc_ids_filter, client_filter
from ragpipe.stores._payload import (
    DENSE,
    DOC_ID_KEY,
    SPARSE,
    batches,
    check_batch,
    check_payload_indexes,
    chunk_to_payload,
    parse_payload_index,
    payload_to_chunk,
    point_id,
)
from ragpipe.types import Chunk, Hit, SparseVector

if TYPE_CHECKING:
    import numpy as np

    from ragpipe.filters import FilterExpr

LOCAL_DIR = "qdrant-local"


class QdrantConfig(StageConfig):
    """Qdrant through qdrant-client: the server at ``RAGPIPE_QDRANT_URL``, else local mode."""

    type: Literal["qdrant"] = "qdrant"
    location: Literal["disk", "memory"] = "disk"
    """Local mode only: ``disk`` = ``<index_dir>/qdrant-local``, ``memory`` = nothing persisted."""
    collection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    """Collection name; null = ``<pipeline name>-<index fingerprint>``."""
    prefer_grpc: bool = Field(default=False, json_schema_extra=QUERY_TIME)
    """Server only: use gRPC instead of REST."""
    timeout: float = Field(default=30.0, gt=0, json_schema_extra=QUERY_TIME)
    """Server only: request timeout in seconds."""
    payload_indexes: list[str] = Field(default_factory=list)
    """Server only (local mode ignores indexes): ``"field"`` (keyword) or ``"field:integer|float|bool|keyword"``;
    ``doc_id`` is always indexed."""
    search_ef: int | None = Field(default=None, ge=1, json_schema_extra=QUERY_TIME)
    """Server only: HNSW search-time candidate list size; null = the server's default."""
    upsert_batch_size: int = Field(default=256, ge=1, json_schema_extra=QUERY_TIME)
    """Points per upsert request."""

    @field_validator("payload_indexes")
    @classmethod
    def _check_indexes(cls, value: list[str]) -> list[str]:
        return check_payload_indexes(value, "store.payload_indexes")


@register("store", config=QdrantConfig)
class QdrantStore:
    """Dense ("dense", cosine) and sparse ("sparse", IDF modifier) named vectors in one collection."""

    supports_sparse = True

    def __init__(self, config: QdrantConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._lock = threading.RLock()
        self._client: Any = None
        self._has_collection = False

    @property
    def collection(self) -> str:
        if self.config.collection:
            return self.config.collection
        return f"{self.context.index_dir.parent.name}-{self.context.index_dir.name}"

    @property
    def is_local(self) -> bool:
        return not self.context.settings.qdrant_url

    # ------------------------------------------------------------------ lifecycle

    def _connect(self) -> Any:
        """The client, created on first use (server by URL, else local mode)."""
        with self._lock:
            if self._client is not None:
                return self._client
            from qdrant_client import QdrantClient

            settings = self.context.settings
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
                path = self.context.index_dir / LOCAL_DIR
                path.mkdir(parents=True, exist_ok=True)
                try:  # calls are serialized by self._lock, so the SQLite handle may cross threads
                    client = QdrantClient(path=str(path), force_disable_check_same_thread=True)
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
            wanted = [(DOC_ID_KEY, "keyword")]
            wanted += [parse_payload_index(s, "store.payload_indexes") for s in self.config.payload_indexes]
            for key, schema in wanted:
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
        import numpy as np
        from qdrant_client import models

        check_batch(chunks, dense, sparse)
        if not chunks:
            return
        rows = np.asarray(dense, dtype=np.float32).tolist()
        with self._lock:
            client = self._ensure_collection(len(rows[0]))
            for part in batches(len(chunks), self.config.upsert_batch_size):
                points = []
                for i in range(part.start, part.stop):
                    vector: dict[str, Any] = {DENSE: rows[i]}
                    if sparse is not None and sparse[i].indices:
                        vector[SPARSE] = models.SparseVector(
                            indices=list(sparse[i].indices), values=list(sparse[i].values)
                        )
                    points.append(
                        models.PointStruct(
                            id=str(point_id(chunks[i].id)), vector=vector, payload=chunk_to_payload(chunks[i])
                        )
                    )
                client.upsert(self.collection, points=points, wait=True)

    def delete_documents(self, doc_ids: Sequence[str]) -> None:
        from qdrant_client import models

        ids = list(dict.fromkeys(doc_ids))
        with self._lock:
            client = self._connect()
            if not self._has_collection or not ids:
                return
            for part in batches(len(ids), 1000):
                selector = models.FilterSelector(filter=client_doc_ids_filter(ids[part]))
                client.delete(self.collection, points_selector=selector, wait=True)

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        with self._lock:
            client = self._connect()
            return int(client.count(self.collection, exact=True).count) if self._has_collection else 0

    def search_dense(self, vector: np.ndarray, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        import numpy as np

        return self._query(np.asarray(vector, dtype=np.float32).reshape(-1).tolist(), DENSE, top_k, flt)

    def search_sparse(self, vector: SparseVector, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        from qdrant_client import models

        if not vector.indices:
            return []
        query = models.SparseVector(indices=list(vector.indices), values=list(vector.values))
        return self._query(query, SPARSE, top_k, flt)

    def _query(self, query: Any, using: str, top_k: int, flt: FilterExpr | None) -> list[Hit]:
        from qdrant_client import models

        params = models.SearchParams(hnsw_ef=self.config.search_ef) if self.config.search_ef else None
        with self._lock:
            client = self._connect()
            if not self._has_collection:
                return []
            response = client.query_points(
                self.collection,
                query=query,
                using=using,
                query_filter=client_filter(flt),
                search_params=params,
                limit=top_k,
                with_payload=True,
            )
        return [Hit(chunk=payload_to_chunk(p.payload), score=float(p.score)) for p in response.points]
