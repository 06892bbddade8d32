"""Lexical retrieval disabled: dense-only pipelines."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from ragpipe.config.stages import LexicalConfig
from ragpipe.filters import FilterExpr
from ragpipe.registry import register
from ragpipe.types import Chunk, Hit


class NoLexicalConfig(LexicalConfig):
    """No keyword index: the lexical leg returns nothing."""

    type: Literal["none"] = "none"


@register("lexical", config=NoLexicalConfig)
class NoLexicalIndex:
    """Stores nothing, finds nothing."""

    def __init__(self, config: NoLexicalConfig) -> None:
        self.config = config

    def open(self) -> None:
        return None

    def encode(self, chunks: Sequence[Chunk]) -> None:
        return None

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        return None

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        return []
