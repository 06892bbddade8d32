"""Eval set loading: ragpipe's QA JSONL and BEIR folders, with every bad input reported by location."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_tiny_corpus import QUESTIONS, parsed_text, qa_records, write_beir, write_corpus, write_jsonl

from ragpipe.errors import ConfigError
from ragpipe.evaluation.datasets import load_dataset
from ragpipe.evaluation.span_metrics import Span


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


def _reasons(skipped: list[tuple[str, str]]) -> str:
    return "\n".join(f"{where}: {why}" for where, why in skipped)


def test_qa_file_loads_questions_grades_spans_filters_and_metadata(tmp_path: Path, corpus: Path) -> None:
    records = qa_records(corpus)
    records[1] = {**records[1], "relevant_docs": {"ops/oncall.txt": 2, "ops/backups.md": 0}, "id": 7}
    records[2] = {**records[2], "filters": {"team": "security"}, "answer": None}
    path = write_jsonl(tmp_path / "qa.jsonl", ["", *records])
    eval_set = load_dataset(path, corpus=corpus)
    assert eval_set.skipped == []
    assert (eval_set.name, eval_set.corpus_dir, eval_set.split) == ("qa", corpus.resolve(), "test")
    assert [q.id for q in eval_set.questions] == ["q1", "7", *(q[0] for q in QUESTIONS[2:])]
    first, second, third = eval_set.questions[:3]
    assert first.relevant_docs == {"ops/backups.md": 1} and first.answer == "every 15 minutes"
    assert first.metadata == {"type": "fact"}
    span = first.spans[0]
    assert isinstance(span, Span) and parsed_text(corpus, span.doc_id)[span.start : span.end] == QUESTIONS[0][4]
    assert second.relevant_docs == {"ops/oncall.txt": 2, "ops/backups.md": 0}
    assert third.filters == {"team": "security"} and third.answer is None


def test_every_bad_qa_line_is_skipped_and_reported_with_file_and_line(tmp_path: Path, corpus: Path) -> None:
    good = qa_records(corpus)
    text = parsed_text(corpus, "ops/backups.md")
    bad_lines = [
        "{not json",  # 2
        json.dumps(["a", "list"]),  # 3
        json.dumps({"question": "no id?", "relevant_docs": ["ops/backups.md"]}),  # 4
        json.dumps({"id": "b1", "question": "", "relevant_docs": ["ops/backups.md"]}),  # 5
        json.dumps({"id": "b2", "question": "no docs"}),  # 6
        json.dumps({"id": "b3", "question": "grades", "relevant_docs": {"ops/backups.md": "high"}}),  # 7
        json.dumps({"id": "b4", "question": "missing doc", "relevant_docs": ["nowhere.md"]}),  # 8
        json.dumps({"id": "b5", "question": "typo", "relevant_doc": ["ops/backups.md"]}),  # 9
        json.dumps({"id": "b6", "question": "f", "relevant_docs": ["a.md"], "filters": {"year": {"gte": "x"}}}),  # 10
        json.dumps({**good[1], "id": "q1"}),  # 11: duplicate id
        json.dumps({"id": "b7", "question": "all zero", "relevant_docs": {"ops/backups.md": 0}}),  # 12
        json.dumps({"id": 3.5, "question": "float id", "relevant_docs": ["ops/backups.md"]}),  # 13
    ]  # fmt: skip
    span_past_end = {**good[2], "id": "s1", "spans": [{"doc_id": "security/keys.md", "start": 10, "end": 10_000}]}
    span_wrong_text = {**good[3], "id": "s2", "spans": [{**good[3]["spans"][0], "text": "something else"}]}
    span_bad_type = {**good[4], "id": "s3", "spans": [{"doc_id": "office/kitchen.txt", "start": "0", "end": 5}]}
    span_whitespace = {**good[5], "id": "s4", "spans": [{"doc_id": "ops/backups.md", "start": 0, "end": 0}]}
    gap = text.index("\n\n")
    span_blank = {**good[6], "id": "s5", "spans": [{"doc_id": "ops/backups.md", "start": gap, "end": gap + 2}]}
    partial = {**good[7], "id": "s6", "relevant_docs": ["office/parking.txt", "gone.txt"]}
    records = [good[0], *bad_lines, span_past_end, span_wrong_text, span_bad_type, span_whitespace, span_blank, partial]
    path = write_jsonl(tmp_path / "bad.jsonl", records)
    eval_set = load_dataset(path, corpus=corpus)
    reasons = _reasons(eval_set.skipped)
    expected = {
        2: "invalid JSON",
        3: "expected a JSON object, got list",
        4: "missing field 'id'",
        5: "'question' must be a non-empty string",
        6: "has no relevant documents",
        7: "grade of 'ops/backups.md' must be an integer",
        8: "relevant document 'nowhere.md' not in the corpus",
        9: "unknown key 'relevant_doc'; did you mean 'relevant_docs'?",
        10: "filters",
        11: "duplicate id 'q1'",
        12: "every grade is <= 0",
        13: "'id' must be a string or an integer",
        14: "lies past the end of the parsed document",
        15: "not the span's text 'something else'",
        16: "start and end must be integers",
        17: "bad offsets 0:0",
        18: "covers no word",
        19: "relevant document 'gone.txt' not in the corpus",
    }
    for line, fragment in expected.items():
        hits = [why for where, why in eval_set.skipped if where == f"{path}:{line}"]
        assert any(fragment in why for why in hits), f"line {line}: {fragment!r} not in {hits}\n{reasons}"
    kept = {q.id: q for q in eval_set.questions}
    # Bad spans drop the spans only: the question still counts for document metrics.
    assert set(kept) == {"q1", "s1", "s2", "s5", "s6"}
    assert kept["s1"].spans == () and kept["s2"].spans == () and kept["s5"].spans == ()
    assert kept["s6"].relevant_docs == {"office/parking.txt": 1}


def test_a_file_without_any_usable_question_is_a_config_error(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "empty.jsonl", ['{"id": "x", "question": "q"}', "nonsense"])
    with pytest.raises(ConfigError, match=r"holds no usable question \(2 skipped\).*empty.jsonl:1"):
        load_dataset(path)
    with pytest.raises(ConfigError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match=r"must be a \.jsonl file"):
        load_dataset(write_jsonl(tmp_path / "qa.json", []))
    with pytest.raises(ConfigError, match=r"has no corpus\.jsonl"):
        load_dataset(tmp_path)


def test_qa_file_without_corpus_checks_structure_only(tmp_path: Path) -> None:
    record = {
        "id": "a",
        "question": "q?",
        "relevant_docs": ["any/doc.md"],
        "spans": [{"doc_id": "x", "start": 0, "end": 9}],
    }
    eval_set = load_dataset(write_jsonl(tmp_path / "qa.jsonl", [record]))
    assert eval_set.corpus_dir is None and eval_set.skipped == []
    assert eval_set.questions[0].spans == (Span("x", 0, 9),)


def test_beir_folder_writes_corpus_once_and_reports_bad_lines(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny-beir")
    with open(folder / "corpus.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "../evil", "text": "x"}\n{"_id": "d1", "text": "dup"}\n{"_id": "e", "title": ""}\n')
        handle.write("oops\n")
    with open(folder / "queries.jsonl", "a", encoding="utf-8") as handle:
        handle.write('{"_id": "q9", "text": "graded zero only"}\n{"_id": "q10", "text": ""}\n')
    with open(folder / "qrels" / "test.tsv", "a", encoding="utf-8") as handle:
        handle.write("q1\tmissing-doc\t1\nq404\td1\t1\nq2\td2\tabc\nq9\td3\t0\nonly-two\tfields\n")
    work = tmp_path / "work"
    eval_set = load_dataset(folder, "test", work_dir=work)
    assert eval_set.name == "tiny-beir" and eval_set.split == "test"
    assert [q.id for q in eval_set.questions] == ["q1", "q2", "q3", "q4", "q5"]
    assert eval_set.questions[0].relevant_docs == {"d1.txt": 1} and eval_set.questions[0].answer is None
    corpus_dir = eval_set.corpus_dir
    assert corpus_dir is not None and corpus_dir.parent.parent == (work / "datasets").resolve()
    assert sorted(p.name for p in corpus_dir.iterdir()) == [f"d{i}.txt" for i in range(1, 9)]
    assert (corpus_dir / "d8.txt").read_text(encoding="utf-8").startswith("Parking\n\nBicycle racks")
    reasons = _reasons(eval_set.skipped)
    for fragment in (
        "corpus.jsonl:9: _id '../evil' cannot be a file name",
        "corpus.jsonl:10: duplicate _id 'd1'",
        "corpus.jsonl:11: document 'e' has no text and no title",
        "corpus.jsonl:12: invalid JSON",
        "queries.jsonl:10: query 'q10': 'text' must be a non-empty string",
        "test.tsv:7: document 'missing-doc' is not in corpus.jsonl",
        "test.tsv:8: query 'q404' is not in queries.jsonl",
        "test.tsv:9: score 'abc' is not an integer",
        "test.tsv:11: expected 3 tab-separated fields",
        "query q9: no relevant documents",
    ):
        assert fragment in reasons, f"{fragment!r} not reported:\n{reasons}"
    # A second load reuses the written corpus (no rewrite) and still reports the bad corpus lines.
    marker = corpus_dir / "d1.txt"
    marker.write_text("kept", encoding="utf-8")
    again = load_dataset(folder, "train", work_dir=work)
    assert marker.read_text(encoding="utf-8") == "kept" and again.corpus_dir == corpus_dir
    assert [q.id for q in again.questions] == ["q6", "q7", "q8"]
    assert "corpus.jsonl:10: duplicate _id 'd1'" in _reasons(again.skipped)


def test_beir_unknown_split_lists_available_ones(tmp_path: Path) -> None:
    folder = write_beir(tmp_path / "tiny-beir")
    with pytest.raises(ConfigError, match=r"no qrels/dev.tsv; available splits: test, train"):
        load_dataset(folder, "dev", work_dir=tmp_path / "work")


def test_undecodable_lines_and_ids_outside_the_corpus_are_reported(tmp_path: Path, corpus: Path) -> None:
    good = json.dumps(qa_records(corpus)[0]).encode()
    outside = json.dumps({"id": "x", "question": "q", "relevant_docs": ["../corpus/ops/oncall.txt"]}).encode()
    path = tmp_path / "qa.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + good + b'\n{"id": "\xff"}\n' + outside + b"\n")
    eval_set = load_dataset(path, corpus=corpus)
    assert [q.id for q in eval_set.questions] == ["q1"]  # a UTF-8 byte order mark is accepted
    reasons = _reasons(eval_set.skipped)
    assert f"{path}:2: not valid UTF-8" in reasons
    assert f"{path}:3: question 'x': relevant document '../corpus/ops/oncall.txt' not in the corpus" in reasons
