"""Eval sets: BEIR folders and ragpipe's QA JSONL format, validated line by line.

ragpipe QA format: one JSON object per line with

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
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragpipe.errors import ConfigError
from ragpipe.evaluation.documents import DocumentTexts, check_span
from ragpipe.evaluation.span_metrics import Span
from ragpipe.filters import parse_filter

QA_KEYS = ("id", "question", "answer", "relevant_docs", "spans", "filters", "metadata")
SPAN_KEYS = ("doc_id", "start", "end", "text")


@dataclass(frozen=True)
class EvalQuestion:
    """One question with its judgments: graded relevant documents, gold spans and gold answer."""

    id: str
    question: str
    answer: str | None
    relevant_docs: dict[str, int]
    spans: tuple[Span, ...] = ()
    filters: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class EvalSet:
    """Questions ready to score; ``skipped`` lists every item left out as ``(location, reason)``."""

    name: str
    questions: list[EvalQuestion]
    corpus_dir: Path | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    split: str = "test"
    """The BEIR split loaded; QA files have no splits and record the name they were loaded with."""


class LineError(ValueError):
    """A problem with one input line; the loader records it and skips the line."""


def load_dataset(
    path: Path | str, split: str = "test", corpus: Path | str | None = None, work_dir: Path | str | None = None
) -> EvalSet:
    """Load a BEIR folder (holding ``corpus.jsonl``) or a ragpipe QA ``.jsonl`` file.

    BEIR: ``split`` picks ``qrels/<split>.tsv``; the corpus is written once under ``work_dir`` (default:
    ``RuntimeSettings().data_dir``) as one ``<_id>.txt`` per document. QA: ``corpus`` is the folder to
    ingest (ids are paths relative to it); without it, ids and spans are checked later, against the index.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "corpus.jsonl").is_file():
            raise ConfigError(
                f"dataset folder {str(path)!r} has no corpus.jsonl; expected a BEIR folder "
                "(corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or a QA .jsonl file"
            )
        from ragpipe.evaluation.beir import load_beir

        if work_dir is None:
            from ragpipe.config.settings import RuntimeSettings

            work_dir = RuntimeSettings().data_dir
        return load_beir(path, split, Path(work_dir))
    if not path.is_file():
        raise ConfigError(f"dataset {str(path)!r} not found: expected a BEIR folder or a QA .jsonl file")
    if path.suffix.lower() != ".jsonl":
        raise ConfigError(f"dataset {str(path)!r}: a QA dataset must be a .jsonl file (or give a BEIR folder)")
    corpus_dir = Path(corpus).resolve() if corpus is not None else None
    if corpus_dir is not None and not corpus_dir.is_dir():
        raise ConfigError(f"corpus {str(corpus)!r} is not a folder (it must hold the documents to ingest)")
    return load_qa(path, corpus_dir, split)


def iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any] | LineError]]:
    """``(location, object)`` per non-blank line, or ``(location, LineError)`` for a line that is no object."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"{path}:{number}"
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield location, LineError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})")
                continue
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                yield location, LineError(f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            if not isinstance(value, dict):
                yield location, LineError(f"expected a JSON object, got {type(value).__name__}")
                continue
            yield location, value


def text_id(value: Any, key: str) -> str:
    """An id given as a non-empty string or an integer, as a string."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineError(f"{key!r} must be a string or an integer, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise LineError(f"{key!r} is empty")
    return text


def id_and_text(record: dict[str, Any], id_key: str, text_key: str, kind: str) -> tuple[str, str]:
    """A record's required id and non-empty text (as given); LineError naming the field otherwise."""
    if id_key not in record:
        raise LineError(f"missing field {id_key!r}")
    record_id = text_id(record[id_key], id_key)
    text = record.get(text_key)
    if not isinstance(text, str) or not text.strip():
        raise LineError(f"{kind} {record_id!r}: {text_key!r} must be a non-empty string, got {text!r}")
    return record_id, text


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
