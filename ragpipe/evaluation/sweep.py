"""Run a sweep: every variant is ingested (re-using the content-addressed caches) and evaluated in turn.

Variants that change only retrieval/fusion/rerank/answer settings share one index (same fingerprint) and
embed nothing; chunking variants get their own index but only embed chunk texts the embedding cache has
never seen. The results are compared against the baseline and written as a leaderboard (CSV, Markdown),
``report.html``, ``best_config.yaml`` and ``sweep.json`` (see :func:`write_outputs`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragpipe.config.loading import dump_config
from ragpipe.config.models import PipelineConfigBase
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.evaluation import sweep_compare
from ragpipe.evaluation.sweep_spec import SweepSpec, Variant

if TYPE_CHECKING:
    from ragpipe.evaluation.datasets import EvalSet

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
) -> dict[str, Any]:
    """Run every variant of ``spec`` in order, write all outputs into ``out_dir`` and return the sweep record.

    ``on_stage`` is called before each stage of each variant (and with stage ``failed``); without it, the
    stages are shown on stderr when ``progress`` is on (default: on a terminal). ``progress`` also drives
    the ingest/evaluate bars. A variant that fails with a ragpipe error is recorded under ``failed`` and
    the sweep goes on; if every variant fails, the first error is raised.
    """
    from ragpipe.evaluation.datasets import load_dataset
    from ragpipe.progress import progress_enabled

    settings = settings or RuntimeSettings()
    report_stage = on_stage or (_print_stage if progress_enabled(progress) else None)
    eval_set = load_dataset(spec.dataset, split=spec.split, corpus=spec.corpus, work_dir=settings.data_dir)
    records: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    configs: dict[str, PipelineConfigBase] = {}
    total = len(spec.variants)
    for index, variant in enumerate(spec.variants, start=1):

        def stage(name: str, index: int = index, variant: Variant = variant) -> None:
            if report_stage is not None:
                report_stage(StageEvent(index, total, variant.name, name))

        configs[variant.name] = variant.config
        slug = variant_slug(index, variant.name)
        try:
            record = _run_variant(spec, variant, eval_set, settings, progress, stage)
        except RagpipeError as exc:
            failed.append({"name": variant.name, "error": f"{type(exc).__name__}: {exc}"})
            stage("failed")
            continue
        record["eval_dir"] = f"variants/{slug}"
        record["result"].write(out_dir / "variants" / slug)
        records.append(_record_dict(record))
    if not records:
        raise _first_error_type(failed)(f"{spec.path}: every variant failed; the first: {failed[0]['error']}")
    sweep = assemble(spec, records, configs, eval_set, failed)
    write_outputs(sweep, out_dir)
    return sweep


def _first_error_type(failed: Sequence[Mapping[str, str]]) -> type[RagpipeError]:
    """ConfigError when the first failure was one (so the CLI exits 2), else RagpipeError."""
    return ConfigError if failed and failed[0]["error"].startswith("ConfigError") else RagpipeError


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
) -> dict[str, Any]:
    from ragpipe.evaluation.runner import evaluate, pipeline_for_dataset

    # With a dataset corpus (BEIR, or `corpus:`) the sources become that folder, as in `ragpipe eval`.
    with pipeline_for_dataset(variant.config, eval_set, settings) as pipeline:
        stage("ingest")
        report = pipeline.ingest(progress=progress)
        chunks_total = pipeline.components.catalog.count_chunks()
        # Every document-side text this pipeline embedded: chunks plus, for the semantic chunker, the
        # sentence groups it embeds to find boundaries (queries are not counted).
        texts_embedded = int(getattr(pipeline.components.embedder, "computed", report.chunks_embedded))
        documents_total = pipeline.components.catalog.count_documents()
        stage("evaluate")
        if spec.metrics is None:
            result = evaluate(pipeline, eval_set, answer_metrics=spec.answer_metrics, progress=progress)
        else:
            result = evaluate(pipeline, eval_set, spec.metrics, answer_metrics=spec.answer_metrics, progress=progress)
        index_dir = pipeline.index_dir
    ingest = {
        "seconds": report.seconds,
        "chunks_embedded": report.chunks_embedded,
        "texts_embedded": texts_embedded,
        "chunks_indexed": report.chunks_indexed,
        "chunks_total": chunks_total,
        "documents_total": documents_total,
        "documents_indexed": report.documents_indexed,
        "documents_unchanged": report.documents_unchanged,
        "failures": [{"path": f.path, "reason": f.reason} for f in report.failures],
    }
    return {"variant": variant, "result": result, "ingest": ingest, "index_dir": str(index_dir)}


def _record_dict(record: Mapping[str, Any]) -> dict[str, Any]:
    variant: Variant = record["variant"]
    summary = record["result"].to_summary()
    return {
        "name": variant.name,
        "overrides": list(variant.overrides),
        "axes": dict(variant.axes),
        "metrics": summary["metrics"],
        "ci": {m: list(ci) for m, ci in summary.get("ci", {}).items()},
        "per_query": summary.get("per_query", {}),
        "latency_ms": summary.get("latency_ms", {}),
        "counts": summary.get("counts", {}),
        "skipped": summary.get("skipped", []),
        "ingest": record["ingest"],
        "index_dir": record["index_dir"],
        "eval_dir": record["eval_dir"],
        "config": variant.config.model_dump(mode="json"),
    }


def assemble(
    spec: SweepSpec,
    records: Sequence[Mapping[str, Any]],
    configs: Mapping[str, PipelineConfigBase],
    eval_set: EvalSet,
    failed: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """The sweep record (what ``sweep.json`` holds) from the variant records: ranking, tests, front, effects.

    Paired tests need the baseline: when it failed, ``paired_tests`` is empty.
    """
    primary = spec.primary_metric
    metrics = sweep_compare.metric_names(records, primary)
    best = sweep_compare.best_variant(records, primary)
    tests = (
        sweep_compare.paired_comparisons(
            records, spec.baseline, metrics, spec.paired_method, spec.n_resamples, spec.alpha
        )
        if any(r["name"] == spec.baseline for r in records)
        else {}
    )
    first_counts = records[0].get("counts", {}) if records else {}
    return {
        "name": spec.name,
        "description": spec.description,
        "sweep_file": str(spec.path),
        "created": datetime.now().isoformat(timespec="seconds"),
        "dataset": str(spec.dataset),
        "split": spec.split,
        "primary_metric": primary,
        "baseline": spec.baseline,
        "alpha": spec.alpha,
        "paired_method": spec.paired_method,
        "n_resamples": spec.n_resamples,
        "metrics": metrics,
        "axes": spec.axis_names(),
        "counts": {
            "questions": first_counts.get("questions", len(eval_set.questions)),
            "skipped": first_counts.get("skipped", len(eval_set.skipped)),
        },
        "variants": [dict(r) for r in records],
        "failed": [dict(f) for f in failed],
        "ranking": [r["name"] for r in sweep_compare.ranked(records, primary)],
        "paired_tests": tests,
        "pareto_front": sweep_compare.pareto_front(records, primary),
        "axis_effects": sweep_compare.axis_effects(records, primary),
        "best": {
            "name": best["name"],
            "config": configs[best["name"]].model_dump(mode="json"),
            "config_yaml": _best_config_yaml(spec, best, configs[best["name"]]),
        },
        "embedding_work": {
            "chunks_embedded": sum(r["ingest"]["chunks_embedded"] for r in records),
            "chunks_indexed_total": sum(r["ingest"]["chunks_total"] for r in records),
            "texts_embedded": sum(r["ingest"].get("texts_embedded", r["ingest"]["chunks_embedded"]) for r in records),
            "ingest_seconds": sum(r["ingest"]["seconds"] for r in records),
        },
    }


def _best_config_yaml(spec: SweepSpec, best: Mapping[str, Any], config: PipelineConfigBase) -> str:
    """The best variant's full config as YAML, with relative source paths made absolute (the file is written
    far from the config it came from) and a header saying where it comes from."""
    from ragpipe.config.models import SourceConfig

    sources = [
        SourceConfig.model_validate({**s.model_dump(), "path": str((config.base_dir / s.path).resolve())})
        for s in config.sources
    ]
    portable = config.model_copy(update={"sources": sources})
    score = best["metrics"][spec.primary_metric]
    header = (
        f"# Best variant {best['name']!r} of sweep {spec.name!r} ({spec.path}): "
        f"{spec.primary_metric} = {score:.4f} on {spec.dataset.name}.\n"
        "# The full effective config (defaults included); source paths are absolute.\n"
    )
    return header + dump_config(portable)


def write_outputs(sweep: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write leaderboard.csv/.md, report.html, best_config.yaml and sweep.json; return their paths."""
    from ragpipe.evaluation.report import render_html
    from ragpipe.evaluation.sweep_leaderboard import csv_text, markdown_text

    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "leaderboard.csv": csv_text(sweep),
        "leaderboard.md": markdown_text(sweep),
        "report.html": render_html(sweep),
        "best_config.yaml": sweep["best"]["config_yaml"],
        "sweep.json": json.dumps(sweep, indent=2, ensure_ascii=False) + "\n",
    }
    paths = {}
    for name, text in files.items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths
