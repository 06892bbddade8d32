"""Token-level span scores on hand-computed cases."""

from __future__ import annotations

import pytest

from ragpipe.evaluation.span_metrics import Span, SpanScores, span_scores

# word tokens:   0    1     2     3    4     5      6     7
DOC = "The cat sat on the warm mat today."
DOCS = {"a": DOC, "b": "alpha beta gamma delta"}


def span_of(doc_id: str, first_word: str, last_word: str) -> Span:
    """The span from the start of ``first_word`` to the end of ``last_word`` (first occurrences)."""
    text = DOCS[doc_id]
    start = text.index(first_word)
    return Span(doc_id, start, text.index(last_word, start) + len(last_word))


def test_exact_match_scores_one() -> None:
    gold = [span_of("a", "cat", "on")]
    scores = span_scores(gold, gold, DOCS)
    assert (scores.recall, scores.precision, scores.iou) == (1.0, 1.0, 1.0)
    assert scores.gold_tokens == 3


def test_partial_overlap() -> None:
    gold = [span_of("a", "cat", "the")]  # cat sat on the: 4 tokens
    retrieved = [span_of("a", "on", "mat")]  # on the warm mat: 4 tokens, 2 shared
    scores = span_scores(retrieved, gold, DOCS)
    assert scores == SpanScores(
        recall=0.5, precision=0.5, iou=2 / 6, gold_tokens=4, retrieved_tokens=4, overlap_tokens=2
    )


def test_overlapping_retrieved_spans_count_each_token_once() -> None:
    gold = [span_of("a", "sat", "the")]  # sat on the: 3 tokens
    retrieved = [span_of("a", "cat", "on"), span_of("a", "sat", "the"), span_of("a", "on", "the")]
    scores = span_scores(retrieved, gold, DOCS)
    assert scores.retrieved_tokens == 4  # cat sat on the
    assert scores.recall == 1.0
    assert scores.precision == pytest.approx(3 / 4)
    assert scores.iou == pytest.approx(3 / 4)


def test_a_span_splitting_a_word_covers_that_word() -> None:
    start = DOC.index("warm")
    gold = [Span("a", start, start + 4)]  # warm
    retrieved = [Span("a", start + 2, start + 3)]  # the "r" inside "warm"
    assert span_scores(retrieved, gold, DOCS).recall == 1.0
    touching = [Span("a", start - 1, start)]  # only the space before "warm": covers nothing
    assert span_scores(touching, gold, DOCS).retrieved_tokens == 0
    just_after = [Span("a", start + 4, start + 6)]  # " m" of " mat": covers "mat", not "warm"
    scores = span_scores(just_after, gold, DOCS)
    assert (scores.recall, scores.retrieved_tokens) == (0.0, 1)


def test_multiple_documents_are_kept_apart() -> None:
    gold = [span_of("a", "The", "cat"), span_of("b", "beta", "gamma")]
    # token 0 of "a" ("The") is gold; token 0 of "b" ("alpha") is not: doc ids must not be mixed up
    assert span_scores([Span("b", 0, 3)], gold, DOCS).overlap_tokens == 0
    retrieved = [span_of("b", "alpha", "beta"), span_of("a", "cat", "sat")]
    scores = span_scores(retrieved, gold, DOCS)
    assert (scores.gold_tokens, scores.retrieved_tokens, scores.overlap_tokens) == (4, 4, 2)
    assert scores.recall == pytest.approx(2 / 4)
    assert scores.iou == pytest.approx(2 / 6)


def test_cutoff_keeps_the_first_k_retrieved_spans() -> None:
    gold = [span_of("a", "warm", "mat")]
    retrieved = [span_of("a", "The", "cat"), span_of("a", "warm", "warm"), span_of("a", "mat", "mat")]
    assert span_scores(retrieved, gold, DOCS, k=1).recall == 0.0
    assert span_scores(retrieved, gold, DOCS, k=2).recall == 0.5
    assert span_scores(retrieved, gold, DOCS, k=3).recall == 1.0
    assert span_scores(retrieved, gold, DOCS).recall == 1.0
    with pytest.raises(ValueError, match="k must be"):
        span_scores(retrieved, gold, DOCS, k=0)


def test_nothing_retrieved_scores_zero() -> None:
    scores = span_scores([], [span_of("a", "cat", "cat")], DOCS)
    assert scores.as_dict() == {"span_recall": 0.0, "span_precision": 0.0, "span_iou": 0.0}


def test_gold_without_tokens_is_an_error() -> None:
    with pytest.raises(ValueError, match="gold spans cover no word token"):
        span_scores([span_of("a", "cat", "cat")], [], DOCS)
    space = DOC.index(" ")
    with pytest.raises(ValueError, match="gold spans cover no word token"):
        span_scores([], [Span("a", space, space + 1)], DOCS)
    with pytest.raises(ValueError, match="gold spans cover no word token"):
        span_scores([], [Span("a", 5, 5)], DOCS)  # empty span inside "cat"


def test_bad_spans_name_the_problem() -> None:
    with pytest.raises(ValueError, match="'missing'"):
        span_scores([Span("missing", 0, 3)], [span_of("a", "cat", "cat")], DOCS)
    with pytest.raises(ValueError, match="past the end of document 'b'"):
        span_scores([], [Span("b", 0, 999)], DOCS)
    with pytest.raises(ValueError, match="0 <= start <= end"):
        Span("a", 5, 2)
    with pytest.raises(ValueError, match="0 <= start <= end"):
        Span("a", -1, 2)
