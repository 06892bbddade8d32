"""Assert retrieval quality in your own test suite, like any other test::

    from ragpipe.testing import assert_quality, evaluate_config

    def test_handbook_retrieval(tmp_path):
        result = evaluate_config("configs/default.yaml", "evals/handbook_qa.jsonl", data_dir=tmp_path)
        assert_quality(result, minimums={"ndcg@10": 0.8, "recall@10": 0.9})
        assert_quality(result, baseline="results/handbook/summary.json", max_drop=0.01)

Importing this module is light; models load when :func:`evaluate_config` runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragpipe.embedding.wrapper import EmbedderWrapper
from ragpipe.evaluation.result import EvalResult
from ragpipe.protocols import Embedder

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RecordingEmbedder", "assert_quality", "evaluate_config"]


class RecordingEmbedder(EmbedderWrapper):
    """An Embedder that delegates to a real one and records every text it is asked to embed, by role: put it
    where a stage takes an embedder to test how much that stage embeds."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.documents: list[str] = []
        self.queries: list[str] = []

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents.extend(texts)
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self.inner.embed_queries(texts)


def evaluate_config(
    config: str | Path | Mapping[str, Any],
    dataset: str | Path,
    corpus: str | Path | None = None,
    data_dir: str | Path | None = None,
    split: str = "test",
    metrics: Sequence[str] | None = None,
    overrides: Sequence[str] = (),
    answer_metrics: bool = False,
) -> EvalResult:
    """Ingest (reusing cached work) and score ``config`` on ``dataset``, as ``ragpipe eval`` does.

    ``config``: a YAML/TOML path or a mapping, with ``dotted.path=value`` ``overrides``; ``dataset``: a BEIR
    folder or a QA ``.jsonl`` file (``corpus``: the folder it refers to; default: the config's sources);
    ``data_dir``: where indexes and caches live (default: ``RAGPIPE_DATA_DIR`` or ``.ragpipe``);
    ``metrics``: default :data:`ragpipe.evaluation.names.DEFAULT_METRICS`. Answer metrics are off by
    default here (they import ragas, which takes seconds); pass ``answer_metrics=True`` to score answers.
    """
    from ragpipe.config.loading import load_config
    from ragpipe.config.settings import load_settings
    from ragpipe.evaluation.datasets import load_dataset
    from ragpipe.evaluation.names import DEFAULT_METRICS
    from ragpipe.evaluation.runner import evaluate, pipeline_for_dataset

    settings = load_settings(data_dir=Path(data_dir)) if data_dir is not None else load_settings()
    pipeline_config = load_config(config, overrides)
    eval_set = load_dataset(Path(dataset), split, corpus, settings.data_dir)
    with pipeline_for_dataset(pipeline_config, eval_set, settings) as pipeline:
        report = pipeline.ingest(progress=False)
        if report.failed:
            failures = "; ".join(f"{f.path}: {f.reason}" for f in report.failures[:5])
            raise AssertionError(f"ingest failed for {report.failed} document(s): {failures}")
        return evaluate(pipeline, eval_set, metrics or DEFAULT_METRICS, answer_metrics=answer_metrics, progress=False)


def _summary(value: EvalResult | Mapping[str, Any] | str | Path, role: str) -> Mapping[str, Any]:
    if isinstance(value, EvalResult):
        return value.to_summary()
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str | Path):
        return EvalResult.load_summary(value)
    raise TypeError(f"{role} must be an EvalResult, a summary mapping or a summary.json path, not {type(value)}")


def assert_quality(
    result: EvalResult | Mapping[str, Any],
    minimums: Mapping[str, float] | None = None,
    baseline: EvalResult | Mapping[str, Any] | str | Path | None = None,
    max_drop: float = 0.01,
    alpha: float = 0.05,
) -> None:
    """Raise AssertionError listing every metric below its minimum and every significant regression.

    ``minimums`` maps metric names (``ndcg@10``) to the lowest acceptable mean; a name the result does not
    hold fails too (listing those it holds). ``baseline`` (a result, summary or ``summary.json`` path)
    enables the regression gate of ``ragpipe eval --baseline``: a metric fails when its mean fell by more
    than ``max_drop`` with a paired-test p-value below ``alpha``.
    """
    from ragpipe.evaluation.gate import check_regression

    summary = _summary(result, "result")
    metrics: Mapping[str, float] = summary["metrics"]
    ci: Mapping[str, Sequence[float]] = summary.get("ci", {})
    failures = []
    for metric, minimum in (minimums or {}).items():
        if metric not in metrics:
            failures.append(f"{metric} was not computed (available: {', '.join(metrics)})")
        elif metrics[metric] < minimum:
            low, high = ci.get(metric, (float("nan"), float("nan")))
            failures.append(f"{metric} = {metrics[metric]:.4f} < minimum {minimum} (95% CI [{low:.4f}, {high:.4f}])")
    if baseline is not None:
        for regression in check_regression(summary, _summary(baseline, "baseline"), max_drop, alpha):
            failures.append(f"regressed: {regression.describe()}")
    if failures:
        name = f"{summary.get('name', '?')} on {summary.get('dataset', '?')}"
        raise AssertionError(f"retrieval quality check failed for {name}:\n  " + "\n  ".join(failures))
