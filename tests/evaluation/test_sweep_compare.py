"""Comparisons across sweep variants: ranking, Holm adjustment, paired tests, Pareto front, axis effects."""

from __future__ import annotations

import numpy as np
import pytest

from ragpipe.evaluation.sweep_compare import (
    LOSS,
    WIN,
    axis_effects,
    best_variant,
    holm_adjust,
    metric_names,
    paired_comparisons,
    pareto_front,
    ranked,
)
from ragpipe.evaluation.sweep_result import AxisEffect
from ragpipe.evaluation.sweep_variant import VariantResult


def record(name: str, ndcg: float, p50: float, axes: dict[str, str] | None = None) -> VariantResult:
    return VariantResult(name, metrics={"ndcg@10": ndcg}, latency_ms={"p50": p50, "p95": p50 * 2}, axes=axes or {})


def test_ranked_sorts_by_primary_then_latency_then_name() -> None:
    records = [record("b", 0.5, 10), record("a", 0.7, 30), record("c", 0.5, 5), record("d", 0.5, 5)]
    assert [r.name for r in ranked(records, "ndcg@10")] == ["a", "c", "d", "b"]
    assert best_variant(records, "ndcg@10").name == "a"
    with pytest.raises(ValueError, match="no variant has the primary metric 'mrr@10'; metrics present: ndcg@10"):
        best_variant(records, "mrr@10")


def test_metric_names_put_the_primary_first() -> None:
    records = [VariantResult("x", metrics={"recall@10": 1.0, "ndcg@10": 0.5, "token_f1": 0.2})]
    assert metric_names(records, "ndcg@10") == ["ndcg@10", "recall@10", "token_f1"]


def test_holm_adjustment_matches_hand_computation() -> None:
    adjusted = holm_adjust({"a": 0.01, "b": 0.04, "c": 0.03})
    # sorted: a 0.01*3 = 0.03; c 0.03*2 = 0.06; b max(0.06, 0.04*1) = 0.06
    assert adjusted == pytest.approx({"a": 0.03, "c": 0.06, "b": 0.06})
    assert holm_adjust({"only": 0.2}) == {"only": 0.2}


def test_paired_comparisons_mark_clear_wins_and_losses_only() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.2, 0.6, size=40)
    questions = [f"q{i}" for i in range(40)]

    def scores(values: np.ndarray) -> dict[str, dict[str, float]]:
        return {"ndcg@10": dict(zip(questions, values.tolist(), strict=True))}

    records = [
        VariantResult("base", per_query=scores(base)),
        VariantResult("better", per_query=scores(base + 0.2)),
        VariantResult("worse", per_query=scores(base - rng.uniform(0.1, 0.3, size=40))),
        VariantResult("same", per_query=scores(base)),
        VariantResult("noise", per_query=scores(base + rng.normal(0, 0.01, size=40))),
    ]
    tests = paired_comparisons(records, "base", ["ndcg@10", "missing@10"], n_resamples=2000)
    assert set(tests) == {"better", "worse", "same", "noise"}
    better = tests["better"]["ndcg@10"]
    assert better.marker == WIN and better.mean_diff == pytest.approx(0.2) and better.n == 40
    assert better.low == pytest.approx(0.2) and better.high == pytest.approx(0.2)  # a constant shift
    assert tests["worse"]["ndcg@10"].marker == LOSS and tests["worse"]["ndcg@10"].mean_diff < 0
    assert tests["same"]["ndcg@10"].marker == "" and tests["same"]["ndcg@10"].p_value == 1.0
    assert tests["noise"]["ndcg@10"].marker == ""
    assert better.p_holm >= better.p_value
    assert "missing@10" not in tests["better"]
    with pytest.raises(ValueError, match="baseline 'nope'"):
        paired_comparisons(records, "nope", ["ndcg@10"])


def test_paired_comparisons_pair_by_question_id() -> None:
    base = {"ndcg@10": {"q1": 0.0, "q2": 1.0, "q3": 0.5}}
    other = {"ndcg@10": {"q2": 1.0, "q1": 0.0, "q4": 0.9}}  # q4 unknown to the baseline, q3 missing
    tests = paired_comparisons(
        [VariantResult("b", per_query=base), VariantResult("v", per_query=other)], "b", ["ndcg@10"]
    )
    assert tests["v"]["ndcg@10"].n == 2 and tests["v"]["ndcg@10"].mean_diff == 0.0


def test_pareto_front_keeps_only_undominated_variants() -> None:
    records = [
        record("fast-weak", 0.5, 1),
        record("slow-strong", 0.9, 50),
        record("dominated", 0.6, 60),
        record("middle", 0.7, 10),
        record("tie-of-middle", 0.7, 10),
    ]
    assert pareto_front(records, "ndcg@10") == ["fast-weak", "middle", "tie-of-middle", "slow-strong"]


def test_axis_effects_average_over_the_other_axes() -> None:
    records = [
        record("a", 0.2, 1, {"size": "128", "type": "token"}),
        record("b", 0.4, 1, {"size": "256", "type": "token"}),
        record("c", 0.6, 1, {"size": "128", "type": "sentence"}),
        record("d", 1.0, 1, {"size": "256", "type": "sentence"}),
        record("e", 0.9, 1, {"fixed": "x"}),
    ]
    effects = axis_effects(records, "ndcg@10")
    assert set(effects) == {"size", "type"}  # one-valued axis "fixed" has no effect to show
    assert effects["size"] == (AxisEffect("128", pytest.approx(0.4), 2), AxisEffect("256", pytest.approx(0.7), 2))
    assert [e.mean for e in effects["type"]] == pytest.approx([0.3, 0.8])
