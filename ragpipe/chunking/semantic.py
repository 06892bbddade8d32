"""Semantic chunking: llama-index SemanticSplitterNodeParser over the pipeline's own embedder.

Sentences are embedded (each with ``buffer_size`` neighbours on both sides) and a chunk boundary is
placed where the cosine distance between consecutive sentence groups exceeds the
``breakpoint_percentile_threshold`` percentile of all distances in the document. A semantic chunk
longer than ``max_chunk_size`` tokens is split again with SentenceSplitter so it still fits the
embedder; its pieces share ``semantic_group`` metadata.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ragpipe.chunking.base import (
    OffsetAligner,
    Span,
    align_pieces,
    build_chunks,
    make_sentence_splitter,
    run_splitter,
)
from ragpipe.chunking.llama_embedding import embedding_adapter
from ragpipe.chunking.tokens import Lazy
from ragpipe.config.stages import ChunkerConfig
from ragpipe.protocols import Embedder
from ragpipe.registry import register
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import SemanticSplitterNodeParser, SentenceSplitter

EMBED_BATCH_SIZE = 256  # sentences handed to the embedder per call; it batches further itself


class SemanticChunkerConfig(ChunkerConfig):
    """Boundaries where the meaning shifts, measured with the pipeline's embedder (``embedding`` section)."""

    type: Literal["semantic"] = "semantic"
    buffer_size: int = Field(default=1, ge=0, le=20)
    """Neighbouring sentences on each side embedded together with each sentence (0: the sentence alone)."""
    breakpoint_percentile_threshold: int = Field(default=95, ge=1, le=99)
    """Percentile of sentence-group distances that a boundary must exceed; lower gives more chunks."""
    max_chunk_size: int = Field(default=256, ge=8, le=100_000)
    """Tokens (cl100k_base); longer semantic chunks are split again with SentenceSplitter."""
    chunk_overlap: int = Field(default=20, ge=0)
    """Token overlap used only when a long semantic chunk is split again; < max_chunk_size."""

    def longest_chunk_tokens(self) -> int:
        return self.max_chunk_size

    @model_validator(mode="after")
    def _overlap_below_size(self) -> SemanticChunkerConfig:
        if self.chunk_overlap >= self.max_chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than max_chunk_size ({self.max_chunk_size})"
            )
        return self


@register("chunker", config=SemanticChunkerConfig)
class SemanticChunker:
    """Semantic chunks with exact offsets; uses the pipeline's embedder and never loads a model of its own."""

    def __init__(self, config: SemanticChunkerConfig, embedder: Embedder) -> None:
        self.config = config
        self.embedder = embedder
        self._parsers: Lazy[tuple[SemanticSplitterNodeParser, SentenceSplitter]] = Lazy(self._make_parsers)

    def _make_parsers(self) -> tuple[SemanticSplitterNodeParser, SentenceSplitter]:
        from llama_index.core.node_parser import SemanticSplitterNodeParser
        from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

        cfg = self.config
        semantic = SemanticSplitterNodeParser(
            embed_model=embedding_adapter(self.embedder, batch_size=EMBED_BATCH_SIZE),
            buffer_size=cfg.buffer_size,
            breakpoint_percentile_threshold=cfg.breakpoint_percentile_threshold,
            sentence_splitter=split_by_sentence_tokenizer(),
            include_metadata=False,
            include_prev_next_rel=False,
        )
        return semantic, make_sentence_splitter(cfg.max_chunk_size, cfg.chunk_overlap)

    def chunk(self, document: Document) -> list[Chunk]:
        if not document.text.strip():
            return []
        from llama_index.core.schema import Document as LlamaDocument

        semantic, splitter = self._parsers.get()
        nodes = semantic.get_nodes_from_documents([LlamaDocument(text=document.text)])
        aligner = OffsetAligner(document.text, document.id)
        spans = []
        for group, node in enumerate(n for n in nodes if n.text.strip()):
            start, end = aligner.locate(node.text, (node.start_char_idx, node.end_char_idx))
            text = document.text[start:end]
            pieces = run_splitter(splitter.split_text, text, document.id, "max_chunk_size")
            for piece_start, piece_end in align_pieces(text, pieces, document.id, offset=start):
                spans.append(Span(piece_start, piece_end, {"semantic_group": group}))
        return build_chunks(document, spans)
