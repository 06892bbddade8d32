"""Ingest cost on SciFact: ragpipe against LlamaIndex's own IngestionPipeline, re-ingest, a 1% edit, peak RSS.

    .venv/bin/pip install --no-deps -r scripts/bench-requirements.txt   # LlamaIndex side, once
    .venv/bin/python scripts/bench_ingest.py [--n 1000] [--batch-size B] [--llama-batch-size 10 [64 ...]] [--onnx]

The first N abstracts are written one .txt each. Every measured ingest runs in a fresh process (this script
re-invoked with --worker); its time runs from before its imports to after its store is closed, so it
includes importing the libraries, loading the model, reading, chunking, embedding and writing. A throwaway
process loads torch and the model first so neither side pays for a cold disk. Prints:
- first ingest, empty caches: ragpipe defaults (sentence chunker 200/20 cl100k tokens, sentence-transformers
  torch fp32 on CPU, Qdrant Edge + bm25s) vs LlamaIndex (SimpleDirectoryReader, SentenceSplitter 200/20,
  HuggingFaceEmbedding on the same bundled model and device, QdrantVectorStore over a local on-disk
  qdrant_client): seconds, chunks, chunks/s, peak RSS and the speed ratio (target: ragpipe >= 1.5x);
- ragpipe re-ingest of the unchanged corpus in a new process: seconds, first/re-ingest ratio (target >= 50x),
  chunks embedded (must be 0);
- ragpipe re-ingest after appending a sentence to 1% of the files: documents changed, documents and chunks
  re-indexed, chunks embedded, seconds;
- with --onnx, ragpipe with `embedding.type=onnx` (a different backend: int8 onnxruntime) as an extra line.
--batch-size sets ragpipe's `embedding.batch_size` (default: its config default), --llama-batch-size
LlamaIndex's `embed_batch_size` (default: its own default, 10); both are printed.
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


def ragpipe_ingest(docs: Path, work: Path, embedding: dict[str, Any]) -> Result:
    from ragpipe import Pipeline
    from ragpipe.config.settings import RuntimeSettings

    config = {"name": "scifact", "sources": [{"path": str(docs)}], "embedding": embedding}
    settings = RuntimeSettings(data_dir=work / "data", cache_dir=work / "cache")
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
        batch = rag.config.embedding.batch_size
    fields = ("documents_indexed", "documents_unchanged", "chunks_indexed", "chunks_embedded", "seconds")
    return {"chunks": report.chunks_indexed, "failures": len(report.failures), "batch": batch} | {
        f"report_{name}": getattr(report, name) for name in fields
    }


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


def warm_up() -> Result:
    """Read torch, sentence-transformers and the model from disk once, untimed."""
    from sentence_transformers import SentenceTransformer

    from ragpipe.models import bundled_model_path

    SentenceTransformer(str(bundled_model_path()), device="cpu").encode(["warm-up"])
    return {}


def worker(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    if args.worker == "warmup":
        result = warm_up()
    elif args.worker == "llamaindex":
        result = llamaindex_ingest(args.docs, args.work, args.batch)
    else:
        embedding: dict[str, Any] = {"type": "onnx"} if args.worker == "ragpipe-onnx" else {}
        if args.batch:
            embedding["batch_size"] = args.batch
        result = ragpipe_ingest(args.docs, args.work, embedding)
    result |= {"seconds": time.perf_counter() - start, "rss_mib": peak_rss_mib()}
    args.out.write_text(json.dumps(result))


def run_worker(kind: str, docs: Path, work: Path, batch: int = 0) -> Result:
    out = work.with_suffix(".json")
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--worker", kind, "--docs", str(docs), "--work", str(work)]
    subprocess.run([*command, "--out", str(out), "--batch", str(batch)], env=os.environ | WORKER_ENV, check=True)
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


def bench(tmp: Path, n: int, our_batch: int, their_batches: list[int], onnx: bool) -> None:
    corpus = scifact.load_corpus()
    ids = list(corpus)[:n]
    docs = tmp / "scifact"
    scifact.write_corpus_files(corpus, docs, ids)
    print(f"SciFact: first {len(ids)} abstracts, one .txt each; each ingest in a fresh process, imports included")
    run_worker("warmup", docs, tmp / "warmup")

    ours = run_worker("ragpipe", docs, tmp / "ragpipe", our_batch)
    print("first ingest, empty caches:")
    default = " (default)" if not our_batch else ""
    print(line(f"ragpipe, sentence-transformers torch fp32, batch_size {ours['batch']}{default}", ours))
    print(f"    (ragpipe's own report.seconds: {ours['report_seconds']:.1f} s, failures: {ours['failures']})")
    for batch in their_batches:
        theirs = run_worker("llamaindex", docs, tmp / f"llamaindex-{batch}", batch)
        default = " (default)" if batch == 10 else ""
        print(line(f"LlamaIndex, HuggingFaceEmbedding fp32, embed_batch_size {batch}{default}", theirs))
        print(f"    LlamaIndex time / ragpipe time: {theirs['seconds'] / ours['seconds']:.2f}x (target >= 1.5x)")
    if onnx:
        extra = run_worker("ragpipe-onnx", docs, tmp / "ragpipe-onnx")
        print(line("ragpipe, embedding.type=onnx: OTHER backend, int8 onnxruntime", extra))
        print("    (includes exporting and quantizing the model into the fresh cache; not a like-for-like comparison)")

    again = run_worker("ragpipe", docs, tmp / "ragpipe", our_batch)
    print(
        f"re-ingest unchanged, new process: {again['seconds']:.2f} s (report.seconds {again['report_seconds']:.2f}),"
        f" first/re-ingest {ours['seconds'] / again['seconds']:.0f}x (target >= 50x),"
        f" chunks_embedded {again['report_chunks_embedded']} (must be 0),"
        f" documents_unchanged {again['report_documents_unchanged']}, RSS {again['rss_mib']:.0f} MiB"
    )

    edited = edit_files(docs, ids)
    after = run_worker("ragpipe", docs, tmp / "ragpipe", our_batch)
    print(
        f"re-ingest after appending a sentence to {len(edited)} documents (1%), new process: {after['seconds']:.2f} s"
        f" (report.seconds {after['report_seconds']:.2f}); documents_indexed {after['report_documents_indexed']},"
        f" chunks of those documents (chunks_indexed) {after['report_chunks_indexed']},"
        f" chunks_embedded {after['report_chunks_embedded']}, RSS {after['rss_mib']:.0f} MiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="SciFact abstracts to ingest (5183 = all)")
    parser.add_argument("--batch-size", type=int, default=0, help="ragpipe embedding.batch_size (0: its default)")
    parser.add_argument(
        "--llama-batch-size", type=int, nargs="+", default=[10], help="LlamaIndex embed_batch_size(s); 10 = default"
    )
    parser.add_argument("--onnx", action="store_true", help="also time ragpipe with embedding.type=onnx")
    parser.add_argument("--worker", choices=["warmup", "ragpipe", "ragpipe-onnx", "llamaindex"], help=argparse.SUPPRESS)
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
        bench(Path(tmp), args.n, args.batch_size, args.llama_batch_size, args.onnx)


if __name__ == "__main__":
    main()
