"""Comparisons across the variants of a sweep: ranking, paired tests vs the baseline, Pareto front, axis effects.

Every function works on :class:`~ragpipe.evaluation.sweep_variant.VariantResult` objects, reading their
``metrics`` (metric -> mean), ``per_query`` (metric -> question id -> score), ``latency_ms`` (``p50``/``p95``)
and ``axes`` (axis label -> value label). All metrics are "higher is better".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from ragpipe.evaluation.stats import paired_test
from ragpipe.evaluation.sweep_result import LOSS, WIN, AxisEffect, PairedComparison
from ragpipe.evaluation.sweep_variant import VariantResult

__all__ = [
    "LOSS",
    "WIN",
    "axis_effects",
    "best_variant",
    "holm_adjust",
    "metric_names",
    "paired_comparisons",
    "pareto_front",
    "ranked",
]


def metric_names(results: Sequence[VariantResult], primary: str) -> list[str]:
    """The primary metric first, then every other metric in first-seen order."""
    names: dict[str, None] = {primary: None}
    for result in results:
        names.update(dict.fromkeys(result.metrics))
    return [n for n in names if any(n in r.metrics for r in results)]


def ranked(results: Sequence[VariantResult], primary: str) -> list[VariantResult]:
    """Best first by the primary metric; ties by lower p50 latency, then by name (deterministic)."""

    def key(result: VariantResult) -> tuple[float, float, str]:
        score = result.metrics.get(primary)
        latency = result.latency_ms.get("p50")
        return (
            -score if score is not None else float("inf"),
            latency if latency is not None else float("inf"),
            result.name,
        )

    return sorted(results, key=key)


def holm_adjust(p_values: Mapping[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone), keyed like the input."""
    order = sorted(p_values, key=lambda k: p_values[k])
    count = len(order)
    adjusted: dict[str, float] = {}
    running = 0.0
    for position, key in enumerate(order):
        running = max(running, min(1.0, (count - position) * p_values[key]))
        adjusted[key] = running
    return adjusted


def paired_comparisons(
    results: Sequence[VariantResult],
    baseline: str,
    metrics: Sequence[str],
    method: Literal["randomization", "bootstrap"] = "randomization",
    n_resamples: int = 10_000,
    alpha: float = 0.05,
) -> dict[str, dict[str, PairedComparison]]:
    """``variant -> metric -> test`` of every non-baseline variant against the baseline, paired by question id.

    ``p_holm`` is Holm-adjusted over the variants, per metric; the marker is ``▲``/``▼`` for a significant
    win/loss at ``alpha`` on ``p_holm``. A metric with no question scored by both runs is left out.
    """
    by_name = {r.name: r for r in results}
    if baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not among the variants: {', '.join(by_name)}")
    base_scores = by_name[baseline].per_query
    tests: dict[str, dict[str, PairedComparison]] = {r.name: {} for r in results if r.name != baseline}
    for metric in metrics:
        reference = base_scores.get(metric) or {}
        raw = {}
        for name in tests:
            scores = by_name[name].per_query.get(metric) or {}
            shared = sorted(set(scores) & set(reference))
            if shared:
                result = paired_test(
                    [scores[q] for q in shared], [reference[q] for q in shared], n_resamples=n_resamples, method=method
                )
                raw[name] = (result, len(shared))
        adjusted = holm_adjust({name: result.p_value for name, (result, _) in raw.items()})
        for name, (result, count) in raw.items():
            significant = adjusted[name] < alpha and result.mean_diff != 0.0
            marker: Literal["▲", "▼", ""] = (WIN if result.mean_diff > 0 else LOSS) if significant else ""
            tests[name][metric] = PairedComparison(
                mean_diff=result.mean_diff,
                low=result.low,
                high=result.high,
                p_value=result.p_value,
                n=count,
                p_holm=adjusted[name],
                marker=marker,
            )
    return tests


def pareto_front(results: Sequence[VariantResult], primary: str, latency_key: str = "p50") -> list[str]:
    """Names of the variants no other variant beats on both quality (higher) and latency (lower).

    Sorted by latency; a variant equal to another on both counts stays on the front.
    """
    points = [
        (r.name, r.metrics[primary], r.latency_ms[latency_key])
        for r in results
        if primary in r.metrics and latency_key in r.latency_ms
    ]
    front = []
    for name, quality, latency in points:
        dominated = any(q >= quality and lat <= latency and (q > quality or lat < latency) for _, q, lat in points)
        if not dominated:
            front.append((latency, -quality, name))
    return [name for _, _, name in sorted(front)]


def axis_effects(results: Sequence[VariantResult], metric: str) -> dict[str, tuple[AxisEffect, ...]]:
    """``axis -> effects``: the metric averaged over all variants sharing each axis value.

    This marginalises over the other axes (exact for a full grid; for an explicit variant list it averages
    over whatever variants exist). Axes with a single value are left out (no effect to show).
    """
    axes: dict[str, dict[str, list[float]]] = {}
    for result in results:
        score = result.metrics.get(metric)
        if score is None:
            continue
        for axis, value in result.axes.items():
            axes.setdefault(axis, {}).setdefault(str(value), []).append(float(score))
    return {
        axis: tuple(AxisEffect(value, sum(scores) / len(scores), len(scores)) for value, scores in values.items())
        for axis, values in axes.items()
        if len(values) >= 2
    }


def best_variant(results: Sequence[VariantResult], primary: str) -> VariantResult:
    """The top variant of :func:`ranked`; ValueError when no variant has the primary metric."""
    top = ranked(results, primary)
    if not top or primary not in top[0].metrics:
        available = sorted({m for r in results for m in r.metrics})
        raise ValueError(f"no variant has the primary metric {primary!r}; metrics present: {', '.join(available)}")
    return top[0]
