"""The ``none`` reranker: keeps the retrieval order and scores as they are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from ragpipe.config.stages import RerankerConfig
from ragpipe.registry import register
from ragpipe.types import ScoredChunk


class NoRerankerConfig(RerankerConfig):
    """No reranking: the fused retrieval ranking is final."""

    type: Literal["none"] = "none"


@register("reranker", config=NoRerankerConfig)
class NoReranker:
    """Returns its input unchanged (as a new list)."""

    def __init__(self, config: NoRerankerConfig) -> None:
        self.config = config

    def rerank(self, query: str, chunks: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """The chunks in the order they came in."""
        return list(chunks)
