"""The same figures for an earlier commit and for this checkout, measured in one run, side by side.

    .venv/bin/python scripts/bench_before_after.py --before 409e3f1 [--n 1000] [--rounds 2]

For each side (the ``--before`` commit, checked out into a temporary git worktree, and this working tree),
in child processes of the same venv, alternating sides round by round so both see the same machine load:

- ingest throughput: ``configs/default.yaml`` over the first ``--n`` SciFact abstracts, each run into an
  empty index and an empty embedding cache (chunks/s);
- SciFact test nDCG@10 of ``configs/scifact/hybrid.yaml`` over all 5,183 abstracts (both sides' vectors are
  identical, so the second side reuses the first one's embedding cache), computed here from
  ``Pipeline.query`` (first 10 distinct documents of the ranking);
- hybrid query latency p50/p95 over the 300 test queries on that index (each side's own index): three passes
  per child, ``--rounds`` children per side alternating, the median of the passes' percentiles.

Only ``Pipeline.from_config``, ``ingest`` and ``query`` are called, which both sides have. The earlier side's
built-in plugins come from its own pyproject entry points (a generated dist-info ahead on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scifact

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[6])
import scifact
from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings

mode, config, docs, data, cache = sys.argv[1:6]
settings = RuntimeSettings(data_dir=Path(data), cache_dir=Path(cache))
with Pipeline.from_config(config, [f"sources=[{{path: '{docs}'}}]"], settings=settings) as rag:
    report = rag.ingest(progress=False)
    out = {"seconds": report.seconds, "chunks": report.chunks_indexed, "embedded": report.chunks_embedded}
    if mode == "query":
        queries, qrels = scifact.load_queries(), scifact.load_qrels("test")
        rag.query("warm-up query about proteins", answer=False)
        passes = []
        for _ in range(3):  # the same 300 queries three times (later passes hit the query-embedding cache)
            times, scores = [], []
            for qid, relevant in qrels.items():
                start = time.perf_counter()
                hits = rag.query(queries[qid], answer=False).chunks
                times.append(time.perf_counter() - start)
                ranked = scifact.first_unique(scifact.doc_id_of(h.chunk.doc_id) for h in hits)
                scores.append(scifact.ndcg_at_k(ranked, relevant))
            passes.append({"ndcg10": sum(scores) / len(scores), "p50_ms": scifact.percentile(times, 0.5) * 1000,
                           "p95_ms": scifact.percentile(times, 0.95) * 1000})
        out |= {"passes": passes, "queries": len(times)}
print(json.dumps(out))
"""


def prepare_before(ref: str, work: Path) -> tuple[Path, Path]:
    """A worktree of ``ref`` and a folder with a dist-info naming its entry points (ahead on sys.path)."""
    tree = work / "before-tree"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), ref], check=True,
                   capture_output=True)  # fmt: skip
    project = tomllib.loads((tree / "pyproject.toml").read_text(encoding="utf-8"))
    plugins = project["project"].get("entry-points", {}).get("ragpipe.plugins", {})
    meta = work / "before-meta" / "ragpipe-0.1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: ragpipe\nVersion: 0.1.0\n", encoding="utf-8")
    lines = ["[ragpipe.plugins]", *(f"{name} = {module}" for name, module in plugins.items())]
    (meta / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tree, meta.parent


def run_child(side: dict, mode: str, config: str, docs: Path, data: Path, cache: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(side["path"])}
    cmd = [sys.executable, "-c", CHILD, mode, str(side["root"] / config), str(docs), str(data), str(cache)]
    cmd.append(str(ROOT / "scripts"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=side["root"])
    if proc.returncode != 0:
        raise SystemExit(f"{side['name']} {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", required=True, help="the earlier commit (e.g. origin/main, 409e3f1)")
    parser.add_argument("--n", type=int, default=1000, help="abstracts per throughput ingest")
    parser.add_argument("--rounds", type=int, default=2, help="throughput ingests per side")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ragpipe-before-after-"))
    try:
        tree, meta = prepare_before(args.before, work)
        sides = [
            {"name": f"before ({args.before})", "root": tree, "path": [str(meta), str(tree)]},
            {"name": "after (this tree)", "root": ROOT, "path": [str(ROOT)]},
        ]
        corpus = scifact.load_corpus()
        subset, full = work / "docs-subset", work / "docs-full"
        scifact.write_corpus_files(corpus, subset, list(corpus)[: args.n])
        scifact.write_corpus_files(corpus, full)
        print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
        rates: dict[str, list[float]] = {s["name"]: [] for s in sides}
        for round_ in range(args.rounds):
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                folder = work / f"ingest-{round_}-{len(rates[side['name']])}-{sides.index(side)}"
                result = run_child(side, "ingest", "configs/default.yaml", subset, folder / "data", folder / "cache")
                rates[side["name"]].append(result["chunks"] / result["seconds"])
                print(f"  {side['name']}: {result['chunks']} chunks in {result['seconds']:.1f} s", flush=True)
        shared_cache = work / "scifact-cache"
        passes: dict[str, list[dict]] = {s["name"]: [] for s in sides}
        for round_ in range(args.rounds):
            for side in sides if round_ % 2 == 0 else sides[::-1]:
                data = work / f"scifact-{sides.index(side)}"
                result = run_child(side, "query", "configs/scifact/hybrid.yaml", full, data, shared_cache)
                passes[side["name"]] += result["passes"]
        figures = {  # pass 1 of each child embeds every query; passes 2-3 find them in the query cache
            name: {
                "ndcg10": runs[0]["ndcg10"],
                "p50_ms": statistics.median(r["p50_ms"] for r in runs[0::3]),
                "p95_ms": statistics.median(r["p95_ms"] for r in runs[0::3]),
                "cached_p50_ms": statistics.median(r["p50_ms"] for i, r in enumerate(runs) if i % 3),
            }
            for name, runs in passes.items()
        }
        header = f"{'ingest chunks/s':>16s} {'SciFact nDCG@10':>16s} {'query p50 ms':>13s} {'p95 ms':>8s}"
        print(f"\n{'':22s} {header} {'p50 ms, cached query vectors':>29s}")
        for side in sides:
            best = max(rates[side["name"]])
            f = figures[side["name"]]
            print(
                f"{side['name']:22s} {best:16.1f} {f['ndcg10']:16.4f} {f['p50_ms']:13.1f} {f['p95_ms']:8.1f} "
                f"{f['cached_p50_ms']:29.1f}"
            )
        before, after = (sides[0]["name"], sides[1]["name"])
        print(
            f"\nafter/before: ingest {max(rates[after]) / max(rates[before]):.3f}x (best of {args.rounds}, "
            f"{args.n} abstracts), query p50 {figures[after]['p50_ms'] / figures[before]['p50_ms']:.3f}x, "
            f"nDCG@10 difference {figures[after]['ndcg10'] - figures[before]['ndcg10']:+.5f}"
        )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "before-tree")],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
