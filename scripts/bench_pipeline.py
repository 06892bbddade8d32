"""Core pipeline figures: start-up cost, ingest overhead against plain encoding, hybrid query latency.

    .venv/bin/python scripts/bench_pipeline.py [--n 1000] [--skip-scifact]

Prints:
- `import ragpipe` time and whether torch got imported; `ragpipe --help` wall time;
- hybrid query latency (no reranking) p50/p95 on the bundled corpus, retrieval only and with the answer;
- SciFact (first N abstracts, one .txt each), each ingest into an empty index and embedding cache: ragpipe's
  default ingest (ONNX fp32 embedder) and one with `embedding.type=sentence-transformers`, each against plain
  `SentenceTransformer.encode` of the very same chunk texts in the same run (library defaults), and the
  default ingest against its own embedder called alone (the pipeline's overhead); then hybrid query latency
  and nDCG@10 over the test queries whose documents are indexed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scifact

if TYPE_CHECKING:
    from ragpipe import Pipeline
    from ragpipe.types import IngestReport

ROOT = Path(__file__).resolve().parents[1]
EVAL_SET = ROOT / "evals" / "handbook_qa.jsonl"


def bundled_questions() -> list[str]:
    """The 60 distinct questions of the bundled eval set: each is asked once, so no query-cache hits."""
    return [json.loads(line)["question"] for line in EVAL_SET.read_text().splitlines() if line.strip()]


def startup() -> None:
    code = (
        "import sys,time; t=time.perf_counter(); import ragpipe; print(time.perf_counter()-t, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    print(f"import ragpipe: {float(out[0]) * 1000:.0f} ms, torch imported: {out[1]}")
    walls = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ragpipe.cli.app", "--help"], capture_output=True, check=True)
        walls.append(time.perf_counter() - t)
    print(f"ragpipe --help: best {min(walls):.2f} s, median {sorted(walls)[1]:.2f} s (target < 1 s)")


def latency(pipeline: Pipeline, questions: list[str], answer: bool) -> tuple[float, float]:
    """p50/p95 in ms over one pass of the questions (each new to the query-embedding cache)."""
    pipeline.query("warm-up question that is not in the set", answer=answer)  # model load
    times = []
    for q in questions:
        t = time.perf_counter()
        pipeline.query(q, answer=answer)
        times.append(time.perf_counter() - t)
    return scifact.percentile(times, 0.5) * 1000, scifact.percentile(times, 0.95) * 1000


def bundled(tmp: Path) -> None:
    from ragpipe import Pipeline
    from ragpipe.config.settings import RuntimeSettings

    settings = RuntimeSettings(data_dir=tmp / "bundled")
    with Pipeline.from_config(ROOT / "configs" / "default.yaml", settings=settings) as rag:
        report = rag.ingest(progress=False)
        print(
            f"bundled corpus: {report.documents_indexed} docs, {report.chunks_indexed} chunks, {report.seconds:.1f} s"
        )
        questions = bundled_questions()
        p50, p95 = latency(rag, questions, answer=False)
        print(f"bundled hybrid retrieval, {len(questions)} distinct questions: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        p50, p95 = latency(rag, questions, answer=True)
        print(f"bundled hybrid query + extractive answer (query embedding cached): p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def ingest(docs: Path, work: Path, embedding: dict[str, Any]) -> tuple[Pipeline, IngestReport]:
    """A fresh ingest of ``docs`` (empty index and embedding cache) with the given embedding section."""
    from ragpipe import Pipeline
    from ragpipe.config.settings import RuntimeSettings

    settings = RuntimeSettings(data_dir=work / "data", cache_dir=work / "cache")
    rag = Pipeline.from_config(
        {"name": "scifact", "sources": [{"path": str(docs)}], "embedding": embedding}, settings=settings
    )
    return rag, rag.ingest(progress=False)


def overhead(label: str, report: IngestReport, ceiling_label: str, ceiling_seconds: float) -> None:
    ours, best = report.chunks_indexed / report.seconds, report.chunks_indexed / ceiling_seconds
    print(
        f"  {label}: {ours:.1f} chunks/s ({report.seconds:.1f} s) vs {ceiling_label} {best:.1f} chunks/s "
        f"({ceiling_seconds:.1f} s): overhead {(report.seconds / ceiling_seconds - 1) * 100:+.1f}%"
    )


def scifact_run(tmp: Path, n: int) -> None:
    from sentence_transformers import SentenceTransformer

    from ragpipe.models import bundled_model_path

    corpus = scifact.load_corpus()
    ids = list(corpus)[:n]
    docs = tmp / "scifact"
    scifact.write_corpus_files(corpus, docs, ids)
    rag, report = ingest(docs, tmp / "default", {})  # ragpipe's defaults: ONNX fp32 embedder
    with rag:
        with rag.index() as state:
            assert state.catalog is not None
            texts = [c.text for c in state.catalog.iter_chunks()]
        bare = rag.models.embedder(rag.config.embedding, rag.settings)  # the embedder without cache or pipeline
        bare.embed_documents(texts[:16])
        t = time.perf_counter()
        bare.embed_documents(texts)
        bare_seconds = time.perf_counter() - t
        torch_rag, torch_report = ingest(docs, tmp / "torch", {"type": "sentence-transformers"})
        torch_rag.close()
        model = SentenceTransformer(str(bundled_model_path()), device="cpu")
        model.encode(texts[:32])
        t = time.perf_counter()
        model.encode(texts, normalize_embeddings=True)  # the library's defaults (batch_size 32)
        plain = time.perf_counter() - t
        print(f"scifact ingest, {len(ids)} abstracts, {report.chunks_indexed} chunks, empty caches:")
        overhead("ragpipe defaults (ONNX fp32)", report, "plain SentenceTransformer.encode", plain)
        overhead(
            "ragpipe, embedding.type=sentence-transformers", torch_report, "plain SentenceTransformer.encode", plain
        )
        overhead("ragpipe defaults (ONNX fp32)", report, "its own embedder called alone", bare_seconds)
        queries, qrels = scifact.load_queries(), scifact.load_qrels("test")
        indexed = set(ids)
        usable = {q: rel for q, rel in qrels.items() if set(rel) <= indexed}
        questions = [queries[q] for q in usable]
        p50, p95 = latency(rag, questions, answer=False)
        print(f"scifact hybrid retrieval latency over {len(questions)} queries: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
        scores = []
        for qid, rel in usable.items():
            hits = rag.query(queries[qid], top_k=100, answer=False).chunks
            ranked = scifact.first_unique(scifact.doc_id_of(h.chunk.doc_id) for h in hits)
            scores.append(scifact.ndcg_at_k(ranked, rel))
        print(f"scifact hybrid nDCG@10 on those queries: {sum(scores) / max(len(scores), 1):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000, help="SciFact abstracts to ingest (5183 = all)")
    parser.add_argument("--skip-scifact", action="store_true")
    args = parser.parse_args()
    startup()
    with tempfile.TemporaryDirectory() as tmp:
        bundled(Path(tmp))
        if not args.skip_scifact:
            scifact_run(Path(tmp), args.n)


if __name__ == "__main__":
    main()
