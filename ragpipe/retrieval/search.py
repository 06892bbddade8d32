"""Query execution: embed -> retrieve each leg under the same filter -> fuse -> rerank -> answer.

The one query path: :meth:`ragpipe.pipeline.Pipeline.query`, the CLI and evaluation all run
:func:`run_query` over the stages of a config and the open state of one index generation.
"""

from __future__ import annotations

import time

from ragpipe.errors import IndexNotFoundError
from ragpipe.factory import QueryStages
from ragpipe.index_state import IndexState
from ragpipe.retrieval.request import QueryRequest
from ragpipe.types import Answer, Hit, QueryResult, ScoredChunk


def _single_leg(leg: str, hits: list[Hit], top_k: int | None) -> list[ScoredChunk]:
    """One leg needs no fusion: its own scores and ranks are the result."""
    kept = hits if top_k is None else hits[:top_k]
    return [ScoredChunk(h.chunk, h.score, {leg: h.score}, {leg: rank}) for rank, h in enumerate(kept, 1)]


def run_query(stages: QueryStages, state: IndexState, request: QueryRequest) -> QueryResult:
    """Answer ``request`` from ``state`` (a published generation) with ``stages`` (its config's)."""
    if state.facts.empty or state.store is None or state.lexical is None:
        raise IndexNotFoundError(f"the index {state.root} is empty; run `ragpipe ingest` with this config first")
    retrieval = stages.config.retrieval
    timings: dict[str, float] = {}
    started = time.perf_counter()
    legs: dict[str, list[Hit]] = {}
    if request.mode in ("hybrid", "dense"):
        t = time.perf_counter()
        vector = stages.embedder.embed_queries([request.text])[0]
        timings["embed_query"] = time.perf_counter() - t
        t = time.perf_counter()
        legs["dense"] = state.store.search_dense(vector, retrieval.dense_top_k, request.filters)
        timings["dense"] = time.perf_counter() - t
    if request.mode in ("hybrid", "lexical"):
        t = time.perf_counter()
        legs["lexical"] = state.lexical.search(request.text, retrieval.lexical_top_k, request.filters)
        timings["lexical"] = time.perf_counter() - t
    # Every candidate when the full ranking is wanted; else as many as the reranker looks at.
    depth = None if request.full_ranking else stages.config.rerank.candidates(request.top_k)
    t = time.perf_counter()
    if len(legs) == 1:
        ((leg, hits),) = legs.items()
        fused = _single_leg(leg, hits, depth)
    else:
        fused = stages.fuser.fuse(legs, depth if depth is not None else sum(len(h) for h in legs.values()))
    timings["fusion"] = time.perf_counter() - t
    t = time.perf_counter()
    ranking = stages.reranker.rerank(request.text, fused)
    ranked = ranking[: request.top_k]
    timings["rerank"] = time.perf_counter() - t
    t = time.perf_counter()
    answer = stages.generator.answer(request.text, ranked) if request.answer else Answer("")
    timings["answer"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started
    return QueryResult(
        query=request.text,
        chunks=tuple(ranked),
        answer=answer,
        timings=timings,
        index=state.label,
        ranking=tuple(ranking) if request.full_ranking else (),
    )
