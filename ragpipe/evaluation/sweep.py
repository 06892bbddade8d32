"""Run a sweep: every variant is ingested (re-using the content-addressed caches) and evaluated in turn.

Variants that change only retrieval/fusion/rerank/answer settings share one index (same fingerprint) and
embed nothing; chunking variants get their own index but only embed chunk texts the embedding cache has
never seen. The results are compared against the baseline and written as a leaderboard (CSV, Markdown),
``report.html``, ``best_config.yaml`` and ``sweep.json`` (see :func:`write_outputs`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ragpipe.config.loading import dump_config
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.evaluation import sweep_compare
from ragpipe.evaluation.sweep_result import BestVariant, EmbeddingWork, SweepResult
from ragpipe.evaluation.sweep_spec import SweepSpec, Variant
from ragpipe.evaluation.sweep_variant import IngestSummary, VariantFailure, VariantResult

if TYPE_CHECKING:
    from ragpipe.evaluation.datasets import EvalSet
    from ragpipe.evaluation.result import EvalResult

DEFAULT_OUT_ROOT = Path("results/sweeps")


@dataclass(frozen=True, slots=True)
class StageEvent:
    """Progress of a sweep: which variant (1-based) is in which stage (``ingest``, ``evaluate``, or ``failed``)."""

    index: int
    total: int
    variant: str
    stage: str

    def __str__(self) -> str:
        return f"variant {self.index}/{self.total} {self.variant}: {self.stage}"


def default_out_dir(spec: SweepSpec, now: datetime | None = None) -> Path:
    """``results/sweeps/<sweep name>-<YYYYmmdd-HHMMSS>`` (relative to the working directory)."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return DEFAULT_OUT_ROOT / f"{spec.name}-{stamp}"


def variant_slug(index: int, name: str) -> str:
    """A folder name for a variant's own evaluation files: ``03-chunking.type=token,chunk_size=256``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", name).strip("_.")[:80] or "variant"
    return f"{index:02d}-{cleaned}"


def run_sweep(
    spec: SweepSpec,
    out_dir: Path,
    settings: RuntimeSettings | None = None,
    progress: bool | None = None,
    on_stage: Callable[[StageEvent], None] | None = None,
) -> SweepResult:
    """Run every variant of ``spec`` in order, write all outputs into ``out_dir`` and return the result.

    ``on_stage`` is called before each stage of each variant (and with stage ``failed``); without it, the
    stages are shown on stderr when ``progress`` is on (default: on a terminal). ``progress`` also drives
    the ingest/evaluate bars. A variant that fails with a ragpipe error is kept (with its exception) under
    ``failed`` and the sweep goes on; if every variant fails, a ConfigError (when the first failure was one)
    or a RagpipeError is raised from the first failure.
    """
    from ragpipe.evaluation.datasets import load_dataset
    from ragpipe.progress import progress_enabled

    settings = settings or RuntimeSettings()
    report_stage = on_stage or (_print_stage if progress_enabled(progress) else None)
    eval_set = load_dataset(spec.dataset, split=spec.split, corpus=spec.corpus, work_dir=settings.data_dir)
    results: list[VariantResult] = []
    failed: list[VariantFailure] = []
    total = len(spec.variants)
    for index, variant in enumerate(spec.variants, start=1):

        def stage(name: str, index: int = index, variant: Variant = variant) -> None:
            if report_stage is not None:
                report_stage(StageEvent(index, total, variant.name, name))

        try:
            result, ingest, index_dir = _run_variant(spec, variant, eval_set, settings, progress, stage)
        except RagpipeError as exc:
            failed.append(VariantFailure.of(variant.name, exc))
            stage("failed")
            continue
        eval_dir = f"variants/{variant_slug(index, variant.name)}"
        result.write(out_dir / eval_dir)
        results.append(_variant_result(variant, result, ingest, index_dir, eval_dir))
    if not results:
        first = failed[0]
        error_type = ConfigError if isinstance(first.error, ConfigError) else RagpipeError
        raise error_type(f"{spec.path}: every variant failed; the first: {first.message}") from first.error
    sweep = assemble(spec, results, eval_set, failed)
    write_outputs(sweep, out_dir)
    return sweep


def _print_stage(event: StageEvent) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"[bold]{event}[/bold]")


def _run_variant(
    spec: SweepSpec,
    variant: Variant,
    eval_set: EvalSet,
    settings: RuntimeSettings,
    progress: bool | None,
    stage: Callable[[str], None],
) -> tuple[EvalResult, IngestSummary, str]:
    """Ingest and evaluate one variant: its evaluation, what its ingest did, and its index folder."""
    from ragpipe.evaluation.runner import evaluate, pipeline_for_dataset

    # Building the pipeline (models, index checks) is part of the ingest stage.
    stage("ingest")
    # With a dataset corpus (BEIR, or `corpus:`) the sources become that folder, as in `ragpipe eval`.
    with pipeline_for_dataset(variant.config, eval_set, settings) as pipeline:
        report = pipeline.ingest(progress=progress)
        with pipeline.index() as state:
            chunks_total, documents_total = state.facts.chunks, state.facts.documents
        stage("evaluate")
        if spec.metrics is None:
            result = evaluate(pipeline, eval_set, answer_metrics=spec.answer_metrics, progress=progress)
        else:
            result = evaluate(pipeline, eval_set, spec.metrics, answer_metrics=spec.answer_metrics, progress=progress)
        index_dir = pipeline.index_dir
    ingest = IngestSummary(
        seconds=report.seconds,
        chunks_embedded=report.chunks_embedded,
        texts_embedded=report.texts_embedded,
        chunks_indexed=report.chunks_indexed,
        chunks_total=chunks_total,
        documents_total=documents_total,
        documents_indexed=report.documents_indexed,
        documents_unchanged=report.documents_unchanged,
        failures=tuple((f.path, f.reason) for f in report.failures),
    )
    return result, ingest, str(index_dir)


def _variant_result(
    variant: Variant, result: EvalResult, ingest: IngestSummary, index_dir: str, eval_dir: str
) -> VariantResult:
    return VariantResult(
        name=variant.name,
        overrides=variant.overrides,
        axes=dict(variant.axes),
        metrics=dict(result.metrics),
        ci={metric: (low, high) for metric, (low, high) in result.ci.items()},
        per_query={metric: dict(scores) for metric, scores in result.per_query.items()},
        latency_ms=dict(result.latency_ms),
        counts=dict(result.counts),
        skipped=tuple(result.skipped),
        capped=dict(result.capped),
        ingest=ingest,
        index_dir=index_dir,
        eval_dir=eval_dir,
        config=variant.config.model_dump(mode="json"),
    )


def assemble(
    spec: SweepSpec,
    results: Sequence[VariantResult],
    eval_set: EvalSet,
    failed: Sequence[VariantFailure] = (),
) -> SweepResult:
    """The sweep result from its variants' results: ranking, paired tests, Pareto front, axis effects, best.

    Paired tests need the baseline: when it failed, ``paired_tests`` is empty.
    """
    primary = spec.primary_metric
    metrics = sweep_compare.metric_names(results, primary)
    best = sweep_compare.best_variant(results, primary)
    tests = (
        sweep_compare.paired_comparisons(
            results, spec.baseline, metrics, spec.paired_method, spec.n_resamples, spec.alpha
        )
        if any(r.name == spec.baseline for r in results)
        else {}
    )
    first_counts = results[0].counts if results else {}
    best_variant = next(v for v in spec.variants if v.name == best.name)
    return SweepResult(
        name=spec.name,
        description=spec.description,
        sweep_file=str(spec.path),
        created=datetime.now().isoformat(timespec="seconds"),
        dataset=str(spec.dataset),
        split=spec.split,
        primary_metric=primary,
        baseline=spec.baseline,
        alpha=spec.alpha,
        paired_method=spec.paired_method,
        n_resamples=spec.n_resamples,
        metrics=tuple(metrics),
        axes=tuple(spec.axis_names()),
        questions=first_counts.get("questions", len(eval_set.questions)),
        skipped_questions=first_counts.get("skipped", len(eval_set.skipped)),
        variants=tuple(results),
        failed=tuple(failed),
        ranking=tuple(r.name for r in sweep_compare.ranked(results, primary)),
        paired_tests=tests,
        pareto_front=tuple(sweep_compare.pareto_front(results, primary)),
        axis_effects=sweep_compare.axis_effects(results, primary),
        best=BestVariant(best.name, dict(best.config), _best_config_yaml(spec, best, best_variant)),
        embedding_work=EmbeddingWork.of(results),
    )


def _best_config_yaml(spec: SweepSpec, best: VariantResult, variant: Variant) -> str:
    """The best variant's full config as YAML, with relative source paths made absolute (the file is written
    far from the config it came from) and a header saying where it comes from."""
    from ragpipe.config.models import SourceConfig

    config = variant.config
    sources = [
        SourceConfig.model_validate({**s.model_dump(), "path": str((config.base_dir / s.path).resolve())})
        for s in config.sources
    ]
    portable = config.model_copy(update={"sources": sources})
    header = (
        f"# Best variant {best.name!r} of sweep {spec.name!r} ({spec.path}): "
        f"{spec.primary_metric} = {best.metrics[spec.primary_metric]:.4f} on {spec.dataset.name}.\n"
        "# The full effective config (defaults included); source paths are absolute.\n"
    )
    return header + dump_config(portable)


def write_outputs(sweep: SweepResult, out_dir: Path) -> dict[str, Path]:
    """Write leaderboard.csv/.md, report.html, best_config.yaml and sweep.json; return their paths."""
    from ragpipe.evaluation.report import render_html
    from ragpipe.evaluation.sweep_leaderboard import csv_text, markdown_text

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "leaderboard.csv": csv_text(sweep),
        "leaderboard.md": markdown_text(sweep),
        "report.html": render_html(sweep),
        "best_config.yaml": sweep.best.config_yaml,
        "sweep.json": json.dumps(sweep.to_dict(), indent=2, ensure_ascii=False) + "\n",
    }
    paths = {}
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths
