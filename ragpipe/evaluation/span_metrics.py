"""Chunker-independent, token-level span scores for one query.

Retrieved and gold evidence are character spans of documents. Both are mapped to the *word tokens*
(``\\S+`` matches) of the document text they point into, so the scores do not depend on how a chunker cut
the text. A token is covered by a span when **any** of its characters lies inside the span (a span that
cuts a word in half covers that word). Overlapping spans are unioned: every token counts once.

- recall: share of gold tokens covered by the retrieved spans;
- precision: share of retrieved tokens that are gold tokens (0 when nothing was retrieved);
- IoU: gold ∩ retrieved tokens over gold ∪ retrieved tokens.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``[start, end)`` of the document ``doc_id``'s text."""

    doc_id: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(
                f"invalid span of {self.doc_id!r}: start={self.start}, end={self.end}; need 0 <= start <= end"
            )


@dataclass(frozen=True, slots=True)
class SpanScores:
    """Token-level scores of one query, with the token counts they come from."""

    recall: float
    precision: float
    iou: float
    gold_tokens: int
    retrieved_tokens: int
    overlap_tokens: int

    def as_dict(self) -> dict[str, float]:
        """The three scores keyed ``span_recall``, ``span_precision``, ``span_iou``."""
        return {"span_recall": self.recall, "span_precision": self.precision, "span_iou": self.iou}


@dataclass(frozen=True, slots=True)
class _TokenBounds:
    starts: list[int]
    ends: list[int]


def _tokenize(text: str) -> _TokenBounds:
    matches = list(_TOKEN.finditer(text))
    return _TokenBounds([m.start() for m in matches], [m.end() for m in matches])


def _covered_tokens(
    spans: Iterable[Span], doc_texts: Mapping[str, str], bounds: dict[str, _TokenBounds], role: str
) -> set[tuple[str, int]]:
    """``(doc_id, token index)`` of every token sharing at least one character with one of ``spans``."""
    covered: set[tuple[str, int]] = set()
    for span in spans:
        text = doc_texts.get(span.doc_id)
        if text is None:
            raise ValueError(f"{role} span points into document {span.doc_id!r}, which is not in doc_texts")
        if span.end > len(text):
            raise ValueError(
                f"{role} span {span.start}:{span.end} lies past the end of document {span.doc_id!r} "
                f"({len(text)} characters)"
            )
        if span.start == span.end:  # an empty span holds no character, so it covers no token
            continue
        if span.doc_id not in bounds:
            bounds[span.doc_id] = _tokenize(text)
        token_bounds = bounds[span.doc_id]
        first = bisect_right(token_bounds.ends, span.start)  # first token ending after the span starts
        stop = bisect_left(token_bounds.starts, span.end)  # tokens starting before the span ends
        covered.update((span.doc_id, index) for index in range(first, stop))
    return covered


def span_scores(
    retrieved: Sequence[Span], gold: Sequence[Span], doc_texts: Mapping[str, str], k: int | None = None
) -> SpanScores:
    """Token-level recall, precision and IoU of ``retrieved`` (the first ``k`` if given) against ``gold``.

    Raises ValueError when the gold spans cover no token (the query cannot be scored), when a span
    points to a document missing from ``doc_texts`` or past its end, or when ``k`` < 1.
    """
    if k is not None and k < 1:
        raise ValueError(f"k must be a positive number of spans or None for all, got {k}")
    bounds: dict[str, _TokenBounds] = {}
    gold_tokens = _covered_tokens(gold, doc_texts, bounds, "gold")
    if not gold_tokens:
        raise ValueError("gold spans cover no word token; queries without gold evidence must be skipped")
    kept = retrieved if k is None else retrieved[:k]
    retrieved_tokens = _covered_tokens(kept, doc_texts, bounds, "retrieved")
    overlap = len(gold_tokens & retrieved_tokens)
    union = len(gold_tokens | retrieved_tokens)
    return SpanScores(
        recall=overlap / len(gold_tokens),
        precision=overlap / len(retrieved_tokens) if retrieved_tokens else 0.0,
        iou=overlap / union,
        gold_tokens=len(gold_tokens),
        retrieved_tokens=len(retrieved_tokens),
        overlap_tokens=overlap,
    )
