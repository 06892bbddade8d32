"""Sentence-aware chunking with llama-index's SentenceSplitter (paragraphs, then sentences, then words)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ragpipe.chunking.base import TokenWindowConfig, make_sentence_splitter, split_document
from ragpipe.chunking.tokens import Lazy
from ragpipe.registry import register
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter


class SentenceChunkerConfig(TokenWindowConfig):
    """Chunks of whole sentences up to ``chunk_size`` tokens, with ``chunk_overlap`` tokens of overlap.

    The overlap is made of whole sentences (or sentence pieces) from the end of the previous chunk
    that fit in ``chunk_overlap`` tokens, so a chunk after a long sentence may have none.
    """

    type: Literal["sentence"] = "sentence"


@register("chunker", config=SentenceChunkerConfig)
class SentenceChunker:
    """Splits a document with SentenceSplitter; chunk offsets are exact."""

    def __init__(self, config: SentenceChunkerConfig) -> None:
        self.config = config
        self._splitter: Lazy[SentenceSplitter] = Lazy(self._make_splitter)

    def _make_splitter(self) -> SentenceSplitter:
        return make_sentence_splitter(self.config.chunk_size, self.config.chunk_overlap)

    def chunk(self, document: Document) -> list[Chunk]:
        return split_document(document, self._splitter.get().split_text)
