"""Comparisons across the variants of a sweep: ranking, paired tests vs the baseline, Pareto front, axis effects.

Every function works on plain variant records (the dicts stored in ``sweep.json``), each holding at least
``name``, ``metrics`` (metric -> mean), ``per_query`` (metric -> question id -> score), ``latency_ms``
(``p50``/``p95``) and ``axes`` (axis label -> value label). All metrics are "higher is better".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ragpipe.evaluation.stats import paired_test

Record = Mapping[str, Any]
WIN, LOSS = "▲", "▼"


def metric_names(records: Sequence[Record], primary: str) -> list[str]:
    """The primary metric first, then every other metric in first-seen order."""
    names: dict[str, None] = {primary: None}
    for record in records:
        names.update(dict.fromkeys(record.get("metrics", {})))
    return [n for n in names if any(n in r.get("metrics", {}) for r in records)]


def ranked(records: Sequence[Record], primary: str) -> list[Record]:
    """Best first by the primary metric; ties by lower p50 latency, then by name (deterministic)."""

    def key(record: Record) -> tuple[float, float, str]:
        score = record.get("metrics", {}).get(primary)
        latency = record.get("latency_ms", {}).get("p50")
        return (
            -score if score is not None else float("inf"),
            latency if latency is not None else float("inf"),
            record["name"],
        )

    return sorted(records, key=key)


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
    records: Sequence[Record],
    baseline: str,
    metrics: Sequence[str],
    method: Literal["randomization", "bootstrap"] = "randomization",
    n_resamples: int = 10_000,
    alpha: float = 0.05,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``variant -> metric -> test`` of every non-baseline variant against the baseline, paired by question id.

    Each test holds ``mean_diff`` (variant - baseline), its bootstrap ``low``/``high``, the raw ``p_value``,
    ``p_holm`` (Holm-adjusted over the variants, per metric), ``n`` (paired questions) and ``marker``
    (``▲`` significant win, ``▼`` significant loss at ``alpha`` on ``p_holm``, else empty).
    """
    by_name = {r["name"]: r for r in records}
    if baseline not in by_name:
        raise ValueError(f"baseline {baseline!r} is not among the variants: {', '.join(by_name)}")
    base_scores = by_name[baseline].get("per_query", {})
    tests: dict[str, dict[str, dict[str, Any]]] = {r["name"]: {} for r in records if r["name"] != baseline}
    for metric in metrics:
        reference = base_scores.get(metric) or {}
        raw: dict[str, dict[str, Any]] = {}
        for name in tests:
            scores = by_name[name].get("per_query", {}).get(metric) or {}
            shared = sorted(set(scores) & set(reference))
            if not shared:
                continue
            result = paired_test(
                [scores[q] for q in shared],
                [reference[q] for q in shared],
                n_resamples=n_resamples,
                method=method,
            )
            raw[name] = {
                "mean_diff": result.mean_diff,
                "low": result.low,
                "high": result.high,
                "p_value": result.p_value,
                "n": len(shared),
            }
        adjusted = holm_adjust({name: test["p_value"] for name, test in raw.items()})
        for name, test in raw.items():
            test["p_holm"] = adjusted[name]
            significant = adjusted[name] < alpha and test["mean_diff"] != 0.0
            test["marker"] = (WIN if test["mean_diff"] > 0 else LOSS) if significant else ""
            tests[name][metric] = test
    return tests


def pareto_front(records: Sequence[Record], primary: str, latency_key: str = "p50") -> list[str]:
    """Names of the variants no other variant beats on both quality (higher) and latency (lower).

    Sorted by latency; a variant equal to another on both counts stays on the front.
    """
    points = [
        (r["name"], r["metrics"][primary], r["latency_ms"][latency_key])
        for r in records
        if primary in r.get("metrics", {}) and latency_key in r.get("latency_ms", {})
    ]
    front = []
    for name, quality, latency in points:
        dominated = any(q >= quality and lat <= latency and (q > quality or lat < latency) for _, q, lat in points)
        if not dominated:
            front.append((latency, -quality, name))
    return [name for _, _, name in sorted(front)]


def axis_effects(records: Sequence[Record], metric: str) -> dict[str, list[dict[str, Any]]]:
    """``axis -> [{value, mean, n}]``: the metric averaged over all variants sharing each axis value.

    This marginalises over the other axes (exact for a full grid; for an explicit variant list it averages
    over whatever variants exist). Axes with a single value are left out (no effect to show).
    """
    axes: dict[str, dict[str, list[float]]] = {}
    for record in records:
        score = record.get("metrics", {}).get(metric)
        if score is None:
            continue
        for axis, value in record.get("axes", {}).items():
            axes.setdefault(axis, {}).setdefault(str(value), []).append(float(score))
    effects: dict[str, list[dict[str, Any]]] = {}
    for axis, values in axes.items():
        if len(values) < 2:
            continue
        effects[axis] = [
            {"value": value, "mean": sum(scores) / len(scores), "n": len(scores)} for value, scores in values.items()
        ]
    return effects


def best_variant(records: Sequence[Record], primary: str) -> Record:
    """The top variant of :func:`ranked`; ValueError when no variant has the primary metric."""
    top = ranked(records, primary)
    if not top or primary not in top[0].get("metrics", {}):
        available = sorted({m for r in records for m in r.get("metrics", {})})
        raise ValueError(f"no variant has the primary metric {primary!r}; metrics present: {', '.join(available)}")
    return top[0]
