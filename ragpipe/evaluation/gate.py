"""Regression gate: did a metric fall by more than an allowed drop, with statistical significance?

Both sides are eval summaries (``EvalResult.to_summary()`` or a ``summary.json``). A metric regresses
only when (1) its mean over the questions both runs scored dropped by more than ``max_drop`` (an absolute
difference: 0.01 is one point of nDCG) **and** (2) a paired randomization test over those same
questions (:func:`ragpipe.evaluation.stats.paired_test`) gives ``p < alpha``. Every metric is
higher-is-better. Metrics only one side has are not compared (:func:`compared_metrics` says which are).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragpipe.errors import ConfigError
from ragpipe.evaluation.stats import paired_test


@dataclass(frozen=True)
class Regression:
    """A significant drop of ``metric``: means over the ``questions`` both runs scored."""

    metric: str
    baseline: float
    current: float
    drop: float
    p_value: float
    questions: int

    def describe(self) -> str:
        return (
            f"{self.metric}: {self.baseline:.4f} -> {self.current:.4f} (drop {self.drop:.4f}, "
            f"p={self.p_value:.4g}, {self.questions} questions)"
        )


def _per_query(summary: Mapping[str, Any], side: str) -> Mapping[str, Mapping[str, float]]:
    per_query = summary.get("per_query")
    if not isinstance(per_query, Mapping):
        raise ConfigError(f"the {side} summary has no 'per_query' scores; paired tests need them")
    return per_query


def compared_metrics(current: Mapping[str, Any], baseline: Mapping[str, Any]) -> list[str]:
    """Metrics both summaries report, in the baseline's order."""
    mine = _per_query(current, "current")
    return [metric for metric in _per_query(baseline, "baseline") if metric in mine]


def check_regression(
    current: Mapping[str, Any],
    baseline: Mapping[str, Any],
    max_drop: float,
    alpha: float = 0.05,
    metrics: Sequence[str] | None = None,
) -> list[Regression]:
    """Every metric (of ``metrics``, default: all both runs report) that regressed significantly.

    ConfigError when ``max_drop`` < 0, ``alpha`` is not in (0, 1), a requested metric is missing from
    either side, or the runs share no question for a compared metric (different datasets).
    """
    if max_drop < 0:
        raise ConfigError(f"max_drop must be >= 0 (an absolute drop such as 0.01), got {max_drop}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must lie strictly between 0 and 1 (e.g. 0.05), got {alpha}")
    names = compared_metrics(current, baseline)
    if metrics is not None:
        missing = [m for m in metrics if m not in names]
        if missing:
            raise ConfigError(f"metrics {missing} are not reported by both runs; comparable: {', '.join(names)}")
        names = list(metrics)
    if not names:
        raise ConfigError("the current run and the baseline report no metric in common; nothing to compare")
    base_scores, current_scores = _per_query(baseline, "baseline"), _per_query(current, "current")
    regressions = []
    for metric in names:
        common = [qid for qid in base_scores[metric] if qid in current_scores[metric]]
        if not common:
            raise ConfigError(
                f"{metric}: the current run and the baseline share no question id; were they run on the same dataset?"
            )
        before = [float(base_scores[metric][qid]) for qid in common]
        after = [float(current_scores[metric][qid]) for qid in common]
        base_mean, current_mean = sum(before) / len(before), sum(after) / len(after)
        drop = base_mean - current_mean
        if drop <= max_drop:
            continue
        p_value = paired_test(after, before).p_value
        if p_value < alpha:
            regressions.append(Regression(metric, base_mean, current_mean, drop, p_value, len(common)))
    return regressions
