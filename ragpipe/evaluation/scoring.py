"""Per-question scoring (one query, its document/span/answer metrics, a JSON record) and the summary.

A question runs through :meth:`Pipeline.query` like any query — same retrieval, reranking and answer —
with ``full_ranking=True``, so document metrics see every candidate the config retrieves (documents in the
order of their best chunk) and the answer is the one a user would get from the first ``top_k`` chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ragpipe.evaluation.answer_scoring import score_answer
from ragpipe.evaluation.documents import DocumentTexts, check_span
from ragpipe.evaluation.llm_metrics import LLMJudge
from ragpipe.evaluation.metric_plan import MetricPlan, capped
from ragpipe.evaluation.names import ANSWER_METRIC_NAMES, LLM_METRIC_NAMES
from ragpipe.evaluation.questions import EvalQuestion
from ragpipe.evaluation.retrieval_metrics import compute
from ragpipe.evaluation.span_metrics import Span, span_scores
from ragpipe.evaluation.stats import bootstrap_ci
from ragpipe.ingest.loader import DocumentLoadError
from ragpipe.types import QueryResult, ScoredChunk

if TYPE_CHECKING:
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
        retrieval = pipeline.config.retrieval
        self.leg_depths = {"dense": retrieval.dense_top_k, "lexical": retrieval.lexical_top_k}

    def score(self, question: EvalQuestion, skipped: list[tuple[str, str]]) -> dict[str, Any]:
        where = f"question {question.id}"
        answer_wanted = self.answer_metrics and question.answer is not None
        result = self.pipeline.query(
            question.question, filters=question.filters, answer=answer_wanted, full_ranking=True
        )
        ranking = result.ranking
        documents = ranked_documents(ranking)
        metrics: dict[str, float] = {}
        if self.plan.document:
            metrics.update(compute(documents, question.relevant_docs, [name for name, _ in self.plan.document]))
        if question.spans and self.plan.spans:
            try:
                metrics.update(self._span_metrics(question, ranking))
            except ValueError as exc:
                skipped.append((where, f"span metrics not computed: {exc}"))
        answer: dict[str, Any] | None = None
        if answer_wanted:
            answer, answer_scores = self._answer(question, result, skipped)
            metrics.update(answer_scores)
        return {
            "id": question.id,
            "question": question.question,
            "metadata": question.metadata,
            "filters": question.filters,
            "relevant_docs": question.relevant_docs,
            "gold_answer": question.answer,
            "gold_spans": [{"doc_id": s.doc_id, "start": s.start, "end": s.end} for s in question.spans],
            "retrieved_docs": documents,
            "retrieved": [_chunk_record(rank, s) for rank, s in enumerate(ranking, start=1)],
            "capped": [
                m for m in capped(self.plan, len(documents), len(ranking), self._exhausted(ranking)) if m in metrics
            ],
            "answer": answer,
            "metrics": metrics,
            "timings_ms": {stage: seconds * 1000.0 for stage, seconds in result.timings.items()},
        }

    def _exhausted(self, ranking: Sequence[ScoredChunk]) -> bool:
        """True if a leg returned as many chunks as its depth allows (so there may have been more)."""
        counts = {leg: 0 for leg in self.leg_depths}
        for scored in ranking:
            for leg in scored.leg_ranks:
                if leg in counts:
                    counts[leg] += 1
        return any(counts[leg] >= depth for leg, depth in self.leg_depths.items() if counts[leg])

    def _span_metrics(self, question: EvalQuestion, ranking: Sequence[ScoredChunk]) -> dict[str, float]:
        for span in question.spans:
            check_span(span, self.texts)
        deepest = max(k for _, _, k in self.plan.spans)
        retrieved = [Span(s.chunk.doc_id, s.chunk.start, s.chunk.end) for s in ranking[:deepest]]
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
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """The query's answer (from its ``top_k`` chunks) and its scores."""
        gold = question.answer or ""
        answer = result.answer
        embedder = self.pipeline.models.query_embedder(self.pipeline.config.embedding, self.pipeline.settings)
        scored = score_answer(question.question, answer.text, gold, embedder)
        undefined = dict(scored.undefined)
        if self.judge is not None:
            judged = self.judge.score(question.question, answer.text, gold, [s.chunk.text for s in result.chunks])
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
        return record, scored.scores


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
    capped: dict[str, int]
    """Metric -> questions whose ranking could not fill its k (see :mod:`ragpipe.evaluation.metric_plan`)."""


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
    counts: dict[str, int] = {}
    for record in records:
        for name in record.get("capped", ()):
            counts[name] = counts.get(name, 0) + 1
    return Summary(metrics, ci, per_query, latency, {m: counts[m] for m in order if m in counts})
