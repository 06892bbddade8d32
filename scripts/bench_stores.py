"""Benchmark the vector stores on synthetic data: ingest, flush/optimize, reopen and query latency.

    .venv/bin/python scripts/bench_stores.py --n 5183
    .venv/bin/python scripts/bench_stores.py --n 200000          # qdrant local mode is skipped above 20k

Points are 384-d unit vectors (``--data clustered``, the default: noisy copies of 2,000 random topic
centroids, which gives the neighbourhood structure real embeddings have; ``--data uniform``: uniform random
directions, the worst case for HNSW), random BM25-like sparse vectors (Zipf-distributed term ids)
and a payload with a ``team`` keyword field (10 values, indexed). Each query kind runs 200 random
queries (top 10): dense, sparse, hybrid (a dense and a sparse search, as the retriever runs its
legs) and dense filtered on ``team``. Dense recall@10 is measured against exact numpy search
(raise ``--search-ef`` to trade latency for recall).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ragpipe.config.settings import RuntimeSettings
from ragpipe.filters import parse_filter
from ragpipe.index_location import IndexLocation
from ragpipe.protocols import VectorStore
from ragpipe.stores.qdrant_client import QdrantConfig, QdrantStore
from ragpipe.stores.qdrant_edge import QdrantEdgeConfig, QdrantEdgeStore
from ragpipe.types import Chunk, SparseVector

DIM = 384
VOCAB = 30_000
TEAMS = 10
LOCAL_MODE_LIMIT = 20_000
STORE_NAMES = ("qdrant-edge", "qdrant-local")


def make_store(name: str, ctx: IndexLocation, search_ef: int | None) -> VectorStore:
    if name == "qdrant-edge":
        return QdrantEdgeStore(QdrantEdgeConfig(payload_indexes=["team"], search_ef=search_ef), ctx)
    return QdrantStore(QdrantConfig(location="disk", payload_indexes=["team"]), ctx, RuntimeSettings())


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    rows = rng.standard_normal((n, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def clustered_rows(rng: np.random.Generator, centroids: np.ndarray, n: int, noise: float = 0.6) -> np.ndarray:
    """Unit vectors scattered around random centroids, like embeddings of documents on shared topics."""
    picks = rng.integers(len(centroids), size=n)
    rows = centroids[picks] + noise * rng.standard_normal((n, DIM)).astype(np.float32) / np.sqrt(DIM)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def sparse_rows(rng: np.random.Generator, n: int, terms: int) -> list[SparseVector]:
    out = []
    for _ in range(n):
        ids = np.unique(np.minimum(rng.zipf(1.3, size=terms), VOCAB) - 1)
        weights = rng.uniform(0.3, 2.2, size=len(ids))
        out.append(SparseVector(tuple(int(i) for i in ids), tuple(float(w) for w in weights)))
    return out


def make_chunks(rng: np.random.Generator, n: int, sparse: list[SparseVector]) -> list[Chunk]:
    chunks = []
    for i in range(n):
        text = " ".join(f"w{t}" for t in sparse[i].indices) * 4
        meta = {"team": f"team-{int(rng.integers(TEAMS))}", "year": int(rng.integers(2000, 2025)), "title": f"doc {i}"}
        chunks.append(Chunk(f"{i:032x}", f"doc-{i // 4}", text, 0, len(text), meta))
    return chunks


def percentiles(seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):8.2f} ms   p95 {p95:8.2f} ms"


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench(name: str, root: Path, data: tuple, queries: int, batch: int, search_ef: int | None) -> None:
    chunks, dense, sparse, q_dense, q_sparse = data
    ctx = IndexLocation(folder=root / name / "bench", root=root / name / "bench", writable=True)
    store = make_store(name, ctx, search_ef)
    upsert = timed(lambda: [store.upsert(chunks[i : i + batch], dense[i : i + batch], sparse[i : i + batch])
                            for i in range(0, len(chunks), batch)])  # fmt: skip
    flush = timed(store.flush)
    close = timed(store.close)
    store = make_store(name, ctx, search_ef)
    reopen = timed(store.count)
    assert store.count() == len(chunks), store.count()
    size_mb = sum(p.stat().st_size for p in ctx.folder.rglob("*") if p.is_file()) / 1e6
    print(f"\n== {name}: {len(chunks):,} points, {size_mb:,.0f} MB on disk")
    print(f"upsert          {upsert:9.2f} s  ({len(chunks) / upsert:,.0f} points/s, batches of {batch})")
    print(f"flush/optimize  {flush:9.2f} s")
    print(f"close           {close:9.2f} s")
    print(f"reopen          {reopen:9.2f} s  (first call after opening a new store object)")

    flt = parse_filter({"team": "team-3"})
    found: list[list[str]] = []
    kinds: dict[str, Callable[[int], object]] = {
        "dense": lambda i: found.append([h.chunk.id for h in store.search_dense(q_dense[i], 10)]),
        "sparse": lambda i: store.search_sparse(q_sparse[i], 10),
        "hybrid (2 legs)": lambda i: (store.search_dense(q_dense[i], 50), store.search_sparse(q_sparse[i], 50)),
        "dense filtered": lambda i: store.search_dense(q_dense[i], 10, flt),
        "sparse filtered": lambda i: store.search_sparse(q_sparse[i], 10, flt),
    }
    for kind, run in kinds.items():
        seconds = []
        for i in range(queries):
            start = time.perf_counter()
            run(i)
            seconds.append(time.perf_counter() - start)
        print(f"{kind:16s}{percentiles(seconds)}")
    exact = np.argsort(-(q_dense @ dense.T), axis=1)[:, :10]
    hits = [len({f"{j:032x}" for j in exact[i]} & set(found[i])) / 10 for i in range(queries)]
    print(f"dense recall@10 vs exact numpy: {statistics.mean(hits):.3f}")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=5183, help="points to index")
    parser.add_argument("--queries", type=int, default=200, help="queries per kind")
    parser.add_argument("--batch", type=int, default=1000, help="chunks per store.upsert call")
    parser.add_argument("--terms", type=int, default=60, help="sparse terms drawn per point (before dedup)")
    parser.add_argument("--stores", default=",".join(STORE_NAMES), help="comma-separated: " + ", ".join(STORE_NAMES))
    parser.add_argument("--search-ef", type=int, default=None, help="qdrant-edge HNSW search ef (default: engine's)")
    parser.add_argument("--data", choices=("clustered", "uniform"), default="clustered", help="dense vector layout")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: a temporary one, removed)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    start = time.perf_counter()
    if args.data == "clustered":
        centroids = unit_rows(rng, 2000)
        dense, q_dense = clustered_rows(rng, centroids, args.n), clustered_rows(rng, centroids, args.queries)
    else:
        dense, q_dense = unit_rows(rng, args.n), unit_rows(rng, args.queries)
    sparse = sparse_rows(rng, args.n, args.terms)
    chunks = make_chunks(rng, args.n, sparse)
    data = (chunks, dense, sparse, q_dense, sparse_rows(rng, args.queries, 6))
    print(f"generated {args.n:,} {args.data} points in {time.perf_counter() - start:.1f} s")

    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-stores-"))
    try:
        for name in args.stores.split(","):
            if name == "qdrant-local" and args.n > LOCAL_MODE_LIMIT:
                print(f"\n== {name}: skipped above {LOCAL_MODE_LIMIT:,} points (pure-Python brute force, many minutes)")
                continue
            bench(name, root, data, args.queries, args.batch, args.search_ef)
    finally:
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
