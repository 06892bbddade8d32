"""SciFact (BEIR) retrieval figures through the real pipeline: BM25, dense, hybrid (RRF, convex), + rerank.

    .venv/bin/python scripts/bench_beir.py [--work-dir .ragpipe/bench-beir] [--reranker PATH] [--reingest]

The corpus is written once as one ``<_id>.txt`` per abstract ("title\\n\\ntext") under the work dir and
ingested with ``configs/scifact/hybrid.yaml`` plus overrides; the embedding cache and the indexes stay in
the work dir, so a re-run embeds nothing. Every choice is made on the **train** split: for each chunking x
BM25 variant the dense and lexical legs of every train query are retrieved once through ``Pipeline.query``
(``--depth`` documents each) and fused offline with ragpipe's fusion classes over a grid (RRF k and leg
weights, convex weight and normalisation, leg depth). The chosen settings then run end to end through
``Pipeline.query`` on the **test** split: nDCG@10, Recall@100, MRR@10, ingest time and query latency
(p50/p95 of ``Pipeline.query(..., answer=False)``, query embedding included). The tuned hybrid config is
written to ``<work-dir>/hybrid.tuned.yaml``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scifact

if TYPE_CHECKING:
    from ragpipe import Pipeline
    from ragpipe.types import Hit, ScoredChunk

ROOT = Path(__file__).resolve().parents[1]
CHUNKINGS = {"whole": (512, 0), "passages": (128, 16)}  # name -> (chunk_size, chunk_overlap), cl100k tokens
LEXICAL = {"bm25s": (1.2, 0.75), "pyserini": (0.9, 0.4)}  # name -> (k1, b)
RRF_K = (1, 5, 10, 20, 30, 45, 60, 100)
RRF_DENSE_WEIGHT = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0)  # the lexical leg weighs 1
CONVEX_WEIGHT = tuple(round(0.05 * i, 2) for i in range(1, 20))
DEPTHS = (50, 100, 200)  # documents per leg before fusion
REFINE = 4  # best settings of each fusion kind also tried at the other depths
NO_RERANKER = "n/a: no pretrained cross-encoder available offline"
Qrels = dict[str, dict[str, int]]
Legs = dict[str, dict[str, list["Hit"]]]  # query id -> leg -> hits
Tuned = tuple[float, int, dict[str, Any]]  # (train nDCG@10, leg depth in documents, fusion config)


@dataclass
class Index:
    """One ingested index variant and how its ingest went in this run."""

    chunking: str
    lexical: str
    overrides: list[str]
    seconds: float  # nan: the index already existed
    embedded: int
    chunks: int
    documents: int

    @property
    def ingest_text(self) -> str:
        return "existed" if math.isnan(self.seconds) else f"{self.seconds:.1f} s"

    def depth(self, documents: int) -> int:
        """Chunks to retrieve for about ``documents`` distinct documents."""
        return math.ceil(documents * max(1.0, self.chunks / max(self.documents, 1)))

    def retrieval(self, mode: str, leg_docs: int, fusion: dict[str, Any] | None = None) -> list[str]:
        """Overrides for ``mode`` with legs of ``leg_docs`` documents, returning about 100 documents."""
        legs = self.depth(leg_docs)
        out = [f"retrieval.mode={mode}", f"retrieval.dense_top_k={legs}", f"retrieval.lexical_top_k={legs}"]
        out.append(f"retrieval.top_k={self.depth(100) if fusion else legs}")
        return out + ([f"retrieval.fusion={json.dumps(fusion)}"] if fusion else [])


@dataclass
class Row:
    label: str
    metrics: dict[str, float]
    latency: tuple[float, float] = (math.nan, math.nan)
    index: Index | None = None


def materialize(dataset: Path, work: Path) -> Path:
    """One ``<_id>.txt`` per abstract under ``work/corpus`` (only missing files are written)."""
    corpus = scifact.load_corpus(dataset)
    target = work / "corpus"
    target.mkdir(parents=True, exist_ok=True)
    existing = {p.stem for p in target.glob("*.txt")}
    missing = [doc_id for doc_id in corpus if doc_id not in existing]
    if missing:
        scifact.write_corpus_files(corpus, target, missing)
    return target


def open_pipeline(args: argparse.Namespace, overrides: Sequence[str]) -> Pipeline:
    from ragpipe import Pipeline
    from ragpipe.config.settings import RuntimeSettings

    settings = RuntimeSettings(data_dir=args.work_dir / "data", cache_dir=args.work_dir / "cache")
    sources = f"sources=[{{path: {json.dumps(str(args.docs.resolve()))}}}]"
    return Pipeline.from_config(args.config, overrides=[sources, *overrides], settings=settings)


def ranked_docs(chunks: Sequence[ScoredChunk | Hit]) -> list[str]:
    return scifact.first_unique(scifact.doc_id_of(c.chunk.doc_id) for c in chunks)


def ndcg10(rankings: dict[str, list[str]], qrels: Qrels) -> float:
    return sum(scifact.ndcg_at_k(rankings[q], rel, 10) for q, rel in qrels.items()) / len(qrels)


def score(rankings: dict[str, list[str]], qrels: Qrels) -> dict[str, float]:
    """Means over the judged queries of nDCG@10, Recall@100 and MRR@10."""
    from ragpipe.evaluation.retrieval_metrics import mrr_at_k

    n = len(qrels)
    return {
        "ndcg@10": ndcg10(rankings, qrels),
        "recall@100": sum(scifact.recall_at_k(rankings[q], rel, 100) for q, rel in qrels.items()) / n,
        "mrr@10": sum(mrr_at_k(rankings[q], rel, 10) for q, rel in qrels.items()) / n,
    }


def build_index(args: argparse.Namespace, chunking: str, lexical: str) -> Index:
    (size, overlap), (k1, b) = CHUNKINGS[chunking], LEXICAL[lexical]
    overrides = [f"chunking.chunk_size={size}", f"chunking.chunk_overlap={overlap}", f"lexical.k1={k1}"]
    overrides.append(f"lexical.b={b}")
    with open_pipeline(args, overrides) as rag:
        if args.reingest and rag.index_dir.exists():
            shutil.rmtree(rag.index_dir)
        report = rag.ingest(progress=False)
        if report.failures:
            raise SystemExit(f"ingest {chunking}/{lexical}: {len(report.failures)} failures: {report.failures[:3]}")
        documents = len(list(args.docs.glob("*.txt")))
        with rag.index() as state:
            chunks = state.facts.chunks
    seconds = report.seconds if report.documents_indexed == documents else math.nan
    return Index(chunking, lexical, overrides, seconds, report.chunks_embedded, chunks, documents)


def collect_legs(args: argparse.Namespace, index: Index, queries: dict[str, str], dense: Legs | None) -> Legs:
    """Dense and lexical hits of every query, retrieved once through ``Pipeline.query``.

    The query vectors are embedded in one batch first (the pipeline's query cache then serves them);
    ``dense`` gives legs already retrieved from an index with the same chunks and vectors.
    """
    from ragpipe.types import Hit

    legs: Legs = {}
    with open_pipeline(args, index.overrides + index.retrieval("hybrid", args.depth)) as rag:
        if dense is None:
            rag.models.query_embedder(rag.config.embedding, rag.settings).embed_queries(list(queries.values()))
        for qid, text in queries.items():
            legs[qid] = {"dense": dense[qid]["dense"]} if dense is not None else {}
            for leg in ("dense", "lexical") if dense is None else ("lexical",):
                found = rag.query(text, mode=leg, answer=False).chunks
                legs[qid][leg] = [Hit(s.chunk, s.leg_scores[leg]) for s in found]
    return legs


def fusion_grid() -> list[dict[str, Any]]:
    rrf = [{"type": "rrf", "k": k, "weights": {"dense": w, "lexical": 1.0}} for k in RRF_K for w in RRF_DENSE_WEIGHT]
    norms = ("minmax", "zscore")
    return rrf + [{"type": "convex", "weight": w, "normalization": n} for w in CONVEX_WEIGHT for n in norms]


def fuse_all(legs: Legs, qrels: Qrels, index: Index, depth: int, fusion: dict[str, Any]) -> float:
    """Train nDCG@10 of one fusion setting, fused offline from the retrieved legs cut to ``depth`` documents."""
    from ragpipe.retrieval.fusion import ConvexFusion, ConvexFusionConfig, RrfFusion, RrfFusionConfig

    is_rrf = fusion["type"] == "rrf"
    fuser = RrfFusion(RrfFusionConfig(**fusion)) if is_rrf else ConvexFusion(ConvexFusionConfig(**fusion))
    cut, top = index.depth(depth), index.depth(10)
    rankings = {q: ranked_docs(fuser.fuse({leg: hits[:cut] for leg, hits in legs[q].items()}, top)) for q in qrels}
    return ndcg10(rankings, qrels)


def tune(legs: Legs, qrels: Qrels, index: Index) -> list[Tuned]:
    """The whole fusion grid at the middle leg depth, then the best few settings of each kind at every depth."""
    middle = DEPTHS[len(DEPTHS) // 2]
    results: list[Tuned] = [(fuse_all(legs, qrels, index, middle, f), middle, f) for f in fusion_grid()]
    for kind in ("rrf", "convex"):
        leaders = sorted((r for r in results if r[2]["type"] == kind), key=lambda r: -r[0])[:REFINE]
        for _, _, fusion in list(leaders):
            results += [(fuse_all(legs, qrels, index, d, fusion), d, fusion) for d in DEPTHS if d != middle]
    return results


def best(results: list[Tuned], kind: str) -> Tuned:
    return max((r for r in results if r[2]["type"] == kind), key=lambda r: r[0])


def describe(fusion: dict[str, Any], depth: int) -> str:
    params = ", ".join(f"{k}={v}" for k, v in fusion.items() if k != "type")
    return f"{fusion['type']}({params}), legs of {depth} docs"


def run_row(args: argparse.Namespace, label: str, index: Index, extra: list[str], queries: dict[str, str]) -> Row:
    """Query every test question end to end through ``Pipeline.query``; score the ranking, time each call."""
    rankings: dict[str, list[str]] = {}
    times: list[float] = []
    with open_pipeline(args, index.overrides + extra) as rag:
        rag.query(args.warmup, answer=False)  # loads the model and the indexes outside the timed calls
        for qid in args.test:
            started = time.perf_counter()
            result = rag.query(queries[qid], answer=False)
            times.append(time.perf_counter() - started)
            rankings[qid] = ranked_docs(result.chunks)
    latency = (scifact.percentile(times, 0.5) * 1000, scifact.percentile(times, 0.95) * 1000)
    print(f"  {label}: {' '.join(extra)}", flush=True)
    return Row(label, score(rankings, args.test), latency, index)


def print_table(rows: list[Row]) -> None:
    head = f"{'row':<30} {'nDCG@10':>7} {'R@100':>6} {'MRR@10':>6} {'ingest':>9} {'p50 ms':>7} {'p95 ms':>7}  index"
    print(head + "\n" + "-" * len(head))
    for row in rows:
        if row.index is None:
            print(f"{row.label:<30} {NO_RERANKER}")
            continue
        m, idx = row.metrics, row.index
        print(
            f"{row.label:<30} {m['ndcg@10']:>7.3f} {m['recall@100']:>6.3f} {m['mrr@10']:>6.3f} {idx.ingest_text:>9} "
            f"{row.latency[0]:>7.1f} {row.latency[1]:>7.1f}  {idx.chunking}/{idx.lexical}: {idx.chunks} chunks, "
            f"{idx.embedded} embedded"
        )


def write_tuned(args: argparse.Namespace, index: Index, depth: int, fusion: dict[str, Any]) -> Path:
    from ragpipe.config.loading import apply_override, read_config_file

    data = read_config_file(args.config)
    for assignment in index.overrides + index.retrieval("hybrid", depth, fusion):
        apply_override(data, assignment)
    data.pop("sources", None)
    target = args.work_dir / "hybrid.tuned.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def train_phase(args: argparse.Namespace, queries: dict[str, str], train: Qrels) -> dict[tuple[str, str], Any]:
    """Ingest every index variant, retrieve the train legs once, tune fusion offline; print a summary line each."""
    found: dict[tuple[str, str], Any] = {}
    dense_legs: dict[str, Legs] = {}  # chunking -> legs: the dense leg does not depend on the BM25 variant
    print("\n== train split: nDCG@10 of each leg and of the best fusion, per index variant ==")
    for chunking, lexical in itertools.product(CHUNKINGS, LEXICAL):
        started = time.perf_counter()
        index = build_index(args, chunking, lexical)
        legs = collect_legs(args, index, {q: queries[q] for q in train}, dense_legs.get(chunking))
        dense_legs.setdefault(chunking, legs)
        bm25 = ndcg10({q: ranked_docs(legs[q]["lexical"]) for q in train}, train)
        dense = ndcg10({q: ranked_docs(legs[q]["dense"]) for q in train}, train)
        results = tune(legs, train, index)
        found[chunking, lexical] = (index, bm25, dense, results)
        rrf, convex = best(results, "rrf"), best(results, "convex")
        print(
            f"{chunking}/{lexical}: ingest {index.ingest_text} ({index.embedded} of {index.chunks} chunks embedded)"
            f" | bm25 {bm25:.4f} | dense {dense:.4f} | best {describe(rrf[2], rrf[1])}: {rrf[0]:.4f}"
            f" | best {describe(convex[2], convex[1])}: {convex[0]:.4f} | {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=scifact.DEFAULT_DIR, help="BEIR SciFact folder")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".ragpipe" / "bench-beir")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "scifact" / "hybrid.yaml")
    parser.add_argument("--reranker", type=Path, default=None, help="local cross-encoder folder for the rerank row")
    parser.add_argument("--rerank-top-n", type=int, default=50, help="fused candidates the cross-encoder rescores")
    parser.add_argument("--reingest", action="store_true", help="rebuild the indexes (embeddings stay cached)")
    parser.add_argument("--depth", type=int, default=max(DEPTHS), help="documents per leg retrieved for tuning")
    args = parser.parse_args()
    queries = scifact.load_queries(args.dataset)
    train, args.test = scifact.load_qrels("train", args.dataset), scifact.load_qrels("test", args.dataset)
    args.docs = materialize(args.dataset, args.work_dir)
    args.warmup = queries[next(iter(train))]
    print(f"SciFact: {len(list(args.docs.glob('*.txt')))} abstracts; train {len(train)}, test {len(args.test)} queries")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")

    found = train_phase(args, queries, train)
    print("\n== chosen on train, run on test ==")
    rows: list[Row] = []
    for lexical in LEXICAL:
        chunking = max(CHUNKINGS, key=lambda c: found[c, lexical][1])
        index = found[chunking, lexical][0]
        label = f"BM25 {lexical} k1={LEXICAL[lexical][0]} b={LEXICAL[lexical][1]}"
        rows.append(run_row(args, label, index, index.retrieval("lexical", 100), queries))
    chunking = max(CHUNKINGS, key=lambda c: found[c, "bm25s"][2])
    index = found[chunking, "bm25s"][0]
    rows.append(run_row(args, "dense all-MiniLM-L6-v2", index, index.retrieval("dense", 100), queries))
    chosen: dict[str, tuple[Index, Tuned]] = {}
    for kind in ("rrf", "convex"):
        key = max(found, key=lambda k: best(found[k][3], kind)[0])
        index, (ndcg, depth, fusion) = found[key][0], best(found[key][3], kind)
        chosen[kind] = (index, (ndcg, depth, fusion))
        print(f"  hybrid {kind}: {key[0]}/{key[1]}, {describe(fusion, depth)}, train nDCG@10 {ndcg:.4f}")
        extra = index.retrieval("hybrid", depth, fusion)
        rows.append(run_row(args, f"hybrid {kind} (tuned on train)", index, extra, queries))
    index, (_, depth, fusion) = max(chosen.values(), key=lambda c: c[1][0])
    tuned_path = write_tuned(args, index, depth, fusion)
    if args.reranker is None:
        rows.append(Row("hybrid + rerank", {}))
    else:
        extra = [*index.retrieval("hybrid", depth, fusion), "rerank.type=cross-encoder"]
        extra += [f"rerank.model={json.dumps(str(args.reranker.resolve()))}", f"rerank.top_n={args.rerank_top_n}"]
        rows.append(run_row(args, "hybrid + rerank", index, extra, queries))

    print(f"\n== SciFact test split ({len(args.test)} queries), end to end through Pipeline.query ==")
    print_table(rows)
    print(
        "\ningest: this run's ingest of the row's index ('existed': reused, --reingest times it; embeddings come\n"
        "from the cache unless 'embedded' equals the chunk count); latency: one Pipeline.query(answer=False) each,\n"
        f"query embedding included; load average {os.getloadavg()[0]:.1f} at the end (timings grow with it).\n"
        f"Tuned hybrid config (train split only): {tuned_path}"
    )


if __name__ == "__main__":
    main()
