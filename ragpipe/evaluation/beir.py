"""BEIR folders (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) as ragpipe eval sets.

The corpus is written once per content hash as plain files, ``<work_dir>/datasets/<name>-<hash>/corpus/
<_id>.txt`` holding ``title\\n\\ntext`` (only the text when the title is empty), so it is ingested like any
folder and ragpipe's document ids are ``<_id>.txt``. A ``manifest.json`` next to it marks the write as
complete and keeps the corpus lines that were skipped, so later loads report them too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

from ragpipe.errors import ConfigError
from ragpipe.evaluation.jsonl import id_and_text, iter_jsonl, iter_lines, text_id
from ragpipe.evaluation.questions import EvalQuestion, EvalSet, LineError

_UNSAFE_NAME = re.compile(r"[/\\\x00]")
MAX_ID_LENGTH = 200


def safe_name(name: str) -> str:
    """``name`` reduced to the characters allowed in folder and pipeline names."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "dataset"


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()[:12]


def load_beir(folder: Path, split: str, work_dir: Path) -> EvalSet:
    """Questions of ``split`` with graded qrels; every bad line or judgment is listed in ``skipped``."""
    qrels_path = folder / "qrels" / f"{split}.tsv"
    if not qrels_path.is_file():
        available = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
        raise ConfigError(
            f"BEIR folder {str(folder)!r} has no qrels/{split}.tsv; "
            f"available splits: {', '.join(available) or 'none (no qrels/*.tsv)'}"
        )
    queries_path = folder / "queries.jsonl"
    if not queries_path.is_file():
        raise ConfigError(f"BEIR folder {str(folder)!r} has no queries.jsonl")
    name = folder.resolve().name
    target = work_dir / "datasets" / f"{safe_name(name)}-{_file_hash(folder / 'corpus.jsonl')}"
    doc_ids, skipped = _materialize_corpus(folder / "corpus.jsonl", target)
    queries = _read_queries(queries_path, skipped)
    judgments = _read_qrels(qrels_path, doc_ids, queries, skipped)
    questions = []
    for qid, grades in judgments.items():
        if not any(grade > 0 for grade in grades.values()):
            skipped.append((f"query {qid}", "no relevant documents (every judgment kept has grade <= 0)"))
            continue
        relevant = {f"{doc_id}.txt": grade for doc_id, grade in grades.items()}
        questions.append(EvalQuestion(id=qid, question=queries[qid], answer=None, relevant_docs=relevant))
    if not questions:
        reasons = "; ".join(f"{where}: {why}" for where, why in skipped[-5:]) or "qrels file is empty"
        raise ConfigError(f"BEIR {str(folder)!r} split {split!r} holds no usable question: {reasons}")
    corpus_dir = (target / "corpus").resolve()
    return EvalSet(name=name, questions=questions, corpus_dir=corpus_dir, skipped=skipped, split=split)


def _materialize_corpus(corpus_jsonl: Path, target: Path) -> tuple[set[str], list[tuple[str, str]]]:
    """Write the corpus files once (atomically); return the document ``_id``s and skipped corpus lines."""
    manifest = target / "manifest.json"
    corpus_dir = target / "corpus"
    if manifest.is_file() and corpus_dir.is_dir():
        skipped = [(str(a), str(b)) for a, b in json.loads(manifest.read_text(encoding="utf-8"))["skipped"]]
        ids = {name[: -len(".txt")] for name in os.listdir(corpus_dir) if name.endswith(".txt")}
        return ids, skipped
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f"corpus.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    ids: set[str] = set()
    skipped = []
    for location, record in iter_jsonl(corpus_jsonl):
        try:
            if isinstance(record, LineError):
                raise record
            doc_id, content = _corpus_document(record, ids)
        except LineError as exc:
            skipped.append((location, str(exc)))
            continue
        ids.add(doc_id)
        (staging / f"{doc_id}.txt").write_text(content, encoding="utf-8", newline="")
    if not ids:
        shutil.rmtree(staging, ignore_errors=True)
        reasons = "; ".join(f"{where}: {why}" for where, why in skipped[:5]) or "the file is empty"
        raise ConfigError(f"{corpus_jsonl} holds no usable document: {reasons}")
    if manifest.is_file():  # another process finished the same corpus meanwhile: use its files
        shutil.rmtree(staging, ignore_errors=True)
        return _materialize_corpus(corpus_jsonl, target)
    if corpus_dir.exists():  # an interrupted earlier run (no manifest): replace its partial output
        shutil.rmtree(corpus_dir)
    staging.rename(corpus_dir)
    tmp_manifest = target / f"manifest.json.tmp-{os.getpid()}"
    tmp_manifest.write_text(json.dumps({"documents": len(ids), "skipped": skipped}), encoding="utf-8")
    tmp_manifest.replace(manifest)
    return ids, skipped


def _corpus_document(record: dict, ids: set[str]) -> tuple[str, str]:
    if "_id" not in record:
        raise LineError("missing field '_id'")
    doc_id = text_id(record["_id"], "_id")
    if _UNSAFE_NAME.search(doc_id) or doc_id.startswith(".") or len(doc_id) > MAX_ID_LENGTH:
        raise LineError(
            f"_id {doc_id[:80]!r} cannot be a file name (no '/', '\\', NUL or leading '.', "
            f"at most {MAX_ID_LENGTH} characters)"
        )
    if doc_id in ids:
        raise LineError(f"duplicate _id {doc_id!r}")
    title, text = record.get("title") or "", record.get("text") or ""
    if not isinstance(title, str) or not isinstance(text, str):
        raise LineError(f"document {doc_id!r}: 'title' and 'text' must be strings")
    if not (title.strip() or text.strip()):
        raise LineError(f"document {doc_id!r} has no text and no title")
    return doc_id, f"{title.strip()}\n\n{text}" if title.strip() else text


def _read_queries(path: Path, skipped: list[tuple[str, str]]) -> dict[str, str]:
    queries: dict[str, str] = {}
    for location, record in iter_jsonl(path):
        try:
            if isinstance(record, LineError):
                raise record
            qid, text = id_and_text(record, "_id", "text", "query")
            if qid in queries:
                raise LineError(f"duplicate query _id {qid!r}")
        except LineError as exc:
            skipped.append((location, str(exc)))
            continue
        queries[qid] = text.strip()
    return queries


def _read_qrels(
    path: Path, doc_ids: set[str], queries: dict[str, str], skipped: list[tuple[str, str]]
) -> dict[str, dict[str, int]]:
    """``query id -> {document _id -> grade}`` in order of first appearance."""
    judgments: dict[str, dict[str, int]] = {}
    for location, number, line in iter_lines(path):
        if isinstance(line, LineError):
            skipped.append((location, str(line)))
            continue
        fields = line.rstrip("\r\n").split("\t")
        if not line.strip() or (number == 1 and fields[0].strip().lower() in ("query-id", "query_id", "qid")):
            continue
        if len(fields) == 4:  # TREC layout: query iteration document grade
            fields = [fields[0], fields[2], fields[3]]
        if len(fields) != 3:
            reason = f"expected 3 tab-separated fields (query-id, corpus-id, score), got {line.strip()!r}"
            skipped.append((location, reason))
            continue
        qid, doc_id, grade_text = (f.strip() for f in fields)
        try:
            grade = int(grade_text)
        except ValueError:
            skipped.append((location, f"score {grade_text!r} is not an integer"))
            continue
        if qid not in queries:
            skipped.append((location, f"query {qid!r} is not in queries.jsonl (judgment skipped)"))
        elif doc_id not in doc_ids:
            judgments.setdefault(qid, {})  # the query is reported later if no judgment remains
            skipped.append((location, f"document {doc_id!r} is not in corpus.jsonl (judgment skipped)"))
        elif doc_id in judgments.get(qid, {}):
            skipped.append((location, f"duplicate judgment of query {qid!r} and document {doc_id!r}"))
        else:
            judgments.setdefault(qid, {})[doc_id] = grade
    return judgments
