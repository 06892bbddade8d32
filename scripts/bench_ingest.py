"""Ingest cost on SciFact: ragpipe against LlamaIndex's own IngestionPipeline, re-ingest, a 1% edit, peak RSS.

    .venv/bin/pip install --no-deps -r scripts/bench-requirements.txt   # LlamaIndex side, once
    .venv/bin/python scripts/bench_ingest.py [--n 1000] [--llama-batch-size 10 [64 ...]] [--int8]

The first N abstracts are written one .txt each. Every measured ingest runs in a fresh process (this script
re-invoked with --worker); its time runs from before its imports to after its store is closed, so it
includes importing the libraries, loading the model, reading, chunking, embedding and writing. A throwaway
process first reads torch and the model from disk and makes sure ragpipe's one-off ONNX export of the
bundled model exists (as `ragpipe doctor` does at set-up; its time is printed), so no side pays for a cold
disk. Prints:
- first ingest, empty caches, all on the same all-MiniLM-L6-v2 weights, fp32, CPU: ragpipe's defaults
  (sentence chunker 200/20 cl100k tokens, the model exported to ONNX fp32 and run by onnxruntime, Qdrant
  Edge + bm25s); ragpipe with `embedding.type=sentence-transformers` (torch, like LlamaIndex); LlamaIndex
  (SimpleDirectoryReader, SentenceSplitter 200/20, HuggingFaceEmbedding on the bundled model folder,
  QdrantVectorStore over a local on-disk qdrant_client): seconds, chunks, chunks/s, peak RSS, and the speed
  ratios against LlamaIndex (target: ragpipe >= 1.5x); ragpipe's default and torch vectors are compared
  (mean/min cosine over every chunk) to show the default embeds what torch does;
- ragpipe re-ingest of the unchanged corpus in a new process: seconds, first/re-ingest ratio (target >= 50x),
  chunks embedded (must be 0);
- ragpipe re-ingest after appending a sentence to 1% of the files: documents changed, documents and chunks
  re-indexed, chunks embedded, seconds;
- with --int8, ragpipe with `embedding.quantize=dynamic-int8` (int8 weights and activations: other vectors,
  cosine ~0.995) as an extra line.
--llama-batch-size sets LlamaIndex's `embed_batch_size` (default: its own default, 10).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scifact

LLAMA_PACKAGES = ("llama-index-embeddings-huggingface", "llama-index-vector-stores-qdrant")
INSTALL_HINT = ".venv/bin/pip install --no-deps -r scripts/bench-requirements.txt"
# The same offline environment for every worker (ragpipe sets these itself; LlamaIndex does not).
WORKER_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "DO_NOT_TRACK": "1",
}
Result = dict[str, Any]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def ragpipe_config(docs: Path, work: Path, kind: str) -> tuple[dict[str, Any], Any]:
    from ragpipe.config.settings import RuntimeSettings

    config = {"name": "scifact", "sources": [{"path": str(docs)}], "embedding": dict(WORKER_EMBEDDINGS[kind])}
    return config, RuntimeSettings(data_dir=work / "data", cache_dir=work / "cache")


def ragpipe_ingest(docs: Path, work: Path, kind: str) -> Result:
    from ragpipe import Pipeline

    config, settings = ragpipe_config(docs, work, kind)
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
    fields = ("documents_indexed", "documents_unchanged", "chunks_indexed", "chunks_embedded", "seconds")
    return {"chunks": report.chunks_indexed, "failures": len(report.failures)} | {
        f"report_{name}": getattr(report, name) for name in fields
    }


def save_vectors(docs: Path, work: Path, kind: str) -> None:
    """Every indexed chunk's vector, in catalog order, from the embedding cache (after the timed ingest)."""
    import numpy as np

    from ragpipe import Pipeline

    config, settings = ragpipe_config(docs, work, kind)
    from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache

    with Pipeline.from_config(config, settings=settings) as rag, rag.index() as state:
        assert state.catalog is not None
        texts = [c.text for c in state.catalog.iter_chunks()]
        cached = CachedEmbedder(
            rag.models.embedder(rag.config.embedding, rag.settings), EmbeddingCache.in_dir(settings.resolved_cache_dir)
        )
        np.save(work / "vectors.npy", cached.embed_documents(texts))


def llamaindex_ingest(docs: Path, work: Path, batch_size: int) -> Result:
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from ragpipe.models import bundled_model_path

    warnings.filterwarnings("ignore", message="Payload indexes have no effect in the local Qdrant")

    # No file metadata, so that the splitter budgets the full 200 tokens and the embedded text is the chunk
    # alone, as in ragpipe (its default metadata would cut chunks shorter and be embedded with them).
    documents = SimpleDirectoryReader(str(docs), filename_as_id=True, file_metadata=lambda _: {}).load_data()
    embed = HuggingFaceEmbedding(model_name=str(bundled_model_path()), device="cpu", embed_batch_size=batch_size)
    client = QdrantClient(path=str(work / "qdrant"))
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=200, chunk_overlap=20), embed],
        vector_store=QdrantVectorStore(client=client, collection_name="scifact"),
    )
    nodes = pipeline.run(documents=documents, show_progress=False)
    client.close()
    return {"chunks": len(nodes)}


def warm_up(work: Path) -> Result:
    """Read torch, sentence-transformers and the model from disk once, and make sure the ONNX export of the
    bundled model exists (timing it if this call makes it), untimed otherwise."""
    from sentence_transformers import SentenceTransformer

    from ragpipe.config.settings import RuntimeSettings
    from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
    from ragpipe.embedding.onnx_export import export_path
    from ragpipe.models import bundled_model_path

    SentenceTransformer(str(bundled_model_path()), device="cpu").encode(["warm-up"])
    settings = RuntimeSettings()
    onnx = OnnxEmbedder(OnnxConfig(), settings)
    source = onnx._resolved()
    existed = export_path(source.identity, onnx.config.quantize, settings.resolved_model_cache_dir).is_file()
    start = time.perf_counter()
    onnx.embed_documents(["warm-up"])
    return {"export_seconds": time.perf_counter() - start, "export_existed": existed, "onnx": str(onnx.onnx_path)}


def worker(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    if args.worker == "warmup":
        result = warm_up(args.work)
    elif args.worker == "llamaindex":
        result = llamaindex_ingest(args.docs, args.work, args.batch)
    else:
        result = ragpipe_ingest(args.docs, args.work, args.worker)
    result |= {"seconds": time.perf_counter() - start, "rss_mib": peak_rss_mib()}
    if args.vectors:
        save_vectors(args.docs, args.work, args.worker)
    args.out.write_text(json.dumps(result))


WORKER_EMBEDDINGS: dict[str, dict[str, Any]] = {
    "ragpipe": {},  # the defaults
    "ragpipe-torch": {"type": "sentence-transformers"},
    "ragpipe-int8": {"type": "onnx", "quantize": "dynamic-int8"},
}


def run_worker(kind: str, docs: Path, work: Path, batch: int = 0, vectors: bool = False) -> Result:
    """Run one measured step in a fresh process; ``vectors``: then save every chunk's vector (untimed)."""
    out = work.with_suffix(".json")
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--worker", kind, "--docs", str(docs), "--work", str(work)]
    command += ["--out", str(out), "--batch", str(batch)] + (["--vectors"] if vectors else [])
    subprocess.run(command, env=os.environ | WORKER_ENV, check=True)
    return json.loads(out.read_text())


def line(label: str, r: Result) -> str:
    seconds, chunks, rss = r["seconds"], r["chunks"], r["rss_mib"]
    return f"  {label:<70} {seconds:7.1f} s {chunks:6d} chunks {chunks / seconds:6.1f} chunks/s RSS {rss:5.0f} MiB"


def edit_files(docs: Path, ids: list[str]) -> list[str]:
    """Append a new sentence to every 100th document (1%); returns the ids edited."""
    edited = ids[::100]
    for doc_id in edited:
        path = docs / f"{doc_id}.txt"
        text = path.read_text(encoding="utf-8").rstrip("\n")
        path.write_text(f"{text} This abstract was revised (benchmark edit of {doc_id}).\n", encoding="utf-8")
    return edited


def cosine_summary(tmp: Path, a: str, b: str) -> str:
    """Cosine between the chunk vectors two runs saved (the same chunks, in the same order)."""
    import numpy as np

    x, y = np.load(tmp / a / "vectors.npy"), np.load(tmp / b / "vectors.npy")
    cos = np.sum(x * y, axis=1)
    return f"{len(cos)} chunks, mean cosine {cos.mean():.6f}, min {cos.min():.6f}"


def bench(tmp: Path, n: int, their_batches: list[int], int8: bool) -> None:
    corpus = scifact.load_corpus()
    ids = list(corpus)[:n]
    docs = tmp / "scifact"
    scifact.write_corpus_files(corpus, docs, ids)
    print(f"SciFact: first {len(ids)} abstracts, one .txt each; each ingest in a fresh process, imports included")
    warm = run_worker("warmup", docs, tmp / "warmup")
    state = "existed (made by `ragpipe doctor` at set-up)" if warm["export_existed"] else "made now"
    print(f"one-off ONNX fp32 export of the bundled model: {state}, {warm['export_seconds']:.1f} s, {warm['onnx']}")

    print("first ingest, empty caches (same all-MiniLM-L6-v2 weights, fp32, CPU):")
    ours = run_worker("ragpipe", docs, tmp / "ragpipe", vectors=True)
    print(line("ragpipe defaults (ONNX fp32 on onnxruntime)", ours))
    torch_run = run_worker("ragpipe-torch", docs, tmp / "ragpipe-torch", vectors=True)
    print(line("ragpipe, embedding.type=sentence-transformers (torch)", torch_run))
    print(f"    default vs torch vectors: {cosine_summary(tmp, 'ragpipe', 'ragpipe-torch')}")
    for batch in their_batches:
        theirs = run_worker("llamaindex", docs, tmp / f"llamaindex-{batch}", batch)
        default = " (default)" if batch == 10 else ""
        print(
            line(
                f"LlamaIndex IngestionPipeline, HuggingFaceEmbedding (torch), embed_batch_size {batch}{default}", theirs
            )
        )
        print(
            f"    LlamaIndex time / ragpipe time: defaults {theirs['seconds'] / ours['seconds']:.2f}x (target >= 1.5x),"
            f" both on torch {theirs['seconds'] / torch_run['seconds']:.2f}x"
        )
    if int8:
        extra = run_worker("ragpipe-int8", docs, tmp / "ragpipe-int8", vectors=True)
        print(line("ragpipe, embedding.quantize=dynamic-int8 (other vectors)", extra))
        print(f"    int8 vs torch vectors: {cosine_summary(tmp, 'ragpipe-int8', 'ragpipe-torch')}")

    again = run_worker("ragpipe", docs, tmp / "ragpipe")
    print(
        f"re-ingest unchanged, new process: {again['seconds']:.2f} s (report.seconds {again['report_seconds']:.2f}),"
        f" first/re-ingest {ours['seconds'] / again['seconds']:.0f}x (target >= 50x),"
        f" chunks_embedded {again['report_chunks_embedded']} (must be 0),"
        f" documents_unchanged {again['report_documents_unchanged']}, RSS {again['rss_mib']:.0f} MiB"
    )

    edited = edit_files(docs, ids)
    after = run_worker("ragpipe", docs, tmp / "ragpipe")
    print(
        f"re-ingest after appending a sentence to {len(edited)} documents (1%), new process: {after['seconds']:.2f} s"
        f" (report.seconds {after['report_seconds']:.2f}); documents_indexed {after['report_documents_indexed']},"
        f" chunks of those documents (chunks_indexed) {after['report_chunks_indexed']},"
        f" chunks_embedded {after['report_chunks_embedded']}, RSS {after['rss_mib']:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="SciFact abstracts to ingest (5183 = all)")
    parser.add_argument(
        "--llama-batch-size", type=int, nargs="+", default=[10], help="LlamaIndex embed_batch_size(s); 10 = default"
    )
    parser.add_argument("--int8", action="store_true", help="also time ragpipe with embedding.quantize=dynamic-int8")
    parser.add_argument("--worker", choices=["warmup", "llamaindex", *WORKER_EMBEDDINGS], help=argparse.SUPPRESS)
    parser.add_argument("--vectors", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--docs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--batch", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    try:
        for package in LLAMA_PACKAGES:
            version(package)
    except PackageNotFoundError as exc:
        sys.exit(f"LlamaIndex package {exc.name} is not installed; install them with:\n    {INSTALL_HINT}")
    with tempfile.TemporaryDirectory() as tmp:
        bench(Path(tmp), args.n, args.llama_batch_size, args.int8)


if __name__ == "__main__":
    main()
