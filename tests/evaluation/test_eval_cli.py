"""`ragpipe eval` end to end in a subprocess: ingest, score, print, write JSON/Markdown; bad input exits 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eval_tiny_corpus import qa_records, write_beir, write_corpus, write_jsonl

from ragpipe.evaluation.retrieval_metrics import compute

CONFIG = "name: tiny-cli\nchunking: {type: sentence, chunk_size: 64, chunk_overlap: 8}\n"


def run_eval(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(workspace / "data"), "COLUMNS": "160"}
    command = [sys.executable, "-m", "ragpipe.cli.app", "eval", "-c", str(workspace / "config.yaml"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=workspace, timeout=600)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("eval-cli")
    corpus = write_corpus(root / "corpus")
    write_jsonl(root / "qa.jsonl", [*qa_records(corpus), "{broken line"])
    (root / "config.yaml").write_text(CONFIG, encoding="utf-8")
    return root


def test_eval_qa_dataset_prints_table_and_writes_summary_files(workspace: Path) -> None:
    out = run_eval(
        workspace, "--dataset", "qa.jsonl", "--corpus", "corpus", "--json", "res/summary.json", "--out", "res/full",
        "--metrics", "ndcg@10,recall@5,mrr@10,span_recall@5", "--no-progress",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    for fragment in ("ingest: 8 indexed", "tiny-cli on qa (test): 8 questions", "ndcg@10", "95% CI", "token_f1"):
        assert fragment in out.stdout, out.stdout
    assert "qa.jsonl:9: invalid JSON" in out.stdout  # the broken line is reported, not dropped
    summary = json.loads((workspace / "res" / "summary.json").read_text(encoding="utf-8"))
    assert list(summary["metrics"])[:4] == ["ndcg@10", "recall@5", "mrr@10", "span_recall@5"]
    assert {"token_f1", "exact_match", "rouge_l", "semantic_similarity", "ragas_rouge_l"} <= set(summary["metrics"])
    assert summary["counts"]["questions"] == 8 and summary["counts"]["skipped"] == 1
    assert summary["skipped"][0]["location"].endswith("qa.jsonl:9")
    assert set(summary["ci"]) == set(summary["metrics"])
    records = [
        json.loads(line) for line in (workspace / "res" / "full" / "per_question.jsonl").read_text().splitlines()
    ]
    per_query = summary["per_query"]["ndcg@10"]
    for record in records:
        expected = compute(record["retrieved_docs"], record["relevant_docs"], ["ndcg@10"])["ndcg@10"]
        assert per_query[record["id"]] == pytest.approx(expected)
    assert (workspace / "res" / "full" / "summary.md").read_text().startswith("# tiny-cli on qa (test)")
    assert json.loads((workspace / "res" / "full" / "summary.json").read_text())["metrics"] == summary["metrics"]


def test_eval_beir_folder_with_json_on_stdout(workspace: Path) -> None:
    write_beir(workspace / "beir")
    out = run_eval(workspace, "--dataset", "beir", "--split", "train", "--json", "-", "--metrics", "ndcg@10,hit@10")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)  # the table goes to stderr so stdout stays pure JSON
    assert summary["dataset"] == "beir" and summary["split"] == "train" and summary["counts"]["questions"] == 3
    assert set(summary["metrics"]) == {"ndcg@10", "hit@10"}
    assert "ndcg@10" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dataset", "qa.jsonl", "--metrics", "ndcg@10,f1@3"], "unknown metric 'f1@3'; valid: document metrics"),
        (["--dataset", "missing.jsonl"], "dataset 'missing.jsonl' not found"),
        (["--dataset", "qa.jsonl", "--set", "chunking.chunk_size=-1"], "chunking.chunk_size"),
        (["--dataset", "qa.jsonl", "--baseline", "nothing.json"], "summary file 'nothing.json' not found"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(workspace: Path, args: list[str], message: str) -> None:
    out = run_eval(workspace, *args)
    assert out.returncode == 2, out.stdout + out.stderr
    assert message in out.stderr


def test_strict_exits_3_when_a_dataset_line_was_skipped(workspace: Path) -> None:
    args = ["--dataset", "qa.jsonl", "--corpus", "corpus", "--metrics", "ndcg@10", "--no-answer-metrics"]
    relaxed = run_eval(workspace, *args, "--no-progress")
    strict = run_eval(workspace, *args, "--strict", "--no-progress")
    assert relaxed.returncode == 0, relaxed.stderr
    assert strict.returncode == 3, strict.stderr
    assert "qa.jsonl:9: invalid JSON" in strict.stdout and "--strict: 1 item(s) were skipped" in strict.stdout
