"""Hierarchical chunking (llama-index HierarchicalNodeParser): big chunks split into smaller ones.

Level 0 holds chunks of up to ``chunk_sizes[0]`` tokens, level 1 splits each of those into chunks
of up to ``chunk_sizes[1]`` tokens, and so on. Each chunk's ``parent_id`` is the id of the chunk
it was cut from (None at level 0). A chunk whose span equals its parent's (a short parent with a
single child) is kept once, at the parent's level.

``index_levels="leaves"`` returns only the smallest chunks, each with ``parent_start``/``parent_end``
(its parent's span, or its own at level 0) so a generator can widen the context from the document
text; the parent chunks themselves are not returned. ``"all"`` returns every level, ordered by level.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from ragpipe.chunking.base import OffsetAligner, Span, build_chunks, make_sentence_splitter, span_id
from ragpipe.chunking.tokens import Lazy
from ragpipe.config.stages import ChunkerConfig
from ragpipe.registry import register
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import HierarchicalNodeParser


class HierarchicalChunkerConfig(ChunkerConfig):
    """Nested chunks: one SentenceSplitter per level, from the largest chunk size to the smallest."""

    type: Literal["hierarchical"] = "hierarchical"
    chunk_sizes: list[int] = Field(default_factory=lambda: [800, 200], min_length=1, max_length=6)
    """Token sizes (cl100k_base) per level, strictly decreasing."""
    chunk_overlap: int = Field(default=20, ge=0)
    """Token overlap between neighbouring chunks of the same level; < every chunk size."""
    index_levels: Literal["leaves", "all"] = "leaves"
    """'leaves': only the smallest chunks (with their parent's span); 'all': every level."""

    def longest_chunk_tokens(self) -> int:
        """Leaves are at most the smallest size; with every level indexed, the largest level's size."""
        return self.chunk_sizes[0] if self.index_levels == "all" else self.chunk_sizes[-1]

    @model_validator(mode="after")
    def _check_sizes(self) -> HierarchicalChunkerConfig:
        sizes = self.chunk_sizes
        if any(size < 8 for size in sizes) or any(a <= b for a, b in pairwise(sizes)):
            raise ValueError(f"chunk_sizes {sizes} must be strictly decreasing token counts, each >= 8")
        if self.chunk_overlap >= min(sizes):
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than every chunk size {sizes}")
        return self


@dataclass(frozen=True)
class _Placed:
    """One llama-index node mapped to the document: span, level, chunk id and parent chunk id."""

    start: int
    end: int
    level: int
    chunk_id: str
    parent_id: str | None


@register("chunker", config=HierarchicalChunkerConfig)
class HierarchicalChunker:
    """Multi-level chunks with exact offsets and ``parent_id`` links."""

    def __init__(self, config: HierarchicalChunkerConfig) -> None:
        self.config = config
        self._parser: Lazy[HierarchicalNodeParser] = Lazy(self._make_parser)

    def _make_parser(self) -> HierarchicalNodeParser:
        from llama_index.core.node_parser import HierarchicalNodeParser

        ids = [f"level_{level}_size_{size}" for level, size in enumerate(self.config.chunk_sizes)]
        splitters = {
            parser_id: make_sentence_splitter(size, self.config.chunk_overlap)
            for parser_id, size in zip(ids, self.config.chunk_sizes, strict=True)
        }
        return HierarchicalNodeParser(
            node_parser_ids=ids, node_parser_map=splitters, include_metadata=False, include_prev_next_rel=False
        )

    def place(self, document: Document) -> list[_Placed]:
        """Every distinct chunk of every level, in llama-index order (level by level)."""
        from llama_index.core.schema import Document as LlamaDocument

        nodes = self._parser.get().get_nodes_from_documents([LlamaDocument(text=document.text)])
        by_node: dict[str, _Placed] = {}  # llama node id -> its (possibly merged) chunk
        depth: dict[str, int] = {}  # llama node id -> level (index into chunk_sizes)
        aligners: dict[str | None, OffsetAligner] = {None: OffsetAligner(document.text, document.id)}
        placed: dict[str, _Placed] = {}
        for node in nodes:
            if not node.text.strip():
                continue
            parent_node = node.parent_node.node_id if node.parent_node is not None else None
            parent = by_node[parent_node] if parent_node is not None else None
            offset = parent.start if parent is not None else 0
            if parent_node not in aligners and parent is not None:
                aligners[parent_node] = OffsetAligner(document.text[parent.start : parent.end], document.id)
            start, end = aligners[parent_node].locate(node.text, (node.start_char_idx, node.end_char_idx))
            start, end = start + offset, end + offset
            depth[node.node_id] = depth[parent_node] + 1 if parent_node is not None else 0
            chunk_id = span_id(document, start, end)
            parent_id = parent.chunk_id if parent is not None else None
            by_node[node.node_id] = placed.setdefault(
                chunk_id, _Placed(start, end, depth[node.node_id], chunk_id, parent_id)
            )
        return list(placed.values())

    def chunk(self, document: Document) -> list[Chunk]:
        if not document.text.strip():
            return []
        placed = self.place(document)
        if self.config.index_levels == "all":
            ordered = sorted(placed, key=lambda p: (p.level, p.start, p.end))
            return build_chunks(
                document, [Span(p.start, p.end, {"chunk_level": p.level}, p.parent_id) for p in ordered]
            )
        by_id = {p.chunk_id: p for p in placed}
        parents = {p.parent_id for p in placed if p.parent_id is not None}
        spans = []
        for p in sorted(placed, key=lambda p: (p.start, p.end)):
            if p.chunk_id in parents:
                continue
            parent = by_id[p.parent_id] if p.parent_id is not None else p
            metadata = {"chunk_level": p.level, "parent_start": parent.start, "parent_end": parent.end}
            spans.append(Span(p.start, p.end, metadata, p.parent_id))
        return build_chunks(document, spans)
