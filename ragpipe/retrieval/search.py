"""Query execution: embed -> retrieve each leg under the same filter -> fuse -> rerank -> answer."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ragpipe.config.models import PipelineConfigBase
from ragpipe.errors import ConfigError, IndexNotFoundError
from ragpipe.factory import Components
from ragpipe.filters import FilterExpr, combine, parse_filter
from ragpipe.types import Answer, Hit, QueryResult, ScoredChunk

MODES = ("hybrid", "dense", "lexical")


def _single_leg(leg: str, hits: list[Hit], top_k: int) -> list[ScoredChunk]:
    """One leg needs no fusion: its own scores and ranks are the result."""
    return [ScoredChunk(h.chunk, h.score, {leg: h.score}, {leg: rank}) for rank, h in enumerate(hits[:top_k], 1)]


class Searcher:
    def __init__(self, config: PipelineConfigBase, components: Components) -> None:
        self.config: Any = config
        self.c = components
        self._base_filter = parse_filter(self.config.retrieval.filters, "retrieval.filters")

    def search(
        self,
        text: str,
        filters: Mapping[str, Any] | str | FilterExpr | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        answer: bool = True,
    ) -> QueryResult:
        if not text.strip():
            raise ConfigError("query text is empty")
        retrieval = self.config.retrieval
        mode = mode or retrieval.mode
        if mode not in MODES:
            raise ConfigError(f"retrieval mode {mode!r} is not valid; allowed: {', '.join(MODES)}")
        top_k = top_k or retrieval.top_k
        if top_k < 1:
            raise ConfigError(f"top_k must be >= 1, got {top_k}")
        if self.c.catalog.count_chunks() == 0:
            raise IndexNotFoundError(
                f"the index {self.c.context.index_root or self.c.context.index_dir} is empty; "
                "run `ragpipe ingest` with this config first"
            )
        extra = filters if isinstance(filters, FilterExpr) else parse_filter(filters, "filters")
        flt = combine(self._base_filter, extra)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        legs: dict[str, list[Hit]] = {}
        if mode in ("hybrid", "dense"):
            t = time.perf_counter()
            vector = self.c.embedder.embed_queries([text])[0]
            timings["embed_query"] = time.perf_counter() - t
            t = time.perf_counter()
            legs["dense"] = self.c.store.search_dense(vector, retrieval.dense_top_k, flt)
            timings["dense"] = time.perf_counter() - t
        if mode in ("hybrid", "lexical"):
            t = time.perf_counter()
            legs["lexical"] = self.c.lexical.search(text, retrieval.lexical_top_k, flt)
            timings["lexical"] = time.perf_counter() - t
        candidates = max(top_k, getattr(self.config.rerank, "top_n", top_k))
        t = time.perf_counter()
        if len(legs) == 1:
            ((leg, hits),) = legs.items()
            fused = _single_leg(leg, hits, candidates)
        else:
            fused = self.c.fuser.fuse(legs, candidates)
        timings["fusion"] = time.perf_counter() - t
        t = time.perf_counter()
        ranked = self.c.reranker.rerank(text, fused)[:top_k]
        timings["rerank"] = time.perf_counter() - t
        t = time.perf_counter()

        result_answer = self.c.generator.answer(text, ranked) if answer else Answer("")
        timings["answer"] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - started
        return QueryResult(query=text, chunks=tuple(ranked), answer=result_answer, timings=timings)
