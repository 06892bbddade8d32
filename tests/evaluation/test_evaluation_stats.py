"""Bootstrap confidence intervals and paired tests: coverage, determinism, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from ragpipe.evaluation import stats
from ragpipe.evaluation.stats import PairedResult, bootstrap_ci, paired_test

METHODS = ("randomization", "bootstrap")


def test_bootstrap_ci_brackets_the_mean_and_matches_the_normal_approximation() -> None:
    values = np.random.default_rng(1).normal(0.6, 0.2, size=400)
    mean, low, high = bootstrap_ci(values)
    assert mean == pytest.approx(values.mean())
    assert low < mean < high
    standard_error = values.std(ddof=1) / np.sqrt(values.size)
    assert high - low == pytest.approx(2 * 1.96 * standard_error, rel=0.15)
    assert (high + low) / 2 == pytest.approx(mean, abs=0.2 * standard_error)


def test_bootstrap_ci_is_deterministic_given_the_seed() -> None:
    values = np.random.default_rng(2).uniform(size=50)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_bootstrap_ci_narrows_with_lower_confidence_and_is_a_point_for_constant_values() -> None:
    values = np.random.default_rng(5).uniform(size=80)
    _, low_95, high_95 = bootstrap_ci(values, confidence=0.95)
    _, low_50, high_50 = bootstrap_ci(values, confidence=0.5)
    assert low_95 < low_50 < high_50 < high_95
    assert bootstrap_ci([0.25] * 10) == (0.25, 0.25, 0.25)


def test_bootstrap_ci_blocks_do_not_change_the_result_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Many queries with a tiny block size still give n_resamples statistics (several blocks)."""
    values = np.random.default_rng(6).uniform(size=1000)
    monkeypatch.setattr(stats, "BLOCK_ELEMENTS", 3000)
    mean, low, high = bootstrap_ci(values, n_resamples=500)
    assert low < mean < high


@pytest.mark.parametrize("bad", [[], [1.0, float("nan")], [[1.0, 2.0]]])
def test_bootstrap_ci_rejects_bad_values(bad: list) -> None:
    with pytest.raises(ValueError, match="values"):
        bootstrap_ci(bad)


def test_bootstrap_ci_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0, 2.0], confidence=1.0)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci([1.0, 2.0], n_resamples=0)


@pytest.mark.parametrize("method", METHODS)
def test_identical_systems_give_p_one(method: str) -> None:
    scores = np.random.default_rng(7).uniform(size=60)
    result = paired_test(scores, scores.copy(), method=method)
    assert result == PairedResult(mean_diff=0.0, low=0.0, high=0.0, p_value=1.0)


@pytest.mark.parametrize("method", METHODS)
def test_a_clear_shift_is_significant(method: str) -> None:
    rng = np.random.default_rng(8)
    b = rng.uniform(0.2, 0.6, size=50)
    a = b + 0.15 + rng.normal(0, 0.05, size=50)
    result = paired_test(a, b, method=method)
    assert result.p_value < 0.01
    assert result.low < result.mean_diff < result.high
    assert result.low > 0.1 and result.high < 0.2
    assert result.mean_diff == pytest.approx(float(np.mean(a - b)))


@pytest.mark.parametrize("method", METHODS)
def test_noise_without_shift_is_not_significant(method: str) -> None:
    rng = np.random.default_rng(9)
    b = rng.uniform(size=80)
    a = b + rng.normal(0, 0.1, size=80)
    a -= np.mean(a - b)  # exactly zero mean difference
    result = paired_test(a, b, method=method)
    assert result.p_value > 0.9
    assert result.low < 0 < result.high


@pytest.mark.parametrize("method", METHODS)
def test_p_value_is_symmetric_and_deterministic(method: str) -> None:
    rng = np.random.default_rng(10)
    b = rng.uniform(size=40)
    noise = rng.normal(0, 0.1, size=40)
    a = b + 0.03 + (noise - noise.mean())  # mean difference exactly 0.03, about 1.9 standard errors
    forward = paired_test(a, b, method=method, seed=1)
    assert forward == paired_test(a, b, method=method, seed=1)
    backward = paired_test(b, a, method=method, seed=1)
    assert backward.mean_diff == pytest.approx(-forward.mean_diff)
    assert abs(backward.p_value - forward.p_value) < 0.03
    assert 0.01 < forward.p_value < 0.5


def test_randomization_matches_the_exact_sign_flip_distribution() -> None:
    """With 6 queries all 64 sign patterns can be enumerated; the Monte Carlo p-value must approach it."""
    diffs = np.array([0.3, 0.1, 0.25, -0.05, 0.2, 0.15])
    signs = np.array(np.meshgrid(*[[-1, 1]] * diffs.size)).reshape(diffs.size, -1).T
    exact = np.mean(np.abs((signs * diffs).mean(axis=1)) >= abs(diffs.mean()) - 1e-12)
    result = paired_test(diffs, np.zeros_like(diffs), n_resamples=40000, method="randomization")
    assert exact == pytest.approx(4 / 64)
    assert result.p_value == pytest.approx(exact, abs=0.005)


def test_paired_test_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="same queries"):
        paired_test([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="randomization, bootstrap"):
        paired_test([1.0], [2.0], method="t-test")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-finite"):
        paired_test([1.0, float("inf")], [1.0, 2.0])
