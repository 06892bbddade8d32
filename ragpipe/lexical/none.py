"""Lexical retrieval disabled: dense-only pipelines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from ragpipe.config.base import StageConfig
from ragpipe.context import BuildContext
from ragpipe.filters import FilterExpr
from ragpipe.registry import register
from ragpipe.types import Chunk, Hit


class NoLexicalConfig(StageConfig):
    """No keyword index: the lexical leg returns nothing."""

    type: Literal["none"] = "none"


@register("lexical", config=NoLexicalConfig)
class NoLexicalIndex:
    """Stores nothing, finds nothing."""

    def __init__(self, config: NoLexicalConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context

    def encode(self, chunks: Sequence[Chunk]) -> None:
        return None

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        return None

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        return []
