"""Score a pipeline on an eval set: document, span and answer metrics per question, then means and CIs.

Ingesting is the caller's job (``ragpipe eval`` ingests first, reusing cached work). Each question runs
``pipeline.query(question, filters=question.filters, top_k=K)`` with K the deepest metric cutoff (at least
10); chunk hits map to their documents at their best rank for document metrics; their character spans
are scored against the gold spans; the answer is generated from the first ``retrieval.top_k`` chunks, as
a normal query would, and scored against the gold answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragpipe.config.models import PipelineConfigBase, SourceConfig
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, IndexNotFoundError
from ragpipe.evaluation.beir import safe_name
from ragpipe.evaluation.datasets import EvalQuestion, EvalSet
from ragpipe.evaluation.documents import DocumentTexts
from ragpipe.evaluation.llm_metrics import LLM_METRIC_NAMES, LLMJudge
from ragpipe.evaluation.result import EvalResult
from ragpipe.evaluation.retrieval_metrics import METRICS, parse_metric
from ragpipe.evaluation.scoring import QuestionScorer, summarize
from ragpipe.pipeline import Pipeline
from ragpipe.progress import Progress

__all__ = ["DEFAULT_METRICS", "EvalResult", "MetricPlan", "evaluate", "pipeline_for_dataset", "plan_metrics"]

DEFAULT_METRICS = (
    "ndcg@10",
    "recall@10",
    "recall@100",
    "mrr@10",
    "map@10",
    "hit@10",
    "precision@10",
    "span_recall@5",
    "span_precision@5",
    "span_iou@5",
    "span_recall@10",
    "span_precision@10",
    "span_iou@10",
)
SPAN_METRICS = ("span_recall", "span_precision", "span_iou")
MIN_DEPTH = 10
_SPAN_PATTERN = re.compile(r"^(span_recall|span_precision|span_iou)@([0-9]+)$")


@dataclass(frozen=True)
class MetricPlan:
    """Validated metric names: document metrics, span metrics as ``(name, metric, k)``, and the query depth."""

    document: tuple[str, ...]
    spans: tuple[tuple[str, str, int], ...]
    depth: int


def plan_metrics(metrics: Sequence[str]) -> MetricPlan:
    """Check every name (``ndcg@10``, ``span_iou@5``...); ConfigError lists the valid forms."""
    if isinstance(metrics, str) or not metrics:
        raise ConfigError(f"metrics must be a non-empty list of names such as 'ndcg@10', got {metrics!r}")
    document: list[str] = []
    spans: list[tuple[str, str, int]] = []
    for name in dict.fromkeys(m.strip() for m in metrics):
        match = _SPAN_PATTERN.match(name)
        if match and int(match.group(2)) >= 1:
            spans.append((name, match.group(1), int(match.group(2))))
            continue
        try:
            parse_metric(name)
        except ConfigError:
            raise ConfigError(
                f"unknown metric {name!r}; valid: document metrics <name>@<k> with name one of "
                f"{', '.join(METRICS)} (e.g. ndcg@10, recall@100) and span metrics "
                f"{', '.join(f'{s}@<k>' for s in SPAN_METRICS)} (e.g. span_recall@5); k >= 1"
            ) from None
        document.append(name)
    cutoffs = [parse_metric(name).k for name in document] + [k for _, _, k in spans]
    return MetricPlan(tuple(document), tuple(spans), max([MIN_DEPTH, *cutoffs]))


def pipeline_for_dataset(
    config: PipelineConfigBase, eval_set: EvalSet, settings: RuntimeSettings | None = None
) -> Pipeline:
    """The pipeline to evaluate ``config`` on ``eval_set``.

    When the eval set brings its own corpus folder (BEIR, or a QA set loaded with ``corpus=``), the
    config's sources are replaced by that folder and its index lives under ``<data_dir>/eval/<corpus>``,
    so it never overwrites the config's own index; the embedding cache stays shared. Without a corpus
    folder the config is used unchanged (its sources must hold the documents the questions name).
    """
    settings = settings or RuntimeSettings()
    if eval_set.corpus_dir is None:
        return Pipeline(config, settings, serve_previous_index=False)
    corpus = eval_set.corpus_dir.resolve()
    key = f"{safe_name(corpus.name)}-{hashlib.sha256(str(corpus).encode()).hexdigest()[:10]}"
    eval_settings = settings.model_copy(
        update={"data_dir": settings.data_dir / "eval" / key, "cache_dir": settings.resolved_cache_dir}
    )
    eval_config = config.model_copy(update={"sources": [SourceConfig(path=str(corpus))]})
    return Pipeline(eval_config, eval_settings, serve_previous_index=False)


def evaluate(
    pipeline: Pipeline,
    eval_set: EvalSet,
    metrics: Sequence[str] = DEFAULT_METRICS,
    answer_metrics: bool = True,
    progress: bool | None = None,
    llm_metrics: bool | None = None,
    llm_model: str | None = None,
) -> EvalResult:
    """Score every question of ``eval_set`` on ``pipeline`` (already ingested).

    Judgments of documents that are not in the index, and questions left without relevant documents,
    are skipped and listed in the result (as are the eval set's own skipped items). ragas' LLM-judged
    metrics (:mod:`ragpipe.evaluation.llm_metrics`) run only when ``pipeline.settings.llm_base_url``
    (``RAGPIPE_LLM_BASE_URL``) is set and ``llm_metrics`` is not False; ``llm_model`` defaults to the
    endpoint's first listed model. ``notes["llm_metrics"]`` says whether they ran.
    """
    plan = plan_metrics(metrics)
    if not eval_set.questions:
        raise ConfigError(f"eval set {eval_set.name!r} holds no question")
    judge = _judge(pipeline.settings, answer_metrics, llm_metrics, llm_model)
    indexed = set(pipeline.components.catalog.document_versions())
    if not indexed:
        raise IndexNotFoundError(f"the index {pipeline.index_dir} is empty; ingest the corpus before evaluating")
    config: Any = pipeline.config
    texts = DocumentTexts(eval_set.corpus_dir, config.sources, config.base_dir)
    scorer = QuestionScorer(pipeline, plan, texts, answer_metrics, judge)
    skipped = list(eval_set.skipped)
    records: list[dict[str, Any]] = []
    # One untimed warm-up query, so loading models and opening indexes is not counted as latency.
    pipeline.query(eval_set.questions[0].question, answer=answer_metrics)
    with Progress(progress) as bar:
        bar.start(f"evaluate {eval_set.name}", total=len(eval_set.questions))
        for question in eval_set.questions:
            bar.advance(f"evaluate {eval_set.name}")
            kept = _indexed_judgments(question, indexed, pipeline, skipped)
            if kept is None:
                continue
            records.append(scorer.score(kept, skipped))
    if not records:
        raise ConfigError(
            f"no question of {eval_set.name!r} could be scored ({len(skipped)} skipped); "
            f"first reasons: {'; '.join(f'{w}: {r}' for w, r in skipped[:3])}"
        )
    result = summarize(records, [*plan.document, *(name for name, _, _ in plan.spans)])
    notes = {"llm_metrics": _llm_note(pipeline.settings, judge, llm_metrics)}
    return EvalResult(
        name=pipeline.config.name,
        dataset=eval_set.name,
        split=eval_set.split,
        config=pipeline.config.model_dump(mode="json"),
        metrics=result.metrics,
        ci=result.ci,
        per_query=result.per_query,
        latency_ms=result.latency_ms,
        counts={
            "questions": len(records),
            "skipped": len(skipped),
            "questions_in_dataset": len(eval_set.questions),
            "questions_with_spans": sum(1 for r in records if r["gold_spans"]),
            "questions_with_answers": sum(1 for r in records if r["gold_answer"] is not None),
            "retrieval_depth": plan.depth,
        },
        questions=records,
        skipped=skipped,
        notes=notes,
    )


def _indexed_judgments(
    question: EvalQuestion, indexed: set[str], pipeline: Pipeline, skipped: list[tuple[str, str]]
) -> EvalQuestion | None:
    """The question with judgments of unindexed documents dropped (each reported); None if none is left."""
    where = f"question {question.id}"
    relevant = {}
    for doc_id, grade in question.relevant_docs.items():
        if doc_id in indexed:
            relevant[doc_id] = grade
        else:
            skipped.append((where, f"relevant document {doc_id!r} is not in the index {pipeline.index_dir}"))
    if not any(grade > 0 for grade in relevant.values()):
        skipped.append((where, "no relevant document is indexed; question skipped"))
        return None
    if relevant == question.relevant_docs:
        return question
    return EvalQuestion(
        question.id, question.question, question.answer, relevant, question.spans, question.filters, question.metadata
    )


def _judge(
    settings: RuntimeSettings, answer_metrics: bool, llm_metrics: bool | None, llm_model: str | None
) -> LLMJudge | None:
    if llm_metrics and not settings.llm_base_url:
        raise ConfigError("LLM metrics need an OpenAI-compatible endpoint: set RAGPIPE_LLM_BASE_URL")
    if llm_metrics is False or not answer_metrics or not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
    return LLMJudge(settings.llm_base_url, key, llm_model)


def _llm_note(settings: RuntimeSettings, judge: LLMJudge | None, requested: bool | None) -> str:
    if judge is not None:
        return (
            f"run: {', '.join(LLM_METRIC_NAMES)} judged by model {judge.model!r} at {judge.base_url} "
            "(questions with a gold answer)"
        )
    if not settings.llm_base_url:
        return "not run: RAGPIPE_LLM_BASE_URL is not set, so no LLM or paid API was called (all metrics are offline)"
    reason = "switched off (--no-llm-metrics)" if requested is False else "answer metrics are off"
    return f"not run: {reason}; no LLM was called"
