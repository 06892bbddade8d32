"""Benchmark the lexical engines on BEIR SciFact: nDCG@10, Recall@100, build time, query latency.

One chunk per abstract (title + " " + text), the test split's queries and judgments. Each engine is
built through the registry exactly as the pipeline builds it (qdrant-sparse through the qdrant-edge
store, whose dense vectors are a constant placeholder: only the sparse leg is measured here).

    .venv/bin/python scripts/bench_lexical.py [--data ../shared/datasets/scifact] [--engines bm25s rank-bm25]

Published BM25 nDCG@10 on SciFact test: 0.665 (BEIR, Anserini flat) to 0.679 (Pyserini multifield).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ragpipe import registry
from ragpipe.index_location import IndexLocation
from ragpipe.types import Chunk

ENGINES = ("bm25s", "rank-bm25", "qdrant-sparse")
Qrels = dict[str, dict[str, int]]


def load_scifact(root: Path, split: str) -> tuple[list[Chunk], dict[str, str], Qrels]:
    """Chunks (one per abstract), the split's queries (id -> text) and judgments (query -> doc -> grade)."""
    chunks = []
    with (root / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            text = f"{doc.get('title', '')} {doc['text']}".strip()
            chunks.append(Chunk(id=doc["_id"], doc_id=doc["_id"], text=text, start=0, end=len(text)))
    qrels: Qrels = {}
    with (root / "qrels" / f"{split}.tsv").open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    queries = {}
    with (root / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            q = json.loads(line)
            if q["_id"] in qrels:
                queries[q["_id"]] = q["text"]
    return chunks, queries, qrels


def ndcg_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """nDCG@k with gain = judgment grade, discount log2(rank + 1), ideal = best ordering of the judgments."""
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(judged.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at_k(ranked: Sequence[str], judged: dict[str, int], k: int = 100) -> float:
    relevant = {doc for doc, grade in judged.items() if grade > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def build_engine(
    name: str, chunks: list[Chunk], index_dir: Path, k1: float, b: float
) -> tuple[Any, Callable[[], None]]:
    """Index ``chunks`` with engine ``name`` as an ingest would; returns the index and a close function."""
    location = IndexLocation(folder=index_dir, root=index_dir, writable=True)
    config = registry.get("lexical", name).config_cls(k1=k1, b=b)
    store = registry.build("store", registry.get("store", "qdrant-edge").config_cls(), {"location": location})
    index = registry.build("lexical", config, {"location": location, "store": store})
    if name != "qdrant-sparse":
        index.rebuild(iter(chunks))
        return index, lambda: None
    dense = np.full((1, 4), 0.5, dtype=np.float32)
    batch = 256  # the pipeline's default ingest batch size
    for start in range(0, len(chunks), batch):
        part = chunks[start : start + batch]
        store.upsert(part, np.repeat(dense, len(part), axis=0), index.encode(part))
    index.rebuild(iter(chunks))
    store.flush()
    return index, store.close


def run_engine(name: str, chunks: list[Chunk], queries: dict[str, str], qrels: Qrels, k1: float, b: float) -> dict:
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        started, cpu = time.perf_counter(), time.process_time()
        index, close = build_engine(name, chunks, Path(tmp), k1, b)
        build_s, build_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        started = time.perf_counter()
        index.search("warm up", 1)  # in-process engines load their files here
        load_s = time.perf_counter() - started
        latencies, ndcg, recall = [], [], []
        for qid, text in queries.items():
            started = time.perf_counter()
            hits = index.search(text, 100)
            latencies.append(time.perf_counter() - started)
            ranked = [h.chunk.id for h in hits]
            ndcg.append(ndcg_at_k(ranked, qrels[qid], 10))
            recall.append(recall_at_k(ranked, qrels[qid], 100))
        close()
    ms = sorted(x * 1000 for x in latencies)
    return {
        "engine": name,
        "ndcg@10": statistics.fmean(ndcg),
        "recall@100": statistics.fmean(recall),
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "load_s": load_s,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
    }


def main() -> None:
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "datasets" / "scifact")
    parser.add_argument("--split", default="test")
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--k1", type=float, default=1.2)
    parser.add_argument("--b", type=float, default=0.75)
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()

    chunks, queries, qrels = load_scifact(args.data, args.split)
    print(f"SciFact {args.split}: {len(chunks)} abstracts, {len(queries)} queries, k1={args.k1} b={args.b}")
    columns = ("nDCG@10", "R@100", "build s", "(cpu s)", "load s", "p50 ms", "p95 ms")
    header = f"{'engine':<14}" + "".join(f" {c:>8}" for c in columns)
    print(header)  # wall-clock seconds; "(cpu s)" is this process's CPU time, steadier on a busy machine
    results = []
    for name in args.engines:
        r = run_engine(name, chunks, queries, qrels, args.k1, args.b)
        results.append(r)
        print(
            f"{name:<14} {r['ndcg@10']:>8.4f} {r['recall@100']:>8.4f} {r['build_s']:>8.2f} {r['build_cpu_s']:>8.2f}"
            f" {r['load_s']:>8.2f}"
            f" {r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
