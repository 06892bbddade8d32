"""evaluate(): a real pipeline (bundled model, embedded store) over a tiny corpus, scored end to end."""

from __future__ import annotations

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from eval_tiny_corpus import DOCS, parsed_text, qa_records, write_beir, write_corpus, write_jsonl

from ragpipe.config.loading import load_config
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import ConfigError, IndexNotFoundError
from ragpipe.evaluation.datasets import EvalQuestion, EvalSet, load_dataset
from ragpipe.evaluation.llm_metrics import LLMJudgeError
from ragpipe.evaluation.metric_plan import plan_metrics
from ragpipe.evaluation.names import LLM_METRIC_NAMES
from ragpipe.evaluation.result import EvalResult
from ragpipe.evaluation.runner import evaluate, pipeline_for_dataset
from ragpipe.pipeline import Pipeline

CONFIG = {"name": "tiny", "chunking": {"type": "sentence", "chunk_size": 64, "chunk_overlap": 8}}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eval-runner")


@pytest.fixture(scope="module")
def corpus(workspace: Path) -> Path:
    return write_corpus(workspace / "corpus")


@pytest.fixture(scope="module")
def settings(workspace: Path) -> RuntimeSettings:
    return RuntimeSettings(data_dir=workspace / "data")


@pytest.fixture(scope="module")
def eval_set(workspace: Path, corpus: Path) -> EvalSet:
    return load_dataset(write_jsonl(workspace / "qa.jsonl", qa_records(corpus)), corpus=corpus)


@pytest.fixture(scope="module")
def pipeline(eval_set: EvalSet, settings: RuntimeSettings):
    with pipeline_for_dataset(load_config(CONFIG), eval_set, settings) as pipe:
        report = pipe.ingest(progress=False)
        assert (report.documents_indexed, report.failed) == (len(DOCS), 0)
        yield pipe


@pytest.fixture(scope="module")
def result(pipeline: Pipeline, eval_set: EvalSet) -> EvalResult:
    return evaluate(pipeline, eval_set, answer_metrics=True, progress=False)


def test_the_eval_index_is_separate_and_ingests_only_the_corpus(
    pipeline: Pipeline, corpus: Path, settings: RuntimeSettings
) -> None:
    assert pipeline.index_dir.is_relative_to(settings.data_dir / "eval")
    assert [s.path for s in pipeline.config.sources] == [str(corpus.resolve())]
    assert pipeline.settings.resolved_cache_dir == settings.resolved_cache_dir  # embeddings stay shared
    unchanged = load_config(CONFIG)
    no_corpus = EvalSet("x", [], corpus_dir=None)
    assert pipeline_for_dataset(unchanged, no_corpus, settings).config is unchanged


def test_document_metrics_follow_first_chunk_hit_per_document(result: EvalResult) -> None:
    assert result.counts["questions"] == 8
    assert (result.counts["dense_top_k"], result.counts["lexical_top_k"]) == (50, 50)
    assert result.capped == {}  # the tiny corpus has fewer chunks than either leg's depth: nothing is cut
    for record in result.questions:
        chunk_docs = [hit["doc_id"] for hit in record["retrieved"]]
        assert record["retrieved_docs"] == list(dict.fromkeys(chunk_docs))
        # One relevant document per question, found at rank r: the metric definitions give these values.
        (relevant,) = record["relevant_docs"]
        rank = record["retrieved_docs"].index(relevant) + 1
        assert rank <= 8  # every document fits in the top 10
        expected = {
            "ndcg@10": 1 / math.log2(rank + 1),
            "mrr@10": 1 / rank,
            "map@10": 1 / rank,
            "recall@10": 1.0,
            "recall@100": 1.0,
            "hit@10": 1.0,
            "precision@10": 0.1,
        }
        assert {m: record["metrics"][m] for m in expected} == pytest.approx(expected, abs=1e-12)
    for metric, values in result.per_query.items():
        assert result.metrics[metric] == pytest.approx(np.mean(list(values.values())), abs=1e-12)
        low, high = result.ci[metric]
        assert low - 1e-12 <= result.metrics[metric] <= high + 1e-12


def test_scores_do_not_depend_on_which_metrics_are_asked_for(pipeline: Pipeline, eval_set: EvalSet) -> None:
    few = evaluate(pipeline, eval_set, ["ndcg@10", "recall@10"], answer_metrics=False, progress=False)
    everything = evaluate(pipeline, eval_set, answer_metrics=False, progress=False)
    assert few.per_query["ndcg@10"] == everything.per_query["ndcg@10"]
    assert few.per_query["recall@10"] == everything.per_query["recall@10"]


def test_metrics_deeper_than_the_legs_retrieve_are_reported_as_capped(
    eval_set: EvalSet, settings: RuntimeSettings
) -> None:
    shallow = load_config(CONFIG, ["retrieval.dense_top_k=2", "retrieval.lexical_top_k=2"])
    with pipeline_for_dataset(shallow, eval_set, settings) as pipe:
        pipe.ingest(progress=False)
        result = evaluate(pipe, eval_set, ["ndcg@10", "recall@3", "hit@1"], answer_metrics=False, progress=False)
    # Two chunks per leg hold at most four documents: recall@3 may be filled, ndcg@10 never is.
    assert result.capped["ndcg@10"] == 8 and "hit@1" not in result.capped
    assert "ndcg@10 (8 questions)" in result.notes["capped_metrics"]
    assert "dense_top_k=2" in result.notes["capped_metrics"]
    assert "| ndcg@10 (capped: 8) |" in result.to_markdown()
    assert all("ndcg@10" in record["capped"] for record in result.questions)


@pytest.mark.slow
def test_document_metric_means_agree_with_ranx(result: EvalResult) -> None:
    from ranx import Qrels, Run
    from ranx import evaluate as ranx_evaluate

    qrels = Qrels({r["id"]: r["relevant_docs"] for r in result.questions})
    run = Run({r["id"]: {doc: 1000.0 - rank for rank, doc in enumerate(r["retrieved_docs"])} for r in result.questions})
    names = {"ndcg@10": "ndcg@10", "map@10": "map@10", "mrr@10": "mrr@10", "recall@10": "recall@10"}
    names |= {"precision@10": "precision@10", "hit@10": "hit_rate@10", "recall@100": "recall@100"}
    reference = ranx_evaluate(qrels, run, list(names.values()), make_comparable=True)
    for ours, theirs in names.items():
        assert result.metrics[ours] == pytest.approx(float(reference[theirs]), abs=1e-6), ours


def _covered_words(spans: list[tuple[str, int, int]], corpus: Path) -> set[tuple[str, int]]:
    """(document, word start) of every whitespace-separated word sharing a character with one of ``spans``."""
    words = set()
    for doc_id, start, end in spans:
        for match in re.finditer(r"\S+", parsed_text(corpus, doc_id)):
            if match.start() < end and start < match.end():
                words.add((doc_id, match.start()))
    return words


def test_span_metrics_score_retrieved_chunks_against_gold_spans(result: EvalResult, corpus: Path) -> None:
    assert result.counts["questions_with_spans"] == 8
    for record in result.questions:
        (gold,) = [(s["doc_id"], s["start"], s["end"]) for s in record["gold_spans"]]
        gold_words = _covered_words([gold], corpus)
        for k in (5, 10):
            retrieved = _covered_words([(h["doc_id"], h["start"], h["end"]) for h in record["retrieved"][:k]], corpus)
            both = len(gold_words & retrieved)
            assert record["metrics"][f"span_recall@{k}"] == pytest.approx(both / len(gold_words))
            assert record["metrics"][f"span_precision@{k}"] == pytest.approx(both / len(retrieved))
            assert record["metrics"][f"span_iou@{k}"] == pytest.approx(both / len(gold_words | retrieved))
    # Every document fits in the top 10 chunks here, so all gold evidence is retrieved at 10.
    assert result.metrics["span_recall@10"] == 1.0
    assert 0 < result.metrics["span_precision@10"] < result.metrics["span_precision@5"] <= 1


def test_answers_are_generated_from_the_top_k_chunks_and_scored(result: EvalResult, pipeline: Pipeline) -> None:
    top_k = pipeline.config.retrieval.top_k
    for record in result.questions:
        answer, gold, metrics = record["answer"]["text"], record["gold_answer"], record["metrics"]
        first_chunks = {hit["chunk_id"] for hit in record["retrieved"][:top_k]}
        assert {c["chunk_id"] for c in record["answer"]["citations"]} <= first_chunks
        quoted = gold.lower() in answer.lower()  # the answers quote sentences; golds are short phrases
        assert metrics["gold_phrase_presence"] == (1.0 if quoted else 0.0)
        assert metrics["exact_match"] == 0.0  # a whole sentence is never just the gold phrase
        assert (metrics["token_f1"] > 0) == bool(set(gold.lower().split()) & set(answer.lower().split()))
        assert -1 <= metrics["semantic_similarity"] <= 1
        assert "ragas_string_similarity" in metrics and "ragas_context_recall" not in metrics
        assert {"answer", "total", "embed_query", "dense", "lexical"} <= set(record["timings_ms"])
    # The extractive answer quotes the evidence sentence for most questions.
    assert result.metrics["gold_phrase_presence"] >= 0.5
    assert result.counts["questions_with_answers"] == 8
    assert "RAGPIPE_LLM_BASE_URL is not set" in result.notes["llm_metrics"]


def test_records_keep_per_leg_scores_and_latency_percentiles(result: EvalResult) -> None:
    top = result.questions[0]["retrieved"][0]
    assert set(top) >= {"rank", "doc_id", "chunk_id", "start", "end", "score", "leg_scores", "leg_ranks"}
    assert "dense" in top["leg_scores"] and top["leg_ranks"]["dense"] >= 1
    assert 0 < result.latency_ms["p50"] <= result.latency_ms["p95"]
    assert result.config["name"] == "tiny" and result.config["chunking"]["chunk_size"] == 64


def test_write_produces_three_files_and_the_summary_loads_back(result: EvalResult, tmp_path: Path) -> None:
    result.write(tmp_path / "out")
    lines = (tmp_path / "out" / "per_question.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["id"] for line in lines] == [r["id"] for r in result.questions]
    summary = EvalResult.load_summary(tmp_path / "out" / "summary.json")
    assert summary == json.loads(json.dumps(result.to_summary()))
    assert summary["per_query"]["ndcg@10"].keys() == {f"q{i}" for i in range(1, 9)}
    markdown = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "| ndcg@10 | " in markdown and "95% CI" in markdown
    (tmp_path / "bad.json").write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="not an eval summary"):
        EvalResult.load_summary(tmp_path / "bad.json")


def test_unknown_metric_names_list_the_valid_ones() -> None:
    plan = plan_metrics(["ndcg@10", "span_iou@20", "recall@3"])
    assert plan.document == (("ndcg@10", 10), ("recall@3", 3)) and plan.spans == (("span_iou@20", "span_iou", 20),)
    for bad in (["ndcg"], ["span_f1@5"], ["NDCG@10"], ["recall@0"], []):
        with pytest.raises(ConfigError, match=r"(unknown metric|non-empty).*ndcg@10"):
            plan_metrics(bad)


def test_unindexed_judgments_are_skipped_and_question_filters_apply(pipeline: Pipeline) -> None:
    questions = [
        EvalQuestion("a", "How often are keys changed?", None, {"security/keys.md": 1, "not/indexed.md": 1}),
        EvalQuestion("b", "Where is the bike rack?", None, {"not/indexed.md": 1}),
        EvalQuestion("c", "What happens every few days?", None, {"security/keys.md": 1}, filters={"team": "security"}),
    ]
    result = evaluate(pipeline, EvalSet("manual", questions, None), ["ndcg@10", "recall@10"], progress=False)
    reasons = [f"{where}: {why}" for where, why in result.skipped]
    assert any(r.startswith("question a: relevant document 'not/indexed.md' is not in the index") for r in reasons)
    assert any(r.startswith("question b: no relevant document is indexed") for r in reasons)
    assert [r["id"] for r in result.questions] == ["a", "c"] and result.counts["skipped"] == 3
    assert result.questions[0]["relevant_docs"] == {"security/keys.md": 1}
    assert result.questions[1]["retrieved_docs"] == ["security/keys.md"]  # only the security-team document
    assert result.per_query["recall@10"] == {"a": 1.0, "c": 1.0}


def test_an_empty_index_is_reported(settings: RuntimeSettings) -> None:
    empty_set = EvalSet("x", [EvalQuestion("a", "q", None, {"d": 1})], None)
    with Pipeline(load_config({"name": "never-ingested"}), settings) as empty, pytest.raises(IndexNotFoundError):
        evaluate(empty, empty_set, progress=False)


def test_beir_folder_end_to_end(workspace: Path, settings: RuntimeSettings) -> None:
    eval_set = load_dataset(write_beir(workspace / "beir"), "test", work_dir=settings.data_dir)
    with pipeline_for_dataset(load_config(CONFIG), eval_set, settings) as pipe:
        assert pipe.ingest(progress=False).documents_indexed == len(DOCS)
        result = evaluate(pipe, eval_set, ["ndcg@10", "hit@10", "span_recall@5"], answer_metrics=False)
    assert result.dataset == "beir" and result.counts["questions"] == 5
    assert set(result.metrics) == {"ndcg@10", "hit@10"}  # no spans and no gold answers in BEIR
    assert result.metrics["hit@10"] == 1.0  # all 8 documents fit in the top 10
    assert all(doc.endswith(".txt") for r in result.questions for doc in r["retrieved_docs"])
    assert result.questions[0]["relevant_docs"] == {"d1.txt": 1}


class _FakeJudge(BaseHTTPRequestHandler):
    """A loopback OpenAI-compatible endpoint standing in for an LLM judge (no LLM can run here):
    it answers each ragas prompt with a fixed, valid judgment chosen by the JSON schema it asks for."""

    replies: ClassVar[dict[str, dict]] = {
        "StatementGeneratorOutput": {"statements": ["The answer states a fact."]},
        "NLIStatementOutput": {"statements": [{"statement": "The answer states a fact.", "reason": "r", "verdict": 1}]},
        "ContextRecallOutput": {"classifications": [{"statement": "s", "reason": "r", "attributed": 1}]},
        "ContextPrecisionOutput": {"reason": "r", "verdict": 0},
    }
    prompts: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send({"object": "list", "data": [{"id": "judge-1", "object": "model", "created": 0, "owned_by": "t"}]})

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = " ".join(str(m.get("content")) for m in request["messages"])
        self.prompts.append(prompt)
        name = next(n for n in self.replies if f'"title": "{n}"' in prompt)
        message = {"role": "assistant", "content": json.dumps(self.replies[name])}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
        self._send(
            {
                "id": "c",
                "object": "chat.completion",
                "created": 0,
                "model": request["model"],
                "choices": [choice],
                "usage": usage,
            }
        )


@pytest.fixture
def judge_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_llm_metrics_run_only_with_an_endpoint(pipeline: Pipeline, eval_set: EvalSet, judge_url: str) -> None:
    two = EvalSet("two", eval_set.questions[:2], eval_set.corpus_dir)
    with pytest.raises(ConfigError, match="RAGPIPE_LLM_BASE_URL"):
        evaluate(pipeline, two, ["ndcg@10"], llm_metrics=True, progress=False)
    original = pipeline.settings
    pipeline.settings = original.model_copy(update={"llm_base_url": judge_url})
    try:
        off = evaluate(pipeline, two, ["ndcg@10"], llm_metrics=False, progress=False)
        assert _FakeJudge.prompts == [] and "switched off" in off.notes["llm_metrics"]
        assert not set(off.metrics) & set(LLM_METRIC_NAMES)
        judged = evaluate(pipeline, two, ["ndcg@10"], progress=False)
        pipeline.settings = original.model_copy(update={"llm_base_url": "http://127.0.0.1:9/v1"})
        with pytest.raises(LLMJudgeError, match="cannot list its models"):
            evaluate(pipeline, two, ["ndcg@10"], progress=False)
    finally:
        pipeline.settings = original
    assert judged.metrics["ragas_faithfulness"] == 1.0 and judged.metrics["ragas_llm_context_recall"] == 1.0
    assert judged.metrics["ragas_llm_context_precision"] == pytest.approx(0.0)
    assert "judged by model 'judge-1'" in judged.notes["llm_metrics"]
    assert any(two.questions[0].question in prompt for prompt in _FakeJudge.prompts)
