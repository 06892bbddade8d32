"""Per-question scoring (one query, its document/span/answer metrics, a JSON record) and the summary."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ragpipe.evaluation.answer_scoring import ANSWER_METRIC_NAMES, score_answer
from ragpipe.evaluation.datasets import EvalQuestion
from ragpipe.evaluation.documents import DocumentTexts, check_span
from ragpipe.evaluation.llm_metrics import LLM_METRIC_NAMES, LLMJudge
from ragpipe.evaluation.retrieval_metrics import compute
from ragpipe.evaluation.span_metrics import Span, span_scores
from ragpipe.evaluation.stats import bootstrap_ci
from ragpipe.ingest.loader import DocumentLoadError
from ragpipe.types import QueryResult, ScoredChunk

if TYPE_CHECKING:
    from ragpipe.evaluation.runner import MetricPlan
    from ragpipe.pipeline import Pipeline

_SPAN_FIELD = {"span_recall": "recall", "span_precision": "precision", "span_iou": "iou"}


def ranked_documents(chunks: Sequence[ScoredChunk]) -> list[str]:
    """Document ids in the order of their best (first) chunk hit, each once."""
    return list(dict.fromkeys(s.chunk.doc_id for s in chunks))


class QuestionScorer:
    """Runs one question through the pipeline and scores it; problems go to ``skipped``, never dropped."""

    def __init__(
        self,
        pipeline: Pipeline,
        plan: MetricPlan,
        texts: DocumentTexts,
        answer_metrics: bool,
        judge: LLMJudge | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.plan = plan
        self.texts = texts
        self.answer_metrics = answer_metrics
        self.judge = judge

    def score(self, question: EvalQuestion, skipped: list[tuple[str, str]]) -> dict[str, Any]:
        where = f"question {question.id}"
        result = self.pipeline.query(question.question, filters=question.filters, top_k=self.plan.depth, answer=False)
        timings = dict(result.timings)
        metrics: dict[str, float] = {}
        if self.plan.document:
            metrics.update(compute(ranked_documents(result.chunks), question.relevant_docs, self.plan.document))
        if question.spans and self.plan.spans:
            try:
                metrics.update(self._span_metrics(question, result))
            except ValueError as exc:
                skipped.append((where, f"span metrics not computed: {exc}"))
        answer: dict[str, Any] | None = None
        if self.answer_metrics and question.answer is not None:
            answer, answer_scores, seconds = self._answer(question, result, skipped)
            metrics.update(answer_scores)
            timings["answer"] = seconds
            timings["total"] = timings.get("total", 0.0) + seconds
        return {
            "id": question.id,
            "question": question.question,
            "metadata": question.metadata,
            "filters": question.filters,
            "relevant_docs": question.relevant_docs,
            "gold_answer": question.answer,
            "gold_spans": [{"doc_id": s.doc_id, "start": s.start, "end": s.end} for s in question.spans],
            "retrieved_docs": ranked_documents(result.chunks),
            "retrieved": [_chunk_record(rank, s) for rank, s in enumerate(result.chunks, start=1)],
            "answer": answer,
            "metrics": metrics,
            "timings_ms": {stage: seconds * 1000.0 for stage, seconds in timings.items()},
        }

    def _span_metrics(self, question: EvalQuestion, result: QueryResult) -> dict[str, float]:
        for span in question.spans:
            check_span(span, self.texts)
        deepest = max(k for _, _, k in self.plan.spans)
        retrieved = [Span(s.chunk.doc_id, s.chunk.start, s.chunk.end) for s in result.chunks[:deepest]]
        doc_texts = {}
        for doc_id in {s.doc_id for s in (*question.spans, *retrieved)}:
            try:
                doc_texts[doc_id] = self.texts.get(doc_id)
            except KeyError:
                raise ValueError(f"retrieved document {doc_id!r} has no file in the corpus") from None
            except DocumentLoadError as exc:
                raise ValueError(f"document {doc_id!r} cannot be parsed: {exc.reason}") from None
        by_k = {k: span_scores(retrieved, question.spans, doc_texts, k) for k in {k for _, _, k in self.plan.spans}}
        return {name: getattr(by_k[k], _SPAN_FIELD[metric]) for name, metric, k in self.plan.spans}

    def _answer(
        self, question: EvalQuestion, result: QueryResult, skipped: list[tuple[str, str]]
    ) -> tuple[dict[str, Any], dict[str, float], float]:
        """The answer a normal query gives (from the first ``retrieval.top_k`` chunks), its scores and time."""
        components = self.pipeline.components
        context = result.chunks[: self.pipeline.config.retrieval.top_k]  # type: ignore[attr-defined]
        started = time.perf_counter()
        answer = components.generator.answer(question.question, context)
        seconds = time.perf_counter() - started
        gold = question.answer or ""
        references = self._reference_texts(question)
        scored = score_answer(
            question.question, answer.text, gold, components.embedder, [s.chunk.text for s in context], references
        )
        undefined = dict(scored.undefined)
        if self.judge is not None:
            judged = self.judge.score(question.question, answer.text, gold, [s.chunk.text for s in context])
            scored.scores.update(judged.scores)
            undefined.update(judged.undefined)
        for metric, reason in undefined.items():
            skipped.append((f"question {question.id}", f"{metric} undefined: {reason}"))
        record = {
            "text": answer.text,
            "citations": [
                {"doc_id": c.doc_id, "chunk_id": c.chunk_id, "start": c.start, "end": c.end, "text": c.text}
                for c in answer.citations
            ],
        }
        return record, scored.scores, seconds

    def _reference_texts(self, question: EvalQuestion) -> list[str]:
        """Text of the gold spans (ragas' reference contexts); none when a span cannot be read."""
        try:
            return [self.texts.get(s.doc_id)[s.start : s.end] for s in question.spans]
        except (KeyError, DocumentLoadError):
            return []


def _chunk_record(rank: int, scored: ScoredChunk) -> dict[str, Any]:
    return {
        "rank": rank,
        "doc_id": scored.chunk.doc_id,
        "chunk_id": scored.chunk.id,
        "start": scored.chunk.start,
        "end": scored.chunk.end,
        "score": scored.score,
        "leg_scores": scored.leg_scores,
        "leg_ranks": scored.leg_ranks,
    }


@dataclass
class Summary:
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, float]


def summarize(records: Sequence[dict[str, Any]], retrieval_metrics: Sequence[str]) -> Summary:
    """Means and bootstrap 95% CIs per metric (over the questions that have it) and latency percentiles."""
    present = {name for record in records for name in record["metrics"]}
    known = [*retrieval_metrics, *ANSWER_METRIC_NAMES, *LLM_METRIC_NAMES]
    order = [m for m in known if m in present]
    order += sorted(present - set(order))
    per_query = {m: {r["id"]: r["metrics"][m] for r in records if m in r["metrics"]} for m in order}
    metrics: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    for metric, values in per_query.items():
        mean, low, high = bootstrap_ci(list(values.values()))
        metrics[metric], ci[metric] = mean, (low, high)
    totals = np.array([r["timings_ms"].get("total", 0.0) for r in records], dtype=np.float64)
    latency = {
        "p50": float(np.percentile(totals, 50)),
        "p95": float(np.percentile(totals, 95)),
        "mean": float(totals.mean()),
    }
    return Summary(metrics, ci, per_query, latency)
