"""The typed result of a sweep: what ``run_sweep`` returns and ``sweep.json`` holds.

Every type is frozen; ``to_dict()`` gives the JSON form written to ``sweep.json`` (the file format) and
``from_dict()`` reads it back. The per-variant types live in :mod:`ragpipe.evaluation.sweep_variant`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ragpipe.evaluation.sweep_variant import IngestSummary, VariantFailure, VariantResult

__all__ = [
    "LOSS",
    "WIN",
    "AxisEffect",
    "BestVariant",
    "EmbeddingWork",
    "IngestSummary",
    "PairedComparison",
    "SweepResult",
    "VariantFailure",
    "VariantResult",
]

WIN, LOSS = "▲", "▼"


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """A variant against the baseline on one metric, paired by question id."""

    mean_diff: float
    """Mean of variant - baseline."""
    low: float
    high: float
    """Bootstrap 95% interval of ``mean_diff``."""
    p_value: float
    n: int
    """Questions both runs scored."""
    p_holm: float
    """``p_value`` Holm-adjusted over the variants (per metric)."""
    marker: Literal["▲", "▼", ""]
    """``▲`` significant win, ``▼`` significant loss (on ``p_holm``), else empty."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean_diff": self.mean_diff,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "n": self.n,
            "p_holm": self.p_holm,
            "marker": self.marker,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairedComparison:
        keys = ("mean_diff", "low", "high", "p_value", "n", "p_holm", "marker")
        return cls(**{key: data[key] for key in keys})


@dataclass(frozen=True, slots=True)
class AxisEffect:
    """The metric averaged over the ``n`` variants whose axis has this ``value``."""

    value: str
    mean: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "mean": self.mean, "n": self.n}


@dataclass(frozen=True, slots=True)
class EmbeddingWork:
    """What the whole sweep embedded, against what independent cold ingests would have."""

    chunks_embedded: int
    chunks_indexed_total: int
    """Chunks indexed summed over the variants (what cold ingests would embed)."""
    texts_embedded: int
    ingest_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunks_embedded": self.chunks_embedded,
            "chunks_indexed_total": self.chunks_indexed_total,
            "texts_embedded": self.texts_embedded,
            "ingest_seconds": self.ingest_seconds,
        }

    @classmethod
    def of(cls, variants: Sequence[VariantResult]) -> EmbeddingWork:
        return cls(
            chunks_embedded=sum(v.ingest.chunks_embedded for v in variants),
            chunks_indexed_total=sum(v.ingest.chunks_total for v in variants),
            texts_embedded=sum(v.ingest.texts_embedded for v in variants),
            ingest_seconds=sum(v.ingest.seconds for v in variants),
        )


@dataclass(frozen=True, slots=True)
class BestVariant:
    """The top variant by the primary metric, with its full config (JSON form and portable YAML)."""

    name: str
    config: Mapping[str, Any] = field(repr=False)
    config_yaml: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": dict(self.config), "config_yaml": self.config_yaml}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BestVariant:
        return cls(data["name"], dict(data["config"]), data["config_yaml"])


@dataclass(frozen=True, slots=True)
class SweepResult:
    """Everything one sweep produced: ``variants`` in run order, ``ranking`` their names best first."""

    name: str
    description: str
    sweep_file: str
    created: str
    dataset: str
    split: str
    primary_metric: str
    baseline: str
    alpha: float
    paired_method: Literal["randomization", "bootstrap"]
    n_resamples: int
    metrics: tuple[str, ...]
    """The primary metric first, then every other metric reported."""
    axes: tuple[str, ...]
    questions: int
    skipped_questions: int
    variants: tuple[VariantResult, ...]
    failed: tuple[VariantFailure, ...]
    ranking: tuple[str, ...]
    paired_tests: Mapping[str, Mapping[str, PairedComparison]]
    """Variant -> metric -> test against the baseline (empty when the baseline failed)."""
    pareto_front: tuple[str, ...]
    axis_effects: Mapping[str, tuple[AxisEffect, ...]]
    best: BestVariant
    embedding_work: EmbeddingWork

    def variant(self, name: str) -> VariantResult:
        """The variant called ``name`` (KeyError if none ran under that name)."""
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise KeyError(name)

    def ordered(self) -> list[VariantResult]:
        """The variants best first (the order of ``ranking``)."""
        return [self.variant(name) for name in self.ranking]

    def paired(self, variant: str, metric: str) -> PairedComparison | None:
        """The test of ``variant`` vs the baseline on ``metric`` (None for the baseline or an untested metric)."""
        return self.paired_tests.get(variant, {}).get(metric)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form written to ``sweep.json``."""
        return {
            "name": self.name,
            "description": self.description,
            "sweep_file": self.sweep_file,
            "created": self.created,
            "dataset": self.dataset,
            "split": self.split,
            "primary_metric": self.primary_metric,
            "baseline": self.baseline,
            "alpha": self.alpha,
            "paired_method": self.paired_method,
            "n_resamples": self.n_resamples,
            "metrics": list(self.metrics),
            "axes": list(self.axes),
            "counts": {"questions": self.questions, "skipped": self.skipped_questions},
            "variants": [v.to_dict() for v in self.variants],
            "failed": [f.to_dict() for f in self.failed],
            "ranking": list(self.ranking),
            "paired_tests": {
                name: {metric: test.to_dict() for metric, test in tests.items()}
                for name, tests in self.paired_tests.items()
            },
            "pareto_front": list(self.pareto_front),
            "axis_effects": {axis: [e.to_dict() for e in effects] for axis, effects in self.axis_effects.items()},
            "best": self.best.to_dict(),
            "embedding_work": self.embedding_work.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepResult:
        """Read back what :meth:`to_dict` wrote (e.g. a loaded ``sweep.json``)."""
        scalars = ("name", "description", "sweep_file", "created", "dataset", "split", "primary_metric")
        scalars += ("baseline", "alpha", "paired_method", "n_resamples")
        counts = data.get("counts", {})
        return cls(
            **{key: data[key] for key in scalars},
            metrics=tuple(data["metrics"]),
            axes=tuple(data["axes"]),
            questions=counts.get("questions", 0),
            skipped_questions=counts.get("skipped", 0),
            variants=tuple(VariantResult.from_dict(v) for v in data["variants"]),
            failed=tuple(VariantFailure.from_dict(f) for f in data.get("failed", [])),
            ranking=tuple(data["ranking"]),
            paired_tests={
                name: {metric: PairedComparison.from_dict(t) for metric, t in tests.items()}
                for name, tests in data["paired_tests"].items()
            },
            pareto_front=tuple(data["pareto_front"]),
            axis_effects={
                axis: tuple(AxisEffect(**e) for e in effects) for axis, effects in data["axis_effects"].items()
            },
            best=BestVariant.from_dict(data["best"]),
            embedding_work=EmbeddingWork(**data["embedding_work"]),
        )
