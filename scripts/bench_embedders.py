"""Throughput of the torch (sentence-transformers) and ONNX int8 embedders on SciFact abstracts.

Both embedders run in the same process on the same texts; each is loaded and warmed up before timing.
Usage: ``.venv/bin/python scripts/bench_embedders.py [--n 300] [--corpus PATH] [--batch-size 64]``
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.protocols import Embedder

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "scifact" / "corpus.jsonl"


def read_abstracts(path: Path, limit: int) -> list[str]:
    """The first ``limit`` documents of a BEIR corpus.jsonl as 'title. text'."""
    texts: list[str] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            texts.append(f"{row.get('title', '')}. {row['text']}".strip(". "))
            if len(texts) == limit:
                break
    return texts


def timed(embedder: Embedder, texts: Sequence[str]) -> tuple[np.ndarray, float, float]:
    """Vectors, wall seconds and process CPU seconds of one embed_documents call, after a warm-up call.

    CPU seconds (all threads) stay meaningful when other processes share the cores; wall seconds do not.
    """
    embedder.embed_documents(texts[:8])
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embedder.embed_documents(texts)
    return vectors, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="number of abstracts (default 300)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="BEIR corpus.jsonl")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of both embedders")
    args = parser.parse_args()

    texts = read_abstracts(args.corpus, args.n)
    root = Path(os.environ.get("TMPDIR", "/tmp")) / "ragpipe-bench"
    context = BuildContext(RuntimeSettings(), index_dir=root, cache_dir=root)
    torch_embedder = SentenceTransformersEmbedder(SentenceTransformersConfig(batch_size=args.batch_size), context)
    onnx_embedder = OnnxEmbedder(OnnxConfig(batch_size=args.batch_size), context)

    load_at_start = os.getloadavg()[0]
    torch_vectors, torch_s, torch_cpu = timed(torch_embedder, texts)
    onnx_vectors, onnx_s, onnx_cpu = timed(onnx_embedder, texts)
    cosines = np.sum(torch_vectors * onnx_vectors, axis=1)

    import torch

    mean_chars = np.mean([len(t) for t in texts])
    print(f"texts: {len(texts)} SciFact abstracts (mean {mean_chars:.0f} chars) from {args.corpus}")
    print(f"cpu cores: {os.cpu_count()}, torch threads: {torch.get_num_threads()}, batch size: {args.batch_size}")
    print(f"load average (1 min) at start / end: {load_at_start:.1f} / {os.getloadavg()[0]:.1f}")
    rows = (("torch fp32 (sentence-transformers)", torch_s, torch_cpu), ("onnx int8 (onnxruntime)", onnx_s, onnx_cpu))
    for name, wall, cpu in rows:
        print(f"{name:35s} {len(texts) / wall:7.1f} texts/s wall ({wall:.1f} s), {cpu / len(texts):.3f} CPU-s/text")
    print(f"speed ratio onnx/torch: {torch_s / onnx_s:.2f}x wall, {torch_cpu / onnx_cpu:.2f}x CPU time")
    print(f"cosine torch vs onnx: mean {cosines.mean():.4f}, min {cosines.min():.4f}")


if __name__ == "__main__":
    main()
