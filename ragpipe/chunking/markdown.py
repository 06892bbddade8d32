"""Structure-aware chunking: one chunk per Markdown section (llama-index MarkdownNodeParser).

Sections longer than ``chunk_size`` tokens are split further with SentenceSplitter. Every chunk
carries ``section``: the heading path of its section, e.g. ``"Deploys > Rollback"`` ("" for text
before the first heading). Any text with ``#`` headings works, including HTML/DOCX rendered to
Markdown-like text; ``#`` lines inside fenced code blocks are not headings.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ragpipe.chunking.base import (
    OffsetAligner,
    Span,
    TokenWindowConfig,
    align_pieces,
    build_chunks,
    make_sentence_splitter,
    run_splitter,
)
from ragpipe.chunking.tokens import Lazy
from ragpipe.registry import register
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

HEADING = re.compile(r"^(#+)\s(.*)")  # the rule MarkdownNodeParser uses
SECTION_SEPARATOR = " > "


class MarkdownChunkerConfig(TokenWindowConfig):
    """One chunk per heading section; sections over ``chunk_size`` tokens are split by sentences."""

    type: Literal["markdown"] = "markdown"
    chunk_size: int = Field(default=256, ge=8, le=100_000)
    """Maximum chunk length in tokens (cl100k_base); longer sections are split with SentenceSplitter."""


def heading_of(section_text: str) -> tuple[int, str] | None:
    """``(level, title)`` of the heading line a section starts with, or None for text before any heading."""
    match = HEADING.match(section_text.split("\n", 1)[0])
    if match is None:
        return None
    title = re.sub(r"\s+#+\s*$", "", match.group(2)).strip()  # drop a closing "##" sequence
    return len(match.group(1)), title


@register("chunker", config=MarkdownChunkerConfig)
class MarkdownChunker:
    """Chunks by Markdown heading sections with exact offsets and a ``section`` heading path."""

    def __init__(self, config: MarkdownChunkerConfig) -> None:
        self.config = config
        self._parsers: Lazy[tuple[MarkdownNodeParser, SentenceSplitter]] = Lazy(self._make_parsers)

    def _make_parsers(self) -> tuple[MarkdownNodeParser, SentenceSplitter]:
        from llama_index.core.node_parser import MarkdownNodeParser

        sections = MarkdownNodeParser(include_metadata=False, include_prev_next_rel=False)
        return sections, make_sentence_splitter(self.config.chunk_size, self.config.chunk_overlap)

    def sections(self, document: Document) -> list[tuple[int, int, str]]:
        """``(start, end, heading path)`` of each non-blank section, in document order.

        A section that is only a heading (e.g. ``# Data`` directly followed by ``## Backups``) is
        joined to the subsection that follows it, so a bare heading becomes no chunk of its own.
        """
        from llama_index.core.schema import Document as LlamaDocument

        parser, _ = self._parsers.get()
        nodes = parser.get_nodes_from_node(LlamaDocument(text=document.text))
        aligner = OffsetAligner(document.text, document.id)
        stack: list[tuple[int, str]] = []
        result: list[tuple[int, int, str]] = []
        pending: tuple[int, int, int, str] | None = None  # heading-only run: start, deepest level, end, path
        for node in nodes:
            start, end = aligner.locate(node.text)
            section_text = document.text[start:end]
            heading = heading_of(section_text)
            if heading is not None:
                while stack and stack[-1][0] >= heading[0]:
                    stack.pop()
                stack.append(heading)
            path = SECTION_SEPARATOR.join(title for _, title in stack if title)
            level = heading[0] if heading is not None else 0
            if pending is not None and level <= pending[1]:  # not a subsection: the bare heading stays alone
                result.append((pending[0], pending[2], pending[3]))
                pending = None
            if heading is not None and "\n" not in section_text:
                pending = (start if pending is None else pending[0], level, end, path)
                continue
            result.append((start if pending is None else pending[0], end, path))
            pending = None
        if pending is not None:
            result.append((pending[0], pending[2], pending[3]))
        return result

    def chunk(self, document: Document) -> list[Chunk]:
        if not document.text.strip():
            return []
        _, splitter = self._parsers.get()
        spans = []
        for start, end, section in self.sections(document):
            pieces = run_splitter(splitter.split_text, document.text[start:end], document.id, "chunk_size")
            for piece_start, piece_end in align_pieces(document.text[start:end], pieces, document.id, offset=start):
                spans.append(Span(piece_start, piece_end, {"section": section}))
        return build_chunks(document, spans)
