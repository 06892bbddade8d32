"""The bundled QA eval set (evals/handbook_qa.jsonl) against the handbook as ragpipe parses it."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ragpipe.config.loading import load_config
from ragpipe.filters import matches, parse_filter
from ragpipe.ingest.loader import load_document
from ragpipe.ingest.sources import discover
from ragpipe.types import Document

REPO = Path(__file__).resolve().parents[2]
EVAL_FILE = REPO / "evals" / "handbook_qa.jsonl"
README = REPO / "evals" / "README.md"
TYPES = ("fact", "how-to", "definition", "comparison", "multi-doc")


def _import_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_eval_set", REPO / "scripts" / "build_eval_set.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def builder() -> ModuleType:
    return _import_builder()


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    with EVAL_FILE.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    """Every document the default config ingests, keyed by the id ingest gives it."""
    config = load_config(REPO / "configs" / "default.yaml")
    found: dict[str, Document] = {}
    for source in config.sources:
        for item in discover(source, config.base_dir):
            found[item.doc_id] = load_document(item, source.metadata, 100 * 2**20).document
    return found


def test_file_is_what_the_builder_writes(
    builder: ModuleType, documents: dict[str, Document], records: list[dict[str, Any]]
) -> None:
    texts = {doc_id: doc.text for doc_id, doc in documents.items()}
    expected = builder.render(builder.build_records(builder.QUESTIONS, texts))
    assert EVAL_FILE.read_text(encoding="utf-8") == expected, "run: python scripts/build_eval_set.py"
    assert len(records) == len(builder.QUESTIONS)


def test_check_mode_detects_a_stale_file(builder: ModuleType, tmp_path: Path) -> None:
    assert builder.main(["--check"]) == 0
    stale = tmp_path / "stale.jsonl"
    stale.write_text(EVAL_FILE.read_text(encoding="utf-8").replace('"start": ', '"start": 1', 1), encoding="utf-8")
    assert builder.main(["--check", "--output", str(stale)]) == 1


def test_size_ids_and_fields(records: list[dict[str, Any]]) -> None:
    assert len(records) >= 40
    ids = [r["id"] for r in records]
    assert len(set(ids)) == len(ids)
    for record in records:
        assert re.fullmatch(r"q\d{3}", record["id"]), record["id"]
        assert set(record) <= {"id", "question", "answer", "relevant_docs", "spans", "filters", "type", "paraphrased"}
        assert record["question"].strip() and record["answer"].strip(), record["id"]
        assert record["type"] in TYPES, record["id"]
        assert isinstance(record["paraphrased"], bool), record["id"]
        assert record["relevant_docs"] and len(set(record["relevant_docs"])) == len(record["relevant_docs"])


def test_relevant_docs_are_ids_that_ingest_assigns(
    records: list[dict[str, Any]], documents: dict[str, Document]
) -> None:
    for record in records:
        for doc_id in record["relevant_docs"]:
            assert doc_id in documents, f"{record['id']}: {doc_id} is not a document of configs/default.yaml"
            assert (REPO / "corpora" / "handbook" / doc_id).is_file()


def test_spans_slice_the_builders_quotes(
    builder: ModuleType, records: list[dict[str, Any]], documents: dict[str, Document]
) -> None:
    quotes = {question.id: [e.quote for e in question.evidence] for question in builder.QUESTIONS}
    for record in records:
        assert len(record["spans"]) == len(quotes[record["id"]]), record["id"]
        for span, quote in zip(record["spans"], quotes[record["id"]], strict=True):
            text = documents[span["doc_id"]].text
            assert 0 <= span["start"] < span["end"] <= len(text), (record["id"], span)
            sliced = text[span["start"] : span["end"]]
            assert sliced.strip(), (record["id"], span)
            assert sliced == quote, (record["id"], span["doc_id"])
        span_docs = [span["doc_id"] for span in record["spans"]]
        assert set(span_docs) == set(record["relevant_docs"]), f"{record['id']}: a relevant doc without a span"


def test_multi_doc_questions(records: list[dict[str, Any]]) -> None:
    multi = [r for r in records if r["type"] == "multi-doc"]
    assert len(multi) >= 8
    for record in multi:
        span_docs = [span["doc_id"] for span in record["spans"]]
        assert len(record["relevant_docs"]) >= 2, record["id"]
        assert sorted(span_docs) == sorted(record["relevant_docs"]), f"{record['id']}: one span per document"


def test_counts_match_the_readme(records: list[dict[str, Any]]) -> None:
    rows = dict(
        (name, (int(total), int(paraphrased)))
        for name, total, paraphrased in re.findall(r"^\| ([a-z-]+) \| (\d+) \| (\d+) \|$", README.read_text(), re.M)
    )
    by_type = Counter(r["type"] for r in records)
    paraphrased = Counter(r["type"] for r in records if r["paraphrased"])
    for name in TYPES:
        assert by_type[name] > 0, f"no {name} question"
        assert rows[name] == (by_type[name], paraphrased[name]), f"README counts for {name}"
    assert rows["total"] == (len(records), sum(paraphrased.values()))
    share = sum(paraphrased.values()) / len(records)
    assert 0.4 <= share <= 0.6, f"about half the questions should be paraphrased, got {share:.0%}"


def test_filters_parse_keep_the_gold_and_exclude_something(
    records: list[dict[str, Any]], documents: dict[str, Document]
) -> None:
    filtered = [r for r in records if "filters" in r]
    assert filtered
    for record in filtered:
        expr = parse_filter(record["filters"], where=f"{record['id']}.filters")
        assert expr is not None
        for doc_id in record["relevant_docs"]:
            assert matches(expr, documents[doc_id].metadata), f"{record['id']}: the filter drops gold doc {doc_id}"
        excluded = [doc_id for doc_id, doc in documents.items() if not matches(expr, doc.metadata)]
        assert excluded, f"{record['id']}: the filter excludes no document"


def test_builder_fails_loudly_on_bad_quotes_and_ids(builder: ModuleType) -> None:
    text = "alpha beta alpha"
    assert builder.locate(text, "beta", "t") == (6, 10)
    with pytest.raises(builder.EvalSetError, match="not found"):
        builder.locate(text, "gamma", "t")
    with pytest.raises(builder.EvalSetError, match="more than once"):
        builder.locate(text, "alpha", "t")
    duplicate = [builder.QUESTIONS[0], builder.QUESTIONS[0]]
    with pytest.raises(builder.EvalSetError, match="duplicate id"):
        builder.validate(duplicate)
    with pytest.raises(builder.EvalSetError, match="not found under"):
        builder.load_texts(["no/such/document.md"])
