"""Score a pipeline on an eval set: document, span and answer metrics per question, then means and CIs.

Ingesting is the caller's job (``ragpipe eval`` ingests first, reusing cached work). Each question runs
``pipeline.query(question, filters=question.filters, full_ranking=True)``: the same query path as any
query, returning every candidate the config retrieves (so scores never depend on which metrics are asked
for); chunk hits map to their documents at their best rank for document metrics; their character spans
are scored against the gold spans; the answer (from the first ``retrieval.top_k`` chunks, as for any
query) is scored against the gold answer. Metrics whose k the config's retrieval depth cannot fill are
reported as capped (see :mod:`ragpipe.evaluation.metric_plan`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ragpipe.config.models import PipelineConfig, SourceConfig
from ragpipe.config.settings import RuntimeSettings, load_settings
from ragpipe.errors import ConfigError, IndexNotFoundError
from ragpipe.evaluation.beir import safe_name
from ragpipe.evaluation.documents import DocumentTexts
from ragpipe.evaluation.llm_metrics import LLMJudge
from ragpipe.evaluation.metric_plan import plan_metrics
from ragpipe.evaluation.names import DEFAULT_METRICS, LLM_METRIC_NAMES
from ragpipe.evaluation.questions import EvalQuestion, EvalSet
from ragpipe.evaluation.result import EvalResult
from ragpipe.evaluation.scoring import QuestionScorer, summarize
from ragpipe.extras import require
from ragpipe.ingest.loader import ParserSet
from ragpipe.pipeline import Pipeline
from ragpipe.progress import Progress

__all__ = ["DEFAULT_METRICS", "EvalResult", "evaluate", "pipeline_for_dataset"]


def pipeline_for_dataset(
    config: PipelineConfig, eval_set: EvalSet, settings: RuntimeSettings | None = None
) -> Pipeline:
    """The pipeline to evaluate ``config`` on ``eval_set``.

    When the eval set brings its own corpus folder (BEIR, or a QA set loaded with ``corpus=``), the
    config's sources are replaced by that folder and its index lives under ``<data_dir>/eval/<corpus>``,
    so it never overwrites the config's own index; the embedding cache stays shared. Without a corpus
    folder the config is used unchanged (its sources must hold the documents the questions name).
    """
    settings = settings or load_settings()
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
    if answer_metrics:
        for module in ("ragas", "rouge_score", "sacrebleu"):
            require(module, "eval", "answer metrics (turn them off with --no-answer-metrics)")
    judge = _judge(pipeline.settings, answer_metrics, llm_metrics, llm_model)
    with pipeline.index() as state:
        indexed = set(state.catalog.document_versions()) if state.catalog is not None else set()
    if not indexed:
        raise IndexNotFoundError(f"the index {pipeline.index_dir} is empty; ingest the corpus before evaluating")
    config = pipeline.config
    parsers = ParserSet(config.parsing)
    texts = DocumentTexts(eval_set.corpus_dir, config.sources, config.base_dir, parsers)
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
    result = summarize(records, plan.names)
    notes = {"llm_metrics": _llm_note(pipeline.settings, judge, llm_metrics)}
    if result.capped:
        retrieval = config.retrieval
        notes["capped_metrics"] = (
            f"{', '.join(f'{m} ({n} questions)' for m, n in result.capped.items())}: for these questions the "
            f"ranking held fewer than k documents (chunks, for span metrics) because a leg stopped at its depth "
            f"(retrieval.dense_top_k={retrieval.dense_top_k}, lexical_top_k={retrieval.lexical_top_k}); the "
            "value is what that depth allows. Raise the depths to measure these metrics exactly"
        )
    return EvalResult(
        name=pipeline.config.name,
        dataset=eval_set.name,
        split=eval_set.split,
        config=pipeline.config.model_dump(mode="json"),
        metrics=result.metrics,
        ci=result.ci,
        per_query=result.per_query,
        latency_ms=result.latency_ms,
        capped=result.capped,
        counts={
            "questions": len(records),
            "skipped": len(skipped),
            "questions_in_dataset": len(eval_set.questions),
            "questions_with_spans": sum(1 for r in records if r["gold_spans"]),
            "questions_with_answers": sum(1 for r in records if r["gold_answer"] is not None),
            "dense_top_k": config.retrieval.dense_top_k,
            "lexical_top_k": config.retrieval.lexical_top_k,
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
