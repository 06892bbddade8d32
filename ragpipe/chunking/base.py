"""Shared helpers of the llama-index chunkers: exact offsets, chunk ids, the fixed-tokenizer sentence splitter.

llama-index splitters return plain strings (stripped, sometimes with whitespace rebuilt), so every
piece is mapped back to a span of the document with :class:`OffsetAligner`; a chunk's text is
always the document slice, never the splitter's string. llama-index is imported inside functions
only, and its global ``Settings`` (which default to OpenAI) are never read or written.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from ragpipe.chunking.tokens import cl100k_tokenizer
from ragpipe.config.stages import ChunkerConfig
from ragpipe.errors import ConfigError, ParseError
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.node_parser import SentenceSplitter


def make_chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Deterministic chunk id: the first 32 hex chars of sha256 over doc id, span and text."""
    blob = f"{doc_id}\x00{start}\x00{end}\x00{text}".encode()
    return hashlib.sha256(blob).hexdigest()[:32]


class TokenWindowConfig(ChunkerConfig):
    """Fields shared by chunkers that cut text into windows of at most ``chunk_size`` tokens."""

    chunk_size: int = Field(default=200, ge=8, le=100_000)
    """Maximum chunk length in tiktoken cl100k_base tokens (llama-index's default tokenizer)."""
    chunk_overlap: int = Field(default=20, ge=0)
    """Tokens repeated between consecutive chunks; must be smaller than chunk_size."""

    def longest_chunk_tokens(self) -> int:
        return self.chunk_size

    @model_validator(mode="after")
    def _overlap_below_size(self) -> TokenWindowConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        return self


@lru_cache(maxsize=1)
def _sentence_splitter_class() -> type[SentenceSplitter]:
    from llama_index.core.node_parser import SentenceSplitter

    class PlainSentenceSplitter(SentenceSplitter):
        """SentenceSplitter that never budgets for node metadata (ours carry none) and so never prints."""

        def split_text_metadata_aware(self, text: str, metadata_str: str) -> list[str]:
            return self.split_text(text)

    return PlainSentenceSplitter


def make_sentence_splitter(chunk_size: int, chunk_overlap: int) -> SentenceSplitter:
    """A llama-index SentenceSplitter with the fixed tokenizer, explicit overlap and no metadata budget."""
    from llama_index.core.utils import globals_helper

    _ = globals_helper.punkt_tokenizer  # load the bundled punkt model now, under the caller's lock
    return _sentence_splitter_class()(
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        tokenizer=cl100k_tokenizer(),
        include_metadata=False,
        include_prev_next_rel=False,
    )


def run_splitter(split: Callable[[str], list[str]], text: str, doc_id: str, field_name: str) -> list[str]:
    """Call a llama-index split function, turning its ValueError into a ConfigError naming the field."""
    try:
        return split(text)
    except ValueError as exc:
        raise ConfigError(f"chunking.{field_name} cannot split document {doc_id!r}: {exc}") from exc


class OffsetAligner:
    """Maps splitter pieces, given in document order, back to ``(start, end)`` spans of ``text``.

    Each span is trimmed of surrounding whitespace and ``text[start:end]`` is the piece up to
    whitespace differences. A hint (e.g. a node's ``start_char_idx``/``end_char_idx``) is used when
    it is correct; otherwise the piece is searched from a cursor just after the previous span's
    start (so overlapping pieces are found), exactly first, then with whitespace runs normalised.
    """

    def __init__(self, text: str, doc_id: str) -> None:
        self.text = text
        self.doc_id = doc_id
        self.cursor = 0

    def locate(self, piece: str, hint: tuple[int | None, int | None] | None = None) -> tuple[int, int]:
        wanted = piece.strip()
        if not wanted:
            raise ParseError(f"document {self.doc_id!r}: a splitter returned a whitespace-only piece")
        span = self._from_hint(wanted, hint) or self._search(wanted, self.cursor) or self._search(wanted, 0)
        if span is None:
            raise ParseError(
                f"document {self.doc_id!r}: chunk text {wanted[:60]!r} not found in the document text; "
                "the splitter changed more than whitespace"
            )
        self.cursor = max(self.cursor, span[0] + 1)
        return span

    def _from_hint(self, wanted: str, hint: tuple[int | None, int | None] | None) -> tuple[int, int] | None:
        if hint is None or hint[0] is None or hint[1] is None:
            return None
        start, end = hint
        if not (self.cursor <= start <= end <= len(self.text)):
            return None
        window = self.text[start:end]
        if window.strip() != wanted:
            return None
        start += len(window) - len(window.lstrip())
        return start, start + len(wanted)

    def _search(self, wanted: str, cursor: int) -> tuple[int, int] | None:
        index = self.text.find(wanted, cursor)
        if index >= 0:
            return index, index + len(wanted)
        pattern = r"\s*".join(re.escape(token) for token in wanted.split())
        match = re.compile(pattern).search(self.text, cursor)
        return match.span() if match else None


def align_pieces(text: str, pieces: Sequence[str], doc_id: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans of the non-blank ``pieces`` in ``text``, shifted by ``offset`` (the text's start in its document)."""
    aligner = OffsetAligner(text, doc_id)
    spans = [aligner.locate(piece) for piece in pieces if piece.strip()]
    return [(start + offset, end + offset) for start, end in spans]


SEGMENT_CHARS = 200_000
"""Longer texts are split in segments of at most this many characters, cut at a paragraph (else line, else
word) break, and each segment is chunked on its own: llama-index's sentence tokenizer aborts on multi-MB
strings (a 5 s regex time limit) and its intermediate splits grow with the input. No chunk spans a cut."""


def segments(text: str, limit: int = SEGMENT_CHARS) -> list[tuple[int, int]]:
    """``(start, end)`` spans covering ``text`` in order, each at most ``limit`` characters, cut at the last
    paragraph break, else line break, else whitespace, in the window (a hard cut if it has none)."""
    spans, start = [], 0
    while len(text) - start > limit:
        window_end = start + limit
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = text.rfind(separator, start + limit // 2, window_end)
            if cut >= 0:
                cut += len(separator)
                break
        end = cut if cut > start else window_end
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return spans


def split_document(document: Document, split: Callable[[str], list[str]]) -> list[Chunk]:
    """Chunks for the pieces ``split`` cuts the document into ([] for blank text), segment by segment."""
    if not document.text.strip():
        return []
    spans: list[tuple[int, int]] = []
    for start, end in segments(document.text):
        part = document.text[start:end]
        if part.strip():
            pieces = run_splitter(split, part, document.id, "chunk_size")
            spans.extend(align_pieces(part, pieces, document.id, offset=start))
    return build_chunks(document, [Span(start, end) for start, end in spans])


@dataclass(frozen=True, slots=True)
class Span:
    """A chunk to be: its character span, chunk-specific metadata and optional parent chunk id."""

    start: int
    end: int
    metadata: Mapping[str, Any] = field(default_factory=dict)
    parent_id: str | None = None


def span_id(document: Document, start: int, end: int) -> str:
    """The chunk id a span of ``document`` gets."""
    return make_chunk_id(document.id, start, end, document.text[start:end])


def build_chunks(document: Document, spans: Sequence[Span]) -> list[Chunk]:
    """Chunks for ``spans`` in the given order; metadata = document metadata + chunk_index + span metadata."""
    chunks = []
    for index, span in enumerate(spans):
        text = document.text[span.start : span.end]
        chunks.append(
            Chunk(
                id=make_chunk_id(document.id, span.start, span.end, text),
                doc_id=document.id,
                text=text,
                start=span.start,
                end=span.end,
                metadata={**document.metadata, "chunk_index": index, **span.metadata},
                parent_id=span.parent_id,
            )
        )
    return chunks
