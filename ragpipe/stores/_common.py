"""What the Qdrant stores do alike around their engine calls: config fields, points, hits, batches.

Each store keeps only its engine's calls; the engine-neutral steps around them live here, so the
``qdrant`` (qdrant-client) and ``qdrant-edge`` stores build points and read hits the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, Field

from ragpipe.config.base import QUERY_TIME
from ragpipe.stores._payload import (
    DENSE,
    DOC_ID_KEY,
    SPARSE,
    PayloadSchema,
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

PAYLOAD_INDEXES_FIELD = "store.payload_indexes"
DELETE_BATCH_SIZE = 1000

PayloadIndexSpecs = Annotated[list[str], AfterValidator(lambda v: check_payload_indexes(v, PAYLOAD_INDEXES_FIELD))]
"""The ``payload_indexes`` config field: ``"field"`` (keyword) or ``"field:integer|float|bool|keyword"``."""


SERVER_HNSW_M = 16  # Qdrant's default ``m``, assumed for a server collection

ExactSearch = Literal["auto", "always", "never"]


def exact_search_field() -> Any:
    """The ``exact_search`` config field of the Qdrant stores (see :func:`exact_search_reason`)."""
    return Field(default="auto", json_schema_extra=QUERY_TIME)


def hnsw_trap(repeats: int, hnsw_m: int) -> bool:
    """True if ``repeats`` identical vectors can fill a node's HNSW links and trap the search among them."""
    return repeats > hnsw_m


def exact_search_reason(mode: ExactSearch, repeats: int, hnsw_m: int) -> str | None:
    """Why a dense query should be brute force, or None: ``mode`` 'always'/'never', or 'auto': when a chunk
    text occurs more than ``hnsw_m`` times (``repeats``, recorded when the generation was published). In
    Qdrant's HNSW (qdrant-edge-py 0.9) a group of identical vectors fills its links with copies of itself and
    traps the searches entering it (qdrant/qdrant#1788): a 50 MB log of repeated paragraphs hid the one
    relevant chunk of a second file."""
    if mode == "always":
        return "store.exact_search is 'always'"
    if mode == "auto" and hnsw_trap(repeats, hnsw_m):
        return (
            f"a chunk text occurs {repeats} times in the index (more than hnsw_m={hnsw_m}); identical vectors "
            "trap HNSW searches, so dense search runs brute force (exact) on this index. Set "
            "store.exact_search: never to use HNSW anyway"
        )
    return None


def wanted_payload_indexes(specs: Sequence[str]) -> list[tuple[str, PayloadSchema]]:
    """Every payload index a store keeps: ``doc_id`` (keyword), then the configured ones."""
    wanted: list[tuple[str, PayloadSchema]] = [(DOC_ID_KEY, "keyword")]
    wanted += [parse_payload_index(s, PAYLOAD_INDEXES_FIELD) for s in specs]
    return wanted


def dense_rows(chunks: Sequence[Chunk], dense: np.ndarray, sparse: Sequence[SparseVector] | None) -> list[list[float]]:
    """Check an upsert batch and return its dense matrix as float32 rows (empty when there are no chunks)."""
    import numpy as np

    check_batch(chunks, dense, sparse)
    if not chunks:
        return []
    return np.asarray(dense, dtype=np.float32).tolist()


def point_batches(
    chunks: Sequence[Chunk],
    rows: list[list[float]],
    sparse: Sequence[SparseVector] | None,
    batch_size: int,
    engine_sparse: Callable[[list[int], list[float]], Any],
    engine_point: Callable[[uuid.UUID, dict[str, Any], dict[str, Any]], Any],
) -> Iterator[list[Any]]:
    """The engine's points of an upsert, ``batch_size`` at a time, each built when its batch is reached.

    ``engine_sparse(indices, values)`` builds the engine's sparse vector (an empty one is left out),
    ``engine_point(id, named vectors, payload)`` the engine's point.
    """
    for part in batches(len(chunks), batch_size):
        points = []
        for i in range(part.start, part.stop):
            vector: dict[str, Any] = {DENSE: rows[i]}
            if sparse is not None and sparse[i].indices:
                vector[SPARSE] = engine_sparse(list(sparse[i].indices), list(sparse[i].values))
            points.append(engine_point(point_id(chunks[i].id), vector, chunk_to_payload(chunks[i])))
        yield points


def doc_id_batches(doc_ids: Sequence[str]) -> list[list[str]]:
    """The distinct ``doc_ids`` (first occurrence order) in batches for delete-by-filter calls."""
    ids = list(dict.fromkeys(doc_ids))
    return [ids[part] for part in batches(len(ids), DELETE_BATCH_SIZE)]


def dense_query(vector: np.ndarray) -> list[float]:
    """A dense query vector as a flat list of float32 values."""
    import numpy as np

    return np.asarray(vector, dtype=np.float32).reshape(-1).tolist()


def hits(points: Iterable[Any]) -> list[Hit]:
    """Hits from scored points that carry a ragpipe chunk payload (``.payload``, ``.score``), best first and
    equal scores in chunk-id order (the engine returns ties in storage order, which depends on the index's
    history)."""
    found = [Hit(chunk=payload_to_chunk(p.payload), score=float(p.score)) for p in points]
    return sorted(found, key=lambda h: (-h.score, h.chunk.id))
