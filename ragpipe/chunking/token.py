"""Fixed-size token windows with llama-index's TokenTextSplitter (cuts at spaces, then newlines, then characters)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ragpipe.chunking.base import TokenWindowConfig, split_document
from ragpipe.chunking.tokens import Lazy, cl100k_tokenizer
from ragpipe.registry import register
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import TokenTextSplitter


class TokenChunkerConfig(TokenWindowConfig):
    """Windows of up to ``chunk_size`` tokens; consecutive windows share about ``chunk_overlap`` tokens."""

    type: Literal["token"] = "token"


@register("chunker", config=TokenChunkerConfig)
class TokenChunker:
    """Splits a document with TokenTextSplitter; chunk offsets are exact."""

    def __init__(self, config: TokenChunkerConfig) -> None:
        self.config = config
        self._splitter: Lazy[TokenTextSplitter] = Lazy(self._make_splitter)

    def _make_splitter(self) -> TokenTextSplitter:
        from llama_index.core.node_parser import TokenTextSplitter

        return TokenTextSplitter(
            chunk_size=self.config.chunk_size,
            chunk_overlap=self.config.chunk_overlap,
            tokenizer=cl100k_tokenizer(),
            include_metadata=False,
            include_prev_next_rel=False,
        )

    def chunk(self, document: Document) -> list[Chunk]:
        return split_document(document, self._splitter.get().split_text)
