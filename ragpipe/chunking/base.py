"""Shared helpers of the llama-index chunkers: exact offsets, chunk ids, a fixed tokenizer, lazy loading.

llama-index splitters return plain strings (stripped, sometimes with whitespace rebuilt), so every
piece is mapped back to a span of the document with :class:`OffsetAligner`; a chunk's text is
always the document slice, never the splitter's string. llama-index is imported inside functions
only, and its global ``Settings`` (which default to OpenAI) are never read or written.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field, model_validator

from ragpipe.config.stages import ChunkerConfig
from ragpipe.errors import ConfigError, ParseError
from ragpipe.types import Chunk, Document

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.node_parser import SentenceSplitter

    from ragpipe.protocols import Embedder

T = TypeVar("T")
Tokenizer = Callable[[str], list[int]]

# llama-index's default tokenizer is tiktoken cl100k_base ("gpt-3.5-turbo"); its BPE file ships inside
# llama-index-core under the name tiktoken's cache gives this URL. These constants mirror tiktoken_ext.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]"""
    r"""|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


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


class Lazy(Generic[T]):
    """A value built by ``factory`` on first :meth:`get`; concurrent first calls build it once."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


def cl100k_tokenizer() -> Tokenizer:
    """tiktoken cl100k_base from llama-index's bundled file: its default, immune to its global tokenizer."""
    return _CL100K.get()


def _load_cl100k() -> Tokenizer:
    import llama_index.core
    import tiktoken

    name = hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    path = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache" / name
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _CL100K_SHA256:
        raise ConfigError(f"tiktoken file {path} bundled with llama-index-core is corrupt (sha256 mismatch)")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    encoding = tiktoken.Encoding(
        name="cl100k_base", pat_str=_CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=_CL100K_SPECIAL
    )

    def encode(text: str) -> list[int]:
        return encoding.encode(text, allowed_special="all")

    return encode


_CL100K: Lazy[Tokenizer] = Lazy(_load_cl100k)  # loaded once (~0.7 s), on first use


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


@lru_cache(maxsize=1)
def _adapter_class() -> type[BaseEmbedding]:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        """llama-index view of a ragpipe Embedder (documents and queries keep their own prefixes)."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder: Embedder, batch_size: int) -> None:
            super().__init__(model_name=embedder.model_id, embed_batch_size=batch_size)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "RagpipeEmbedderAdapter"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_documents(texts).tolist()

    return EmbedderAdapter


def embedding_adapter(embedder: Embedder, batch_size: int = 64) -> BaseEmbedding:
    """Wrap a ragpipe Embedder as a llama-index ``BaseEmbedding`` (for SemanticSplitterNodeParser)."""
    return _adapter_class()(embedder, batch_size)  # type: ignore[call-arg]
