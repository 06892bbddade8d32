"""Qdrant Edge engine objects the store builds: the shard config, payload-index params, filter classes.

- :func:`engine_failure`: whether an exception came from the Rust engine (so the store may report it).
- :func:`shard_config`: the ``EdgeConfig`` of a new shard (dense cosine + sparse IDF vectors, HNSW).
- :func:`payload_index_params`: the engine's index params for a payload-index schema name.
- :func:`filter_models`: qdrant-edge's filter classes for :func:`ragpipe.stores._payload.engine_filter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragpipe.stores._payload import DENSE, SPARSE, FilterModels

if TYPE_CHECKING:
    from ragpipe.stores.qdrant_edge import QdrantEdgeConfig


def engine_failure(exc: BaseException) -> bool:
    """An error raised by the Rust engine: an exception, or a pyo3 panic (which derives from BaseException
    only), never an interrupt or an exit."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def shard_config(dimension: int, config: QdrantEdgeConfig) -> Any:
    """The config of a new shard: ``dimension``-wide cosine dense vectors, IDF sparse vectors, and HNSW as
    ``config`` sets it."""
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
        hnsw_config=HnswIndexConfig(m=config.hnsw_m, ef_construct=config.hnsw_ef_construct, full_scan_threshold=10000),
    )


def payload_index_params(schema: str) -> Any:
    """Index params for a payload-index schema (``keyword``, ``integer``, ``float``, ``bool``), HNSW
    sub-graphs disabled."""
    from qdrant_edge import BoolIndexParams, FloatIndexParams, IntegerIndexParams, KeywordIndexParams

    params = {
        "keyword": lambda: KeywordIndexParams(enable_hnsw=False),
        "integer": lambda: IntegerIndexParams(lookup=True, range=True, enable_hnsw=False),
        "float": lambda: FloatIndexParams(enable_hnsw=False),
        "bool": lambda: BoolIndexParams(enable_hnsw=False),
    }
    return params[schema]()


def filter_models() -> FilterModels:
    """qdrant-edge's filter classes for :func:`~ragpipe.stores._payload.engine_filter`."""
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
