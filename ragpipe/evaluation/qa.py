"""ragpipe's QA JSONL format, validated line by line.

Format: one JSON object per line with

- ``id`` (string or integer, unique), ``question`` (non-empty string);
- ``answer``: the gold answer (string; optional, null when absent);
- ``relevant_docs``: document ids as ingest assigns them (paths relative to the corpus folder), either a
  list (grade 1 each) or a mapping ``id -> grade`` (integer; grades <= 0 mark non-relevant documents);
- ``spans`` (optional): gold evidence, a list of ``{"doc_id", "start", "end"}`` (character offsets into the
  document text as ragpipe parses it; an optional ``"text"`` is checked against the slice);
- ``filters`` (optional): a metadata filter in :mod:`ragpipe.filters` syntax, applied to that question;
- ``metadata`` (optional object) and any other key (``type``, ``paraphrased``...), kept as question metadata.
  A key that looks like a misspelt known key (``relevant_doc``) is an error.

Nothing is silently dropped: a bad line, a relevant document missing from the corpus, a question left
without relevant documents or a bad span is skipped and listed in :attr:`EvalSet.skipped` as
``(location, reason)``. A file that yields no usable question raises ConfigError.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ragpipe.errors import ConfigError
from ragpipe.evaluation.documents import DocumentTexts, check_span
from ragpipe.evaluation.jsonl import id_and_text, iter_jsonl
from ragpipe.evaluation.questions import EvalQuestion, EvalSet, LineError
from ragpipe.evaluation.span_metrics import Span
from ragpipe.filters import parse_filter

QA_KEYS = ("id", "question", "answer", "relevant_docs", "spans", "filters", "metadata")
SPAN_KEYS = ("doc_id", "start", "end", "text")


def load_qa(path: Path, corpus_dir: Path | None, split: str = "test") -> EvalSet:
    """Read a ragpipe QA JSONL file; relevant docs and spans are checked against ``corpus_dir`` when given."""
    texts = DocumentTexts(corpus_dir) if corpus_dir is not None else None
    questions: list[EvalQuestion] = []
    skipped: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for location, record in iter_jsonl(path):
        try:
            if isinstance(record, LineError):
                raise record
            question, span_texts = _parse_question(record)
            if question.id in seen:
                raise LineError(f"duplicate id {question.id!r} (first used at {seen[question.id]})")
            seen[question.id] = location
            question = _check_against_corpus(question, span_texts, texts, location, skipped)
        except LineError as exc:
            skipped.append((location, str(exc)))
            continue
        questions.append(question)
    if not questions:
        reasons = "; ".join(f"{where}: {why}" for where, why in skipped[:5]) or "the file holds no question"
        raise ConfigError(f"dataset {str(path)!r} holds no usable question ({len(skipped)} skipped): {reasons}")
    return EvalSet(name=path.stem, questions=questions, corpus_dir=corpus_dir, skipped=skipped, split=split)


def _parse_question(record: Mapping[str, Any]) -> tuple[EvalQuestion, dict[int, str]]:
    """The question, and the ``text`` given with some of its spans (by span index)."""
    for key in record:
        close = difflib.get_close_matches(key, QA_KEYS, n=1, cutoff=0.8)
        if key not in QA_KEYS and close:
            raise LineError(f"unknown key {key!r}; did you mean {close[0]!r}? (known keys: {', '.join(QA_KEYS)})")
    qid, question = id_and_text(dict(record), "id", "question", "question")
    answer = record.get("answer")
    if answer is not None and (not isinstance(answer, str) or not answer.strip()):
        raise LineError(f"question {qid!r}: 'answer' must be a non-empty string or null, got {answer!r}")
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise LineError(f"question {qid!r}: 'metadata' must be an object, got {type(metadata).__name__}")
    extra = {k: v for k, v in record.items() if k not in QA_KEYS}
    filters = record.get("filters")
    if filters is not None:
        if not isinstance(filters, dict):
            raise LineError(f"question {qid!r}: 'filters' must be an object, got {type(filters).__name__}")
        try:
            parse_filter(filters, "filters")
        except ConfigError as exc:
            raise LineError(f"question {qid!r}: {exc}") from None
    spans, span_texts = _spans(record.get("spans"), qid)
    question_ = EvalQuestion(
        id=qid,
        question=question.strip(),
        answer=answer.strip() if answer is not None else None,
        relevant_docs=_relevant_docs(record.get("relevant_docs"), qid),
        spans=spans,
        filters=filters,
        metadata={**metadata, **extra},
    )
    return question_, span_texts


def _relevant_docs(value: Any, qid: str) -> dict[str, int]:
    if value is None or value == [] or value == {}:
        raise LineError(f"question {qid!r} has no relevant documents ('relevant_docs' missing or empty)")
    if isinstance(value, list):
        if not all(isinstance(doc, str) and doc.strip() for doc in value):
            raise LineError(f"question {qid!r}: 'relevant_docs' must list document ids (non-empty strings)")
        return dict.fromkeys((doc.strip() for doc in value), 1)
    if isinstance(value, dict):
        grades: dict[str, int] = {}
        for doc, grade in value.items():
            if not doc.strip():
                raise LineError(f"question {qid!r}: 'relevant_docs' holds an empty document id")
            if isinstance(grade, bool) or not isinstance(grade, int):
                raise LineError(f"question {qid!r}: grade of {doc!r} must be an integer, got {grade!r}")
            grades[doc.strip()] = grade
        if not any(grade > 0 for grade in grades.values()):
            raise LineError(f"question {qid!r} has no relevant documents (every grade is <= 0)")
        return grades
    raise LineError(f"question {qid!r}: 'relevant_docs' must be a list of ids or an object id -> grade")


def _spans(value: Any, qid: str) -> tuple[tuple[Span, ...], dict[int, str]]:
    if value is None:
        return (), {}
    if not isinstance(value, list):
        raise LineError(f"question {qid!r}: 'spans' must be a list of {{doc_id, start, end}} objects")
    spans = []
    texts: dict[int, str] = {}
    for index, item in enumerate(value):
        where = f"question {qid!r}: spans[{index}]"
        if not isinstance(item, dict) or not {"doc_id", "start", "end"} <= set(item):
            raise LineError(f"{where} must be an object with doc_id, start and end, got {item!r}")
        unknown = sorted(set(item) - set(SPAN_KEYS))
        if unknown:
            raise LineError(f"{where} has unknown keys {unknown}; allowed: {', '.join(SPAN_KEYS)}")
        start, end, doc_id = item["start"], item["end"], item["doc_id"]
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (start, end)):
            raise LineError(f"{where}: start and end must be integers, got {start!r} and {end!r}")
        if not isinstance(doc_id, str) or not doc_id.strip():
            raise LineError(f"{where}: doc_id must be a non-empty string, got {doc_id!r}")
        if not 0 <= start < end:
            raise LineError(f"{where}: bad offsets {start}:{end} (need 0 <= start < end)")
        if "text" in item:
            if not isinstance(item["text"], str):
                raise LineError(f"{where}: text must be a string, got {item['text']!r}")
            texts[index] = item["text"]
        spans.append(Span(doc_id.strip(), start, end))
    return tuple(spans), texts


def _check_against_corpus(
    question: EvalQuestion,
    span_texts: Mapping[int, str],
    texts: DocumentTexts | None,
    location: str,
    skipped: list[tuple[str, str]],
) -> EvalQuestion:
    """Drop judgments of documents missing from the corpus and all spans when one is bad (each reported)."""
    if texts is None:
        return question
    relevant = {}
    for doc_id, grade in question.relevant_docs.items():
        if texts.exists(doc_id):
            relevant[doc_id] = grade
        else:
            skipped.append((location, f"question {question.id!r}: relevant document {doc_id!r} not in the corpus"))
    if not any(grade > 0 for grade in relevant.values()):
        raise LineError(f"question {question.id!r} has no relevant document left in corpus {texts.corpus_dir}")
    spans = question.spans
    for index, span in enumerate(spans):
        try:
            check_span(span, texts, span_texts.get(index))
        except ValueError as exc:
            skipped.append((location, f"question {question.id!r}: all its spans dropped: {exc}"))
            spans = ()
            break
    return EvalQuestion(
        question.id, question.question, question.answer, relevant, spans, question.filters, question.metadata
    )
