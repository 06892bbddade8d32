"""The ``extractive`` generator: answers with the retrieved sentences closest to the question.

Offline and model-free beyond the pipeline's embedder. A sentence's score is its cosine to the
query plus ``lexical_weight`` times the fraction of the query's content words it contains; the best
``max_sentences`` above ``min_score`` form the answer, each cited by its exact document span.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field

from ragpipe.answer.sentences import is_heading, split_sentences
from ragpipe.config.stages import GeneratorConfig
from ragpipe.protocols import Embedder
from ragpipe.registry import register
from ragpipe.types import Answer, Chunk, Citation, ScoredChunk

STOPWORDS = frozenset(
    {
        "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been", "before", "but",
        "by", "can", "could", "did", "do", "does", "doing", "for", "from", "had", "has", "have", "how", "i", "if",
        "in", "into", "is", "it", "its", "may", "me", "might", "more", "most", "my", "no", "not", "of", "on", "or",
        "our", "over", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then", "there",
        "these", "they", "this", "those", "to", "under", "up", "us", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "whose", "why", "will", "with", "would", "you", "your"
    }
)  # fmt: skip
"""Words that carry no content; they do not count toward the lexical overlap."""

_TOKEN = re.compile(r"\w+")


class ExtractiveAnswerConfig(GeneratorConfig):
    """Extractive answers from the top retrieved chunks; needs the pipeline's embedder."""

    type: Literal["extractive"] = "extractive"
    max_chunks: int = Field(default=5, ge=1)
    """Only the first ``max_chunks`` retrieved chunks are read."""
    max_sentences: int = Field(default=3, ge=1)
    """Most sentences in one answer."""
    min_score: float = Field(default=0.2, ge=-1.0)
    """Sentences scoring below this are never used; nothing above it gives an empty answer."""
    lexical_weight: float = Field(default=0.3, ge=0.0)
    """Weight of the fraction of query content words found in the sentence."""
    duplicate_similarity: float = Field(default=0.9, gt=0.0, le=1.0)
    """A sentence with at least this cosine to an already chosen one is skipped as a near-duplicate."""
    batch_size: int = Field(default=16, ge=1)
    """Sentences embedded per call to the embedder, grouped by length so that one long sentence does not
    pad all the others (padding, not the sentence count, is what a query's answer time went to)."""


@dataclass(frozen=True, slots=True)
class _Candidate:
    chunk: Chunk
    start: int  # offsets inside chunk.text
    end: int

    @property
    def text(self) -> str:
        return self.chunk.text[self.start : self.end]

    @property
    def doc_span(self) -> tuple[str, int, int]:
        return self.chunk.doc_id, self.chunk.start + self.start, self.chunk.start + self.end


def content_terms(text: str) -> set[str]:
    """Lower-cased words of ``text`` minus stopwords, with a plural ``s`` removed."""
    terms: set[str] = set()
    for word in _TOKEN.findall(text.lower()):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        terms.add(word)
    return terms


def _normalized(text: str) -> str:
    return " ".join(text.lower().split())


@register("generator", config=ExtractiveAnswerConfig)
class ExtractiveAnswerer:
    """Picks the sentences of the top chunks that best match the query (no LLM)."""

    def __init__(self, config: ExtractiveAnswerConfig, embedder: Embedder) -> None:
        self.config = config
        self.embedder = embedder

    def answer(self, query: str, chunks: Sequence[ScoredChunk]) -> Answer:
        """The best sentences of the first ``max_chunks`` chunks, with document-span citations."""
        embedder = self.embedder
        candidates = self._candidates(chunks[: self.config.max_chunks])
        if not candidates:
            return Answer(text="", citations=())
        scores, vectors = self._score(embedder, query, candidates)
        chosen = self._select(candidates, scores, vectors)
        return Answer(
            text=" ".join(" ".join(candidate.text.split()) for candidate in chosen),
            citations=tuple(
                Citation(
                    doc_id=candidate.chunk.doc_id,
                    chunk_id=candidate.chunk.id,
                    start=candidate.doc_span[1],
                    end=candidate.doc_span[2],
                    text=candidate.text,
                )
                for candidate in chosen
            ),
        )

    def _candidates(self, chunks: Sequence[ScoredChunk]) -> list[_Candidate]:
        """Sentences of the chunks, without headings and without repeats of the same span or text."""
        candidates: list[_Candidate] = []
        seen: set[object] = set()
        for scored in chunks:
            for start, end in split_sentences(scored.chunk.text):
                candidate = _Candidate(scored.chunk, start, end)
                text_key = _normalized(candidate.text)
                if is_heading(candidate.text) or candidate.doc_span in seen or text_key in seen:
                    continue
                seen.update((candidate.doc_span, text_key))
                candidates.append(candidate)
        return candidates

    def _score(self, embedder: Embedder, query: str, candidates: Sequence[_Candidate]) -> tuple[np.ndarray, np.ndarray]:
        """Per-candidate scores and L2-normalized sentence vectors."""
        texts = [candidate.text for candidate in candidates]
        vectors = _unit_rows(_embed_by_length(embedder, texts, self.config.batch_size))
        query_vector = _unit_rows(np.asarray(embedder.embed_queries([query]), dtype=np.float32))[0]
        query_terms = content_terms(query)
        overlap = np.array(
            [len(query_terms & content_terms(text)) / len(query_terms) if query_terms else 0.0 for text in texts],
            dtype=np.float32,
        )
        return vectors @ query_vector + self.config.lexical_weight * overlap, vectors

    def _select(self, candidates: Sequence[_Candidate], scores: np.ndarray, vectors: np.ndarray) -> list[_Candidate]:
        """The best-scoring candidates above ``min_score``, skipping near-duplicates of those already chosen."""
        chosen: list[int] = []
        for index in sorted(range(len(candidates)), key=lambda i: (-float(scores[i]), i)):
            if float(scores[index]) < self.config.min_score or len(chosen) == self.config.max_sentences:
                break
            if not any(self._duplicates(candidates, vectors, index, kept) for kept in chosen):
                chosen.append(index)
        return [candidates[i] for i in chosen]

    def _duplicates(self, candidates: Sequence[_Candidate], vectors: np.ndarray, a: int, b: int) -> bool:
        """Same text up to case/space, one inside the other, overlapping spans, or near-identical vectors."""
        doc_a, start_a, end_a = candidates[a].doc_span
        doc_b, start_b, end_b = candidates[b].doc_span
        if doc_a == doc_b and start_a < end_b and start_b < end_a:
            return True
        text_a, text_b = _normalized(candidates[a].text), _normalized(candidates[b].text)
        if text_a in text_b or text_b in text_a:
            return True
        return float(vectors[a] @ vectors[b]) >= self.config.duplicate_similarity


def _embed_by_length(embedder: Embedder, texts: Sequence[str], batch_size: int) -> np.ndarray:
    """Vectors of ``texts`` (in their order), embedded in groups of similar length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    parts = [
        np.asarray(embedder.embed_documents([texts[i] for i in order[s : s + batch_size]]), dtype=np.float32)
        for s in range(0, len(order), batch_size)
    ]
    vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
    vectors[order] = np.vstack(parts)
    return vectors


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0.0, 1.0, norms)
