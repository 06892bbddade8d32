"""BEIR SciFact helpers shared by the benchmark scripts (data stays in ../shared/datasets)."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "scifact"


def load_corpus(root: Path = DEFAULT_DIR) -> dict[str, dict[str, str]]:
    with (root / "corpus.jsonl").open(encoding="utf-8") as fh:
        rows = (json.loads(line) for line in fh if line.strip())
        return {r["_id"]: {"title": r.get("title", ""), "text": r["text"]} for r in rows}


def load_queries(root: Path = DEFAULT_DIR) -> dict[str, str]:
    with (root / "queries.jsonl").open(encoding="utf-8") as fh:
        return {r["_id"]: r["text"] for r in (json.loads(line) for line in fh if line.strip())}


def load_qrels(split: str = "test", root: Path = DEFAULT_DIR) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with (root / "qrels" / f"{split}.tsv").open(encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for qid, did, score in reader:
            qrels.setdefault(qid, {})[did] = int(score)
    return qrels


def write_corpus_files(corpus: dict[str, dict[str, str]], target: Path, ids: Iterable[str] | None = None) -> int:
    """One ``<id>.txt`` per abstract (title, blank line, text), so ragpipe ingests it like any folder."""
    target.mkdir(parents=True, exist_ok=True)
    count = 0
    for doc_id in ids or corpus:
        row = corpus[doc_id]
        (target / f"{doc_id}.txt").write_text(f"{row['title']}\n\n{row['text']}\n", encoding="utf-8")
        count += 1
    return count


def doc_id_of(file_doc_id: str) -> str:
    """ragpipe's document id (``123.txt``) back to the SciFact id."""
    return file_doc_id.removesuffix(".txt")


def ndcg_at_k(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    positives = {d for d, g in relevant.items() if g > 0}
    return len(positives & set(ranked[:k])) / len(positives) if positives else 0.0


def first_unique(doc_ids: Iterable[str]) -> list[str]:
    """Chunk hits -> documents in best-rank order."""
    seen: dict[str, None] = {}
    for d in doc_ids:
        seen.setdefault(d, None)
    return list(seen)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
