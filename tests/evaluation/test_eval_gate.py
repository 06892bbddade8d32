"""Regression gate: check_regression, ragpipe.testing, and `ragpipe eval --baseline` exiting 4."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_tiny_corpus import qa_records, write_corpus, write_jsonl

from ragpipe.errors import ConfigError
from ragpipe.evaluation.gate import check_regression, compared_metrics
from ragpipe.testing import assert_quality, evaluate_config


def summary(scores: dict[str, list[float]], name: str = "run") -> dict:
    per_query = {metric: {f"q{i}": v for i, v in enumerate(values)} for metric, values in scores.items()}
    metrics = {metric: sum(values) / len(values) for metric, values in scores.items()}
    return {"name": name, "dataset": "d", "metrics": metrics, "ci": {}, "per_query": per_query}


def test_only_a_large_and_significant_drop_is_a_regression() -> None:
    base = summary({"ndcg@10": [0.9] * 20, "recall@10": [1.0] * 20, "mrr@10": [1.0, 0.0] * 10})
    current = summary({"ndcg@10": [0.6] * 20, "recall@10": [0.995] * 20, "mrr@10": [0.0, 1.0] * 10})
    regressions = check_regression(current, base, max_drop=0.01)
    assert [r.metric for r in regressions] == ["ndcg@10"]  # recall fell by less than 0.01; mrr did not fall
    (ndcg,) = regressions
    assert (ndcg.baseline, ndcg.current, ndcg.questions) == pytest.approx((0.9, 0.6, 20))
    assert ndcg.drop == pytest.approx(0.3) and ndcg.p_value < 0.001
    assert "ndcg@10: 0.9000 -> 0.6000 (drop 0.3000" in ndcg.describe()
    assert check_regression(current, base, max_drop=0.5) == []
    assert check_regression(base, base, max_drop=0.0) == []


def test_a_drop_on_too_few_questions_is_not_significant() -> None:
    base, current = summary({"ndcg@10": [1.0] * 4}), summary({"ndcg@10": [0.0, 0.0, 1.0, 1.0]})
    assert check_regression(current, base, max_drop=0.01) == []  # two differing questions: p ~ 0.5
    (regression,) = check_regression(current, base, max_drop=0.01, alpha=0.6)
    assert regression.drop == 0.5 and 0.4 < regression.p_value < 0.6


def test_gate_compares_common_metrics_and_questions_only() -> None:
    base = summary({"ndcg@10": [1.0] * 10, "token_f1": [1.0] * 10})
    current = summary({"ndcg@10": [0.0] * 10 + [1.0] * 5})  # five extra questions the baseline lacks
    assert compared_metrics(current, base) == ["ndcg@10"]
    (regression,) = check_regression(current, base, max_drop=0.01)
    assert (regression.current, regression.questions) == (0.0, 10)
    other = {**current, "per_query": {"ndcg@10": {"x1": 0.0}}}
    with pytest.raises(ConfigError, match="share no question id"):
        check_regression(other, base, max_drop=0.01)
    with pytest.raises(ConfigError, match="not reported by both runs"):
        check_regression(current, base, max_drop=0.01, metrics=["token_f1"])
    with pytest.raises(ConfigError, match="max_drop must be >= 0"):
        check_regression(current, base, max_drop=-1)
    with pytest.raises(ConfigError, match="per_query"):
        check_regression({"metrics": {}}, base, max_drop=0.01)


def test_assert_quality_lists_every_failure() -> None:
    base = summary({"ndcg@10": [0.9] * 12, "recall@10": [1.0] * 12}, name="base")
    current = summary({"ndcg@10": [0.5] * 12, "recall@10": [1.0] * 12}, name="new")
    assert_quality(base, minimums={"ndcg@10": 0.8}, baseline=base)
    with pytest.raises(AssertionError) as failure:
        assert_quality(current, minimums={"ndcg@10": 0.6, "recall@10": 0.9, "map@10": 0.1}, baseline=base)
    message = str(failure.value)
    assert "retrieval quality check failed for new on d" in message
    assert "ndcg@10 = 0.5000 < minimum 0.6" in message
    assert "map@10 was not computed (available: ndcg@10, recall@10)" in message
    assert "regressed: ndcg@10: 0.9000 -> 0.5000" in message
    assert "recall@10" not in message.split("map@10")[0]  # recall passed its minimum


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-gate")
    corpus = write_corpus(root / "corpus")
    write_jsonl(root / "qa.jsonl", qa_records(corpus))
    (root / "config.yaml").write_text("name: tiny-gate\n", encoding="utf-8")
    return root


def run_eval(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(workspace / "data")}
    command = [sys.executable, "-m", "ragpipe.cli.app", "eval", "-c", "config.yaml", "--dataset", "qa.jsonl"]
    command += ["--corpus", "corpus", "--no-answer-metrics", "--metrics", "ndcg@10,recall@10,mrr@10", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=workspace, timeout=600)


@pytest.fixture(scope="module")
def baseline(workspace: Path) -> Path:
    out = run_eval(workspace, "--json", "baseline.json")
    assert out.returncode == 0, out.stderr
    return workspace / "baseline.json"


def test_identical_run_passes_the_gate(workspace: Path, baseline: Path) -> None:
    out = run_eval(workspace, "--baseline", str(baseline), "--max-drop", "0.01")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "gate: no metric dropped by more than 0.01" in out.stdout


def test_worse_config_exits_4_listing_each_regression(workspace: Path, baseline: Path) -> None:
    # The questions share no term with the documents: BM25 alone retrieves nothing.
    out = run_eval(workspace, "--baseline", str(baseline), "--set", "retrieval.mode=lexical")
    assert out.returncode == 4, out.stdout + out.stderr
    assert "gate: 3 metric(s) regressed" in out.stdout
    base = json.loads(baseline.read_text())["metrics"]
    assert f"recall@10: {base['recall@10']:.4f} -> 0.0000" in out.stdout
    assert "p=" in out.stdout


def test_testing_helpers_evaluate_a_config_in_process(workspace: Path, baseline: Path) -> None:
    result = evaluate_config(
        workspace / "config.yaml", workspace / "qa.jsonl", corpus=workspace / "corpus",
        data_dir=workspace / "data", metrics=["ndcg@10", "recall@10", "mrr@10"],
    )  # fmt: skip
    assert result.counts["questions"] == 8
    assert_quality(result, minimums={"recall@10": 1.0}, baseline=baseline)
    worse = evaluate_config(
        workspace / "config.yaml", workspace / "qa.jsonl", corpus=workspace / "corpus",
        data_dir=workspace / "data", metrics=["ndcg@10", "recall@10", "mrr@10"], overrides=["retrieval.mode=lexical"],
    )  # fmt: skip
    with pytest.raises(AssertionError, match=r"recall@10 = 0.0000 < minimum 0.5(.|\n)*regressed: ndcg@10"):
        assert_quality(worse, minimums={"recall@10": 0.5}, baseline=str(baseline))


def test_runs_without_a_common_metric_cannot_be_compared() -> None:
    with pytest.raises(ConfigError, match="no metric in common"):
        check_regression(summary({"ndcg@10": [1.0]}), summary({"mrr@10": [1.0]}), max_drop=0.01)
