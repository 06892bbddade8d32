"""kill -9 a real ingest at several points; a re-run must equal a clean ingest (no duplicates, orphans or losses)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings

TOPICS = ["backups", "paging", "deploys", "secrets", "kafka", "budgets", "access", "retention"]
QUERIES = ["how often are backups taken", "who gets paged", "rotate secrets", "kafka partitions", "budget alerts"]


def write_corpus(root: Path, count: int = 24) -> None:
    root.mkdir(parents=True)
    for i in range(count):
        topic = TOPICS[i % len(TOPICS)]
        body = " ".join(
            f"Note {i}.{j} about {topic}: step {j} of procedure {i} uses the {topic}-tool with limit {i * 7 + j}."
            for j in range(12)
        )
        (root / f"doc-{i:02d}-{topic}.txt").write_text(body + "\n", encoding="utf-8")


def documents_recorded(data_dir: Path) -> int:
    """Documents the ingest's work generation (see ragpipe.generations) has recorded so far."""
    catalogs = list(data_dir.glob("*/*/work/catalog.sqlite"))
    if not catalogs:
        return 0
    try:
        with sqlite3.connect(f"file:{catalogs[0]}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
    except sqlite3.Error:
        return 0


def ingest_and_kill(config: Path, data_dir: Path, kill_at_documents: int) -> int | None:
    """Run an ingest and SIGKILL it once the catalog holds ``kill_at_documents``; the count then, or None if it
    finished first."""
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data_dir), "RAGPIPE_CACHE_DIR": str(data_dir / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragpipe.cli.app", "ingest", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if documents_recorded(data_dir) >= kill_at_documents:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        return None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return documents_recorded(data_dir)


def snapshot(config: Path, data_dir: Path) -> dict[str, object]:
    settings = RuntimeSettings(data_dir=data_dir, cache_dir=data_dir / "cache")
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
        catalog = rag.components.catalog
        chunk_ids = sorted(c.id for c in catalog.iter_chunks())
        results = {
            (q, mode): [s.chunk.id for s in rag.query(q, mode=mode, top_k=8, answer=False).chunks]
            for q in QUERIES
            for mode in ("dense", "lexical")
        }
        return {
            "failed": report.failed,
            "documents": catalog.count_documents(),
            "chunk_ids": chunk_ids,
            "store_count": rag.components.store.count(),
            "results": results,
        }


@pytest.mark.parametrize("store", ["qdrant-edge", "qdrant"])
def test_kill_9_at_several_points_then_rerun_equals_clean_ingest(tmp_path: Path, store: str) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    config = tmp_path / "crash.yaml"
    config.write_text(
        f"name: crash\nsources:\n  - path: corpus\ningest:\n  batch_size: 3\nstore:\n  type: {store}\n"
        "chunking:\n  type: sentence\n  chunk_size: 60\n  chunk_overlap: 10\n"
    )
    crashed = tmp_path / "crashed"
    killed_with = [ingest_and_kill(config, crashed, kill_at) for kill_at in (1, 6, 13, 20)]
    partial = [n for n in killed_with if n is not None and 0 < n < 24]
    assert len(partial) >= 2, f"the ingest was not interrupted mid-way: {killed_with}"
    recovered = snapshot(config, crashed)
    clean = snapshot(config, tmp_path / "clean")
    assert recovered["failed"] == clean["failed"] == 0
    assert recovered["documents"] == clean["documents"] == 24
    assert recovered["chunk_ids"] == clean["chunk_ids"]
    assert recovered["store_count"] == clean["store_count"] == len(clean["chunk_ids"])
    assert recovered["results"] == clean["results"]
