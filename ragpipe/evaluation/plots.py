"""Sweep plots as self-contained PNG data URIs (matplotlib's Agg canvas, no pyplot global state).

Each function takes :class:`~ragpipe.evaluation.sweep_variant.VariantResult` objects (and the comparisons of
:mod:`ragpipe.evaluation.sweep_compare`) and returns a string usable as ``<img src="...">``. matplotlib is
imported inside the functions.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ragpipe.evaluation.sweep_result import LOSS, WIN, AxisEffect, PairedComparison
from ragpipe.evaluation.sweep_variant import VariantResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BASE_COLOR, BASELINE_COLOR, FRONT_COLOR = "#4C72B0", "#DD8452", "#C44E52"
WIN_COLOR, LOSS_COLOR, NEUTRAL_COLOR = "#2E8B57", "#C44E52", "#808080"
LABEL_CHARS = 48


def _short(name: str, limit: int = LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def short_labels(results: Sequence[VariantResult]) -> dict[str, str]:
    """Plot labels: the variant's axis values joined by `` · `` (``token · 256``) when that keeps labels
    unique, else the variant names (shortened)."""
    labels = {r.name: " · ".join(str(v) for v in r.axes.values()) for r in results}
    if all(labels.values()) and len(set(labels.values())) == len(labels):
        return {name: _short(label) for name, label in labels.items()}
    return {r.name: _short(r.name) for r in results}


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bar_height(count: int) -> float:
    return max(1.6, 0.32 * count + 0.9)


def metric_bars(records: Sequence[VariantResult], metrics: Sequence[str], baseline: str) -> str:
    """One panel per metric: the mean of each variant (in the given order) with its 95% CI as an error bar."""
    columns = 2 if len(metrics) > 1 else 1
    rows = (len(metrics) + columns - 1) // columns
    figure = _figure(12 if columns == 2 else 7, rows * _bar_height(len(records)))
    names = [r.name for r in records]
    labels = short_labels(records)
    positions = list(range(len(records)))[::-1]  # best at the top
    for index, metric in enumerate(metrics):
        axes = figure.add_subplot(rows, columns, index + 1)
        means = [float(r.metrics.get(metric, float("nan"))) for r in records]
        lows, highs = [], []
        for record, mean in zip(records, means, strict=True):
            low, high = record.ci.get(metric, (mean, mean))
            lows.append(max(0.0, mean - low))
            highs.append(max(0.0, high - mean))
        colors = [BASELINE_COLOR if name == baseline else BASE_COLOR for name in names]
        axes.barh(positions, means, xerr=[lows, highs], color=colors, capsize=3, ecolor="#333333")
        axes.set_yticks(positions, [labels[n] for n in names] if index % columns == 0 else [""] * len(names))
        axes.set_title(metric, fontsize=10)
        axes.tick_params(labelsize=8)
        axes.grid(axis="x", alpha=0.3)
    return _data_uri(figure)


def quality_latency(
    records: Sequence[VariantResult], primary: str, front: Sequence[str], latency_key: str = "p50"
) -> str:
    """Scatter of the primary metric against query latency; the Pareto front is drawn as a step line."""
    figure = _figure(9, 5.5)
    axes = figure.add_subplot(1, 1, 1)
    points = {
        r.name: (float(r.latency_ms[latency_key]), float(r.metrics[primary]))
        for r in records
        if primary in r.metrics and latency_key in r.latency_ms
    }
    on_front = set(front)
    labels = short_labels(records)
    for name, (latency, quality) in points.items():
        color = FRONT_COLOR if name in on_front else BASE_COLOR
        axes.scatter([latency], [quality], color=color, s=40, zorder=3)
        axes.annotate(labels[name], (latency, quality), fontsize=7, xytext=(4, 3), textcoords="offset points")
    front_points = [points[name] for name in front if name in points]
    if front_points:
        xs, ys = zip(*front_points, strict=True)
        axes.step(xs, ys, where="post", color=FRONT_COLOR, linewidth=1.5, label="Pareto front", zorder=2)
        axes.legend(loc="lower right", fontsize=8)
    axes.set_xlabel(f"query latency {latency_key} (ms)")
    axes.set_ylabel(primary)
    axes.set_title(f"{primary} vs latency", fontsize=10)
    axes.grid(alpha=0.3)
    return _data_uri(figure)


def axis_effects(effects: Mapping[str, Sequence[AxisEffect]], metric: str) -> str:
    """One panel per axis: the metric averaged over the variants sharing each value of that axis."""
    names = list(effects)
    columns = min(3, max(1, len(names)))
    rows = (len(names) + columns - 1) // columns
    figure = _figure(4.2 * columns, 3.2 * rows)
    for index, axis_name in enumerate(names):
        axes = figure.add_subplot(rows, columns, index + 1)
        values = effects[axis_name]
        labels = [_short(v.value, 16) for v in values]
        means = [float(v.mean) for v in values]
        axes.bar(range(len(values)), means, color=BASE_COLOR)
        axes.set_xticks(range(len(values)), labels, rotation=30 if len(values) > 3 else 0, ha="right", fontsize=8)
        if means:
            low, high = min(means), max(means)
            pad = max((high - low) * 0.5, 0.02)
            axes.set_ylim(max(0.0, low - pad), high + pad)
        for position, mean in enumerate(means):
            axes.annotate(
                f"{mean:.3f}", (position, mean), ha="center", fontsize=7, xytext=(0, 2), textcoords="offset points"
            )
        axes.set_title(_short(axis_name, 40), fontsize=9)
        axes.set_ylabel(f"mean {metric}", fontsize=8)
        axes.grid(axis="y", alpha=0.3)
    return _data_uri(figure)


def difference_forest(
    tests: Mapping[str, Mapping[str, PairedComparison]], records: Sequence[VariantResult], metric: str, baseline: str
) -> str:
    """Mean difference to the baseline with its 95% CI per variant (in the order of ``records``);
    green/red marks significant wins/losses."""
    labels = short_labels(records)
    names = [r.name for r in records if metric in tests.get(r.name, {})]
    figure = _figure(9, _bar_height(len(names)))
    axes = figure.add_subplot(1, 1, 1)
    positions = list(range(len(names)))[::-1]
    for position, name in zip(positions, names, strict=True):
        test = tests[name][metric]
        color = {WIN: WIN_COLOR, LOSS: LOSS_COLOR}.get(test.marker, NEUTRAL_COLOR)
        diff = float(test.mean_diff)
        axes.errorbar(
            [diff],
            [position],
            xerr=[[max(0.0, diff - test.low)], [max(0.0, test.high - diff)]],
            fmt="o",
            color=color,
            capsize=3,
        )
    axes.axvline(0.0, color="#333333", linewidth=1)
    axes.set_yticks(positions, [labels[n] for n in names])
    axes.tick_params(labelsize=8)
    axes.set_xlabel(f"{metric}: variant − baseline ({labels.get(baseline, _short(baseline))})")
    axes.grid(axis="x", alpha=0.3)
    return _data_uri(figure)
