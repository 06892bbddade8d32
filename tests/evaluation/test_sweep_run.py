"""A real tiny sweep (hashing embedder, tiny corpus and QA set): shared work, outputs, leaderboard, report.

The module's sweep runs three variants end to end (ingest, evaluate, plots): ~4 s, so its tests are slow.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ragpipe import generations
from ragpipe.catalog import Catalog
from ragpipe.config.loading import load_config
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, ModelNotFoundError, RagpipeError
from ragpipe.evaluation.documents import DocumentTexts
from ragpipe.evaluation.sweep import StageEvent, run_sweep
from ragpipe.evaluation.sweep_result import SweepResult
from ragpipe.evaluation.sweep_spec import load_sweep

DOCS = {
    "restore.txt": (
        "Restoring the ledger database. The ledger database is snapshotted every fifteen minutes to cold storage. "
        "A full restore of the ledger takes about forty minutes with the restore-ledger tool. "
        "Before a restore, the on-call engineer freezes writes from the payments API. "
        "After the restore, the engineer replays the write-ahead log from the last snapshot. "
        "Finally the restored ledger is checked against the nightly balance report before writes resume."
    ),
    "pager.txt": "The pager escalates to the secondary engineer after five minutes without an acknowledgement.",
    "keys.txt": "Signing keys of the payments API are rotated every ninety days by the vault-rotate job.",
    "lunch.txt": "The office kitchen serves soup on Tuesdays and fresh bread every morning at eight.",
}
QUESTIONS = [
    ("q1", "How long does a full restore of the ledger take?", "about forty minutes", "restore.txt"),
    ("q2", "When does the pager escalate to the secondary?", "after five minutes", "pager.txt"),
    ("q3", "How often are signing keys rotated?", "every ninety days", "keys.txt"),
    ("q4", "What is served on Tuesdays in the kitchen?", "soup", "lunch.txt"),
    ("q5", "What is replayed after a restore?", "the write-ahead log", "restore.txt"),
]
SWEEP = """
name: tiny
base_config:
  name: tiny
  embedding: {type: hashing, dimension: 256}
  chunking: {type: sentence, chunk_size: 24, chunk_overlap: 4}
  retrieval: {top_k: 3, fusion: {type: rrf, k: 60}}
dataset: qa.jsonl
corpus: docs
metrics: [ndcg@10, recall@10, mrr@10, span_recall@5]
primary_metric: mrr@10
answer_metrics: false
n_resamples: 1000
variants:
  - {name: small, set: {chunking.chunk_size: 24}}
  - {name: small-rrf10, set: {chunking.chunk_size: 24, retrieval.fusion.k: 10}}
  - {name: large, set: {chunking.chunk_size: 64}}
  - {name: broken, set: {embedding: {type: sentence-transformers, model: /nonexistent/model}}}
"""


def write_inputs(root: Path) -> None:
    """The tiny corpus (``docs/``) and its QA set (``qa.jsonl``) with gold spans."""
    docs = root / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    texts = DocumentTexts(docs)
    with open(root / "qa.jsonl", "w", encoding="utf-8") as handle:
        for qid, question, answer, doc_id in QUESTIONS:
            start = texts.get(doc_id).index(answer)
            span = {"doc_id": doc_id, "start": start, "end": start + len(answer)}
            record = {"id": qid, "question": question, "answer": answer, "relevant_docs": [doc_id], "spans": [span]}
            handle.write(json.dumps(record) + "\n")


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("sweep")
    write_inputs(root)
    (root / "tiny.yaml").write_text(SWEEP, encoding="utf-8")
    spec = load_sweep(root / "tiny.yaml")
    events: list[StageEvent] = []
    settings = RuntimeSettings(data_dir=root / "data", cache_dir=root / "cache")
    out = root / "out"
    sweep = run_sweep(spec, out, settings, progress=False, on_stage=events.append)
    return {"spec": spec, "sweep": sweep, "events": events, "out": out, "root": root, "settings": settings}


def chunk_texts(index_dir: str) -> set[str]:
    published = generations.generation_dir(Path(index_dir), generations.current(Path(index_dir)) or "")
    catalog = Catalog(published / "catalog.sqlite")
    try:
        return {chunk.text for chunk in catalog.iter_chunks()}
    finally:
        catalog.close()


@pytest.mark.slow
def test_stages_run_in_order_and_read_well(sweep_run: dict[str, Any]) -> None:
    events = sweep_run["events"]
    assert [(e.index, e.stage) for e in events] == [
        (1, "ingest"),
        (1, "evaluate"),
        (2, "ingest"),
        (2, "evaluate"),
        (3, "ingest"),
        (3, "evaluate"),
        (4, "ingest"),
        (4, "failed"),
    ]
    assert str(events[2]) == "variant 2/4 small-rrf10: ingest"


@pytest.mark.slow
def test_a_failing_variant_is_kept_with_its_exception_and_the_sweep_goes_on(sweep_run: dict[str, Any]) -> None:
    sweep: SweepResult = sweep_run["sweep"]
    (failure,) = sweep.failed
    assert failure.name == "broken" and isinstance(failure.error, ModelNotFoundError)
    assert failure.message == f"ModelNotFoundError: {failure.error}" and "/nonexistent/model" in failure.message
    assert "broken" not in sweep.ranking and len(sweep.ranking) == 3
    assert "/nonexistent/model" in (sweep_run["out"] / "report.html").read_text()
    assert "## Failed variants" in (sweep_run["out"] / "leaderboard.md").read_text()


@pytest.mark.slow
def test_fusion_only_variant_embeds_nothing_and_a_new_size_embeds_only_new_texts(sweep_run: dict[str, Any]) -> None:
    small, fusion, large = sweep_run["sweep"].variants
    small_texts, large_texts = chunk_texts(small.index_dir), chunk_texts(large.index_dir)
    assert small.ingest.chunks_embedded == len(small_texts) > len(DOCS)  # cold cache: everything
    assert fusion.index_dir == small.index_dir
    assert fusion.ingest.chunks_embedded == 0 and fusion.ingest.chunks_total == small.ingest.chunks_total
    assert large.index_dir != small.index_dir
    new_texts = large_texts - small_texts
    assert large_texts & small_texts  # the short documents are one identical chunk at both sizes
    assert large.ingest.chunks_embedded == len(new_texts) < large.ingest.chunks_total
    assert all(v.ingest.texts_embedded == v.ingest.chunks_embedded for v in (small, fusion, large))
    assert [v.ingest.documents_total for v in (small, fusion, large)] == [len(DOCS)] * 3
    work = sweep_run["sweep"].embedding_work
    assert work.chunks_embedded == len(small_texts) + len(new_texts)
    assert work.chunks_indexed_total == sum(v.ingest.chunks_total for v in (small, fusion, large))
    assert work.chunks_embedded < work.chunks_indexed_total


@pytest.mark.slow
def test_variant_results_hold_scores_per_question(sweep_run: dict[str, Any]) -> None:
    sweep: SweepResult = sweep_run["sweep"]
    assert sweep.metrics == ("mrr@10", "ndcg@10", "recall@10", "span_recall@5")
    for variant in sweep.variants:
        assert set(variant.per_query["mrr@10"]) == {q[0] for q in QUESTIONS}
        low, high = variant.ci["mrr@10"]
        assert low <= variant.metrics["mrr@10"] <= high
        assert variant.latency_ms["p95"] >= variant.latency_ms["p50"] > 0
        assert (sweep_run["out"] / variant.eval_dir / "summary.json").is_file()
    assert sweep.questions == len(QUESTIONS)
    assert set(sweep.paired_tests) == {"small-rrf10", "large"}
    assert all(test.n == len(QUESTIONS) for tests in sweep.paired_tests.values() for test in tests.values())


@pytest.mark.slow
def test_sweep_json_holds_the_result_and_reads_back(sweep_run: dict[str, Any]) -> None:
    sweep: SweepResult = sweep_run["sweep"]
    stored = json.loads((sweep_run["out"] / "sweep.json").read_text())
    assert list(stored) == [
        *("name", "description", "sweep_file", "created", "dataset", "split", "primary_metric", "baseline"),
        *("alpha", "paired_method", "n_resamples", "metrics", "axes", "counts", "variants", "failed", "ranking"),
        *("paired_tests", "pareto_front", "axis_effects", "best", "embedding_work"),
    ]
    assert stored["failed"] == [{"name": "broken", "error": sweep.failed[0].message}]
    assert stored["counts"] == {"questions": len(QUESTIONS), "skipped": 0}
    assert set(stored["paired_tests"]["large"]["mrr@10"]) == {"mean_diff", "low", "high", "p_value", "n", "p_holm"} | {
        "marker"
    }
    assert stored["variants"][0]["ingest"]["chunks_embedded"] == sweep.variants[0].ingest.chunks_embedded
    again = SweepResult.from_dict(stored)
    assert again == sweep and again.failed[0].error is None  # the exception object does not survive JSON
    assert again.to_dict() == stored


@pytest.mark.slow
def test_outputs_leaderboard_order_and_best_config(sweep_run: dict[str, Any]) -> None:
    out, sweep = sweep_run["out"], sweep_run["sweep"]
    for name in ("leaderboard.csv", "leaderboard.md", "report.html", "best_config.yaml", "sweep.json"):
        assert (out / name).is_file(), name
    scores = [sweep.variant(name).metrics["mrr@10"] for name in sweep.ranking]
    assert scores == sorted(scores, reverse=True)
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert [row["variant"] for row in rows] == list(sweep.ranking)
    assert [float(row["mrr@10"]) for row in rows] == pytest.approx(scores)
    assert rows[0]["rank"] == "1" and "mrr@10_p_holm" in rows[0]
    assert (out / "best_config.yaml").read_text().startswith("# Best variant")
    best = load_config(out / "best_config.yaml")
    expected = next(v for v in sweep_run["spec"].variants if v.name == sweep.ranking[0]).config
    assert sweep.best.name == sweep.ranking[0]
    assert best.model_dump(mode="json") == expected.model_dump(mode="json") == sweep.best.config
    markdown = (out / "leaderboard.md").read_text()
    assert "## Paired tests against `small`" in markdown and "embedded" in markdown


@pytest.mark.slow
def test_report_is_self_contained_with_plots_and_significance_table(sweep_run: dict[str, Any]) -> None:
    html = (sweep_run["out"] / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') >= 4  # metrics, latency, axis effects, differences
    assert "http://" not in html and "https://" not in html and "<script" not in html
    table = html.split('<table id="significance">', 1)[1].split("</table>", 1)[0]
    assert "small-rrf10" in table and "large" in table and ">small<" not in table
    assert "Pareto front" in html and "Effect of each axis" in html
    assert sweep_run["sweep"].best.name in html.split("Best variant", 1)[1]


@pytest.mark.slow
def test_cli_prints_the_table_lists_the_failure_and_exits_3(
    sweep_run: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ragpipe.cli.app import app

    root = sweep_run["root"]
    monkeypatch.setenv("RAGPIPE_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("RAGPIPE_CACHE_DIR", str(root / "cache"))
    result = CliRunner().invoke(app, ["sweep", str(root / "tiny.yaml"), "--out", str(root / "cli"), "--no-progress"])
    assert result.exit_code == 3, result.output
    assert "best by mrr@10: " in result.output and "failed broken: ModelNotFoundError" in result.output
    assert "this sweep embedded 0 chunks" in result.output  # every text is in the embedding cache by now
    assert json.loads((root / "cli" / "sweep.json").read_text())["failed"][0]["name"] == "broken"


ALL_FAIL = """
base_config:
  name: failing
  embedding: {type: hashing, dimension: 256, max_length: 8}
  chunking: {type: sentence, chunk_size: 24, chunk_overlap: 4}  # longer than the embedder reads
dataset: qa.jsonl
corpus: docs
metrics: [mrr@10]
primary_metric: mrr@10
answer_metrics: false
variants:
"""


def test_a_variant_whose_stages_do_not_fit_is_refused_before_anything_runs(tmp_path: Path) -> None:
    write_inputs(tmp_path)
    (tmp_path / "failing.yaml").write_text(ALL_FAIL + "  - {name: too-long-chunks, set: {}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"variant 'too-long-chunks' .* nothing was run:\nchunking: chunks of up"):
        load_sweep(tmp_path / "failing.yaml")


@pytest.mark.parametrize(
    ("variants", "raised", "cause"),
    [
        (
            "  - {name: no-model, set: {embedding: {type: sentence-transformers, model: /nonexistent}}}\n",
            RagpipeError,
            ModelNotFoundError,
        ),
    ],
    ids=["model-missing"],
)
def test_when_every_variant_fails_the_first_error_decides_what_is_raised(
    tmp_path: Path, variants: str, raised: type[RagpipeError], cause: type[RagpipeError]
) -> None:
    write_inputs(tmp_path)
    (tmp_path / "failing.yaml").write_text(ALL_FAIL + variants, encoding="utf-8")
    spec = load_sweep(tmp_path / "failing.yaml")
    settings = RuntimeSettings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    with pytest.raises(RagpipeError, match="every variant failed; the first: ") as info:
        run_sweep(spec, tmp_path / "out", settings, progress=False)
    assert type(info.value) is raised and isinstance(info.value.__cause__, cause)
    assert f"the first: {type(info.value.__cause__).__name__}: " in str(info.value)
    assert not (tmp_path / "out").exists()
