"""Typed, frozen data passed between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Metadata = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Document:
    """One parsed source document.

    ``id`` is the path relative to the source root it was found under (POSIX separators),
    so it is stable across machines. ``text`` is the full extracted text; chunk offsets
    index into it.
    """

    id: str
    text: str
    metadata: Metadata = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Chunk:
    """A span ``text == document.text[start:end]`` of one document, with its metadata."""

    id: str
    doc_id: str
    text: str
    start: int
    end: int
    metadata: Metadata = field(default_factory=dict)
    parent_id: str | None = None  # hierarchical chunking: id of the enclosing chunk


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A retrieved chunk with its final score and the score/rank it got from each leg."""

    chunk: Chunk
    score: float
    leg_scores: dict[str, float] = field(default_factory=dict)
    leg_ranks: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a piece of an answer comes from: a character span of a document."""

    doc_id: str
    chunk_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()


@dataclass(frozen=True, slots=True)
class QueryResult:
    """Everything one query produced; ``timings`` are seconds per stage."""

    query: str
    chunks: tuple[ScoredChunk, ...]
    answer: Answer
    timings: dict[str, float]
    index: str = ""
    """The index that answered: ``<fingerprint>/<generation>`` (see :mod:`ragpipe.generations`)."""
    ranking: tuple[ScoredChunk, ...] = ()
    """Every fused (and reranked) candidate in final order, when the query asked for the full ranking
    (evaluation does: document metrics at k need more than ``top_k`` chunks); ``chunks`` is its head."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by ``ragpipe query --json``."""
        return {
            "query": self.query,
            "chunks": [
                {
                    "doc_id": s.chunk.doc_id,
                    "chunk_id": s.chunk.id,
                    "text": s.chunk.text,
                    "score": s.score,
                    "start": s.chunk.start,
                    "end": s.chunk.end,
                    "leg_scores": s.leg_scores,
                    "leg_ranks": s.leg_ranks,
                    "metadata": s.chunk.metadata,
                }
                for s in self.chunks
            ],
            "answer": {
                "text": self.answer.text,
                "citations": [
                    {"doc_id": c.doc_id, "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "text": c.text}
                    for c in self.answer.citations
                ],
            },
            "timings": self.timings,
            "index": self.index,
        }


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Sparse term weights: parallel ``indices`` (uint32 term ids) and ``values``."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    """One result of one index leg: chunk id, score, and the stored chunk."""

    chunk: Chunk
    score: float


@dataclass(slots=True)
class FileFailure:
    path: str
    reason: str


@dataclass(slots=True)
class IngestReport:
    """Counts and failures of one ingest run."""

    documents_seen: int = 0
    documents_indexed: int = 0
    documents_unchanged: int = 0
    documents_deleted: int = 0
    chunks_indexed: int = 0
    chunks_embedded: int = 0  # chunk texts this run embedded (the rest came from the embedding cache)
    texts_embedded: int = 0  # every text this run embedded: chunks plus, e.g., a semantic chunker's sentences
    failures: list[FileFailure] = field(default_factory=list)
    skipped: list[FileFailure] = field(default_factory=list)  # not an error: e.g. unsupported file type
    notes: list[FileFailure] = field(default_factory=list)  # indexed, with a caveat: e.g. not UTF-8
    seconds: float = 0.0
    generation: str | None = None  # the index generation published by this run (None: nothing changed)
    resumed: bool = False  # this run continued the work generation a crashed ingest left
    most_repeated: tuple[int, str | None] = (0, None)  # how often the commonest chunk text occurs, and where

    @property
    def failed(self) -> int:
        return len(self.failures)
