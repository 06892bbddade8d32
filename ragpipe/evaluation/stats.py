"""Confidence intervals and paired significance tests over per-query scores (numpy, vectorised, seeded).

Resampling is done in blocks of at most ``BLOCK_ELEMENTS`` draws, so memory stays bounded for many
queries; results depend only on the inputs and the seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

BLOCK_ELEMENTS = 4_000_000
PairedMethod = Literal["randomization", "bootstrap"]
PAIRED_METHODS = ("randomization", "bootstrap")


@dataclass(frozen=True, slots=True)
class PairedResult:
    """Mean of ``a - b``, its bootstrap confidence interval and the two-sided p-value of "no difference"."""

    mean_diff: float
    low: float
    high: float
    p_value: float


def _as_scores(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of per-query scores, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        positions = np.flatnonzero(~np.isfinite(array))[:5].tolist()
        raise ValueError(f"{name} holds non-finite values (NaN or inf) at positions {positions}")
    return array


def _check(n_resamples: int, confidence: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence}")


def _resample_blocks(
    n_resamples: int, n: int, rng: np.random.Generator, draw: Callable[[np.random.Generator, int], np.ndarray]
) -> np.ndarray:
    """``n_resamples`` statistics, each computed by ``draw(rng, rows)`` on a block of ``rows`` resamples."""
    rows_per_block = max(1, BLOCK_ELEMENTS // n)
    blocks = []
    for first in range(0, n_resamples, rows_per_block):
        blocks.append(draw(rng, min(rows_per_block, n_resamples - first)))
    return np.concatenate(blocks)


def _bootstrap_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = values.size

    def draw(generator: np.random.Generator, rows: int) -> np.ndarray:
        return values[generator.integers(0, n, size=(rows, n))].mean(axis=1)

    return _resample_blocks(n_resamples, n, rng, draw)


def _percentile_interval(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray, n_resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean over queries and its percentile-bootstrap confidence interval."""
    scores = _as_scores(values, "values")
    _check(n_resamples, confidence)
    means = _bootstrap_means(scores, n_resamples, np.random.default_rng(seed))
    low, high = _percentile_interval(means, confidence)
    return float(scores.mean()), low, high


def _randomization_stats(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = diffs.size

    def draw(generator: np.random.Generator, rows: int) -> np.ndarray:
        signs = generator.integers(0, 2, size=(rows, n), dtype=np.int8) * 2 - 1
        return (signs * diffs).mean(axis=1)

    return _resample_blocks(n_resamples, n, rng, draw)


def paired_test(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    n_resamples: int = 10000,
    seed: int = 0,
    method: PairedMethod = "randomization",
    confidence: float = 0.95,
) -> PairedResult:
    """Two-sided paired test of per-query scores ``a`` and ``b`` of two systems on the same queries.

    ``randomization``: flips the sign of each query's difference at random (H0: the difference is
    symmetric around 0). ``bootstrap``: resamples query indices from the differences shifted to mean 0.
    The p-value counts resamples at least as extreme as the observed mean difference, with the +1
    correction ``(count + 1) / (n_resamples + 1)``, so identical inputs give exactly 1.0.
    ``low``/``high`` are the percentile-bootstrap interval of the mean difference at ``confidence``.
    """
    if method not in PAIRED_METHODS:
        raise ValueError(f"unknown paired test method {method!r}; valid: {', '.join(PAIRED_METHODS)}")
    first, second = _as_scores(a, "a"), _as_scores(b, "b")
    if first.shape != second.shape:
        raise ValueError(f"a and b must score the same queries: got {first.size} and {second.size} scores")
    _check(n_resamples, confidence)
    diffs = first - second
    observed = float(diffs.mean())
    test_rng, interval_rng = (np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(2))
    if method == "randomization":
        null = _randomization_stats(diffs, n_resamples, test_rng)
    else:
        null = _bootstrap_means(diffs - observed, n_resamples, test_rng)
    tolerance = 1e-12 * max(1.0, abs(observed))
    extreme = int(np.count_nonzero(np.abs(null) >= abs(observed) - tolerance))
    p_value = (extreme + 1) / (n_resamples + 1)
    low, high = _percentile_interval(_bootstrap_means(diffs, n_resamples, interval_rng), confidence)
    return PairedResult(mean_diff=observed, low=low, high=high, p_value=p_value)
