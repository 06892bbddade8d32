"""Retrieval metrics: hand-computed cases, edge cases, and agreement with ranx on random runs."""

from __future__ import annotations

import math
import random

import pytest

from ragpipe.errors import ConfigError
from ragpipe.evaluation.retrieval_metrics import METRICS, MetricSpec, compute, parse_metric

CUTOFFS = (1, 3, 10, 100)
RANX_NAMES = {
    "recall": "recall",
    "precision": "precision",
    "mrr": "mrr",
    "ndcg": "ndcg",
    "map": "map",
    "hit": "hit_rate",
}


def test_parse_metric_accepts_every_name_and_cutoff() -> None:
    assert parse_metric("ndcg@10") == MetricSpec("ndcg", 10)
    assert parse_metric("hit@1") == MetricSpec("hit", 1)
    assert {parse_metric(f"{name}@5").name for name in METRICS} == set(METRICS)


@pytest.mark.parametrize("bad", ["ndcg", "ndcg@0", "ndcg@-1", "ndcg@ten", "NDCG@10", "f1@10", "ndcg@10 ", "@10", ""])
def test_parse_metric_rejects_bad_names_with_a_helpful_message(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_metric(bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "<name>@<k>" in message
    assert all(name in message for name in METRICS)


def test_hand_computed_binary_case() -> None:
    ranked = ["d1", "d2", "d3", "d4", "d5"]
    qrels = {"d2": 1, "d4": 1, "d9": 1, "d1": 0}
    scores = compute(ranked, qrels, ["recall@5", "precision@5", "mrr@5", "map@5", "hit@1", "hit@2", "ndcg@5"])
    assert scores["recall@5"] == pytest.approx(2 / 3)
    assert scores["precision@5"] == pytest.approx(2 / 5)
    assert scores["mrr@5"] == pytest.approx(1 / 2)
    assert scores["map@5"] == pytest.approx((1 / 2 + 2 / 4) / 3)  # divided by all 3 relevant documents
    assert scores["hit@1"] == 0.0
    assert scores["hit@2"] == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert scores["ndcg@5"] == pytest.approx(dcg / ideal)


def test_hand_computed_graded_ndcg_uses_linear_gains_and_a_cut_ideal() -> None:
    ranked = ["a", "b", "c"]
    qrels = {"a": 1, "b": 0, "c": 3, "d": 2}
    dcg = 1 / math.log2(2) + 3 / math.log2(4)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)
    assert compute(ranked, qrels, ["ndcg@3"])["ndcg@3"] == pytest.approx(dcg / ideal)
    ideal_at_1 = 3.0  # the ideal list is cut at k too
    assert compute(ranked, qrels, ["ndcg@1"])["ndcg@1"] == pytest.approx(1 / ideal_at_1)


def test_precision_divides_by_k_when_fewer_documents_were_ranked() -> None:
    assert compute(["a"], {"a": 1}, ["precision@10"])["precision@10"] == pytest.approx(0.1)


def test_perfect_ranking_scores_one() -> None:
    qrels = {"a": 3, "b": 2, "c": 1}
    scores = compute(["a", "b", "c", "x"], qrels, [f"{name}@3" for name in METRICS])
    assert scores == pytest.approx(dict.fromkeys(scores, 1.0))


def test_empty_ranking_scores_zero_everywhere() -> None:
    names = [f"{name}@{k}" for name in METRICS for k in CUTOFFS]
    assert compute([], {"a": 1}, names) == dict.fromkeys(names, 0.0)


@pytest.mark.parametrize("qrels", [{}, {"a": 0}, {"a": 0, "b": -1}])
def test_query_without_relevant_documents_is_an_error(qrels: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="no relevant document"):
        compute(["a", "b"], qrels, ["ndcg@10"])


def test_duplicate_documents_in_the_ranking_are_an_error() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        compute(["a", "b", "a"], {"a": 1}, ["recall@10"])


def test_result_keys_are_the_requested_names() -> None:
    assert list(compute(["a"], {"a": 1}, ["map@100", "mrr@3"])) == ["map@100", "mrr@3"]


def random_queries(seed: int, count: int) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Random graded/binary qrels (with some judged non-relevant documents) and rankings without ties."""
    rng = random.Random(seed)
    qrels: dict[str, dict[str, int]] = {}
    runs: dict[str, list[str]] = {}
    for index in range(count):
        universe = [f"doc{j}" for j in range(rng.randint(5, 150))]
        graded = index % 2 == 0
        relevant = rng.sample(universe, rng.randint(1, min(12, len(universe))))
        judged = {doc: (rng.randint(1, 3) if graded else 1) for doc in relevant}
        for doc in rng.sample(universe, min(3, len(universe))):
            judged.setdefault(doc, 0)
        qrels[f"q{index}"] = judged
        runs[f"q{index}"] = rng.sample(universe, rng.randint(1, len(universe)))
    return qrels, runs


@pytest.fixture(scope="module")
def ranx_comparison() -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """(ours, ranx): per metric name, per query id, on 300 random queries."""
    from ranx import Qrels, Run, evaluate

    qrels, runs = random_queries(seed=7, count=300)
    names = [f"{name}@{k}" for name in METRICS for k in CUTOFFS]
    ours: dict[str, dict[str, float]] = {name: {} for name in names}
    for query_id, ranked in runs.items():
        for name, value in compute(ranked, qrels[query_id], names).items():
            ours[name][query_id] = value
    run = Run({q: {doc: float(len(ranked) - rank) for rank, doc in enumerate(ranked)} for q, ranked in runs.items()})
    ranx_names = {name: f"{RANX_NAMES[parse_metric(name).name]}@{parse_metric(name).k}" for name in names}
    evaluate(Qrels(qrels), run, list(ranx_names.values()), return_mean=False)
    reference = {name: {q: float(run.scores[ranx_name][q]) for q in runs} for name, ranx_name in ranx_names.items()}
    return ours, reference


@pytest.mark.parametrize("metric", [f"{name}@{k}" for name in METRICS for k in CUTOFFS])
def test_agrees_with_ranx_on_random_runs(
    metric: str, ranx_comparison: tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]
) -> None:
    ours, reference = ranx_comparison
    disagreements = {
        q: (ours[metric][q], reference[metric][q])
        for q in reference[metric]
        if abs(ours[metric][q] - reference[metric][q]) > 1e-6
    }
    assert not disagreements
    assert len(ours[metric]) == 300
    # the random runs must exercise the metric: not all zeros and not all ones
    assert 0.0 < sum(ours[metric].values()) < 300.0
