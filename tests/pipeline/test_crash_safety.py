"""kill -9 real ingests (a first one and a later one); the re-run resumes the killed run's work generation, does
only what it had not done (counted), and ends equal to a clean ingest (no duplicates, orphans or losses)."""

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
from ragpipe.types import IngestReport

pytestmark = pytest.mark.slow

TOPICS = ["backups", "paging", "deploys", "secrets", "kafka", "budgets", "access", "retention"]
QUERIES = ["how often are backups taken", "who gets paged", "rotate secrets", "kafka partitions", "budget alerts"]


def write_corpus(root: Path, count: int = 24, edition: int = 1, first: int = 0) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(first, count):
        topic = TOPICS[i % len(TOPICS)]
        body = " ".join(
            f"Note {i}.{j} (edition {edition}) about {topic}: step {j} of procedure {i} uses the {topic}-tool "
            f"with limit {i * 7 + j + edition}."
            for j in range(12)
        )
        (root / f"doc-{i:02d}-{topic}.txt").write_text(body + "\n", encoding="utf-8")


def write_config(folder: Path, store: str) -> Path:
    config = folder / "crash.yaml"
    config.write_text(
        f"name: crash\nsources:\n  - path: corpus\ningest:\n  batch_size: 3\nstore:\n  type: {store}\n"
        "chunking:\n  type: sentence\n  chunk_size: 60\n  chunk_overlap: 10\n"
        "embedding:\n  type: hashing\n  dimension: 64\n"
    )
    return config


def work_catalog_count(data_dir: Path, since: float = 0.0) -> int:
    """Documents the ingest's work generation (see ragpipe.generations) has recorded at or after ``since``."""
    catalogs = list(data_dir.glob("*/*/work/catalog.sqlite"))
    if not catalogs:
        return 0
    try:
        with sqlite3.connect(f"file:{catalogs[0]}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM documents WHERE indexed_at >= ?", (since,)).fetchone()[0])
    except sqlite3.Error:
        return 0


def cached_vectors(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "cache" / "embeddings.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])


def ingest_and_kill(config: Path, data_dir: Path, kill_at_documents: int, since: float = 0.0) -> int | None:
    """Run an ingest and SIGKILL it once its work catalog holds ``kill_at_documents`` documents recorded at or
    after ``since``; the count then, or None if it finished first."""
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data_dir), "RAGPIPE_CACHE_DIR": str(data_dir / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragpipe.cli.app", "ingest", "-c", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if work_catalog_count(data_dir, since) >= kill_at_documents:
            break
        time.sleep(0.01)
    if proc.poll() is not None:
        return None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return work_catalog_count(data_dir, since)


def ingest(config: Path, data_dir: Path) -> tuple[IngestReport, dict[str, object]]:
    """A (re-)ingest in this process, and the state of the index it leaves."""
    settings = RuntimeSettings(data_dir=data_dir, cache_dir=data_dir / "cache")
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
        with rag.index() as state:
            assert state.catalog is not None and state.store is not None
            chunk_ids = sorted(c.id for c in state.catalog.iter_chunks())
            documents, points = state.catalog.count_documents(), state.store.count()
        results = {
            (q, mode): [s.chunk.id for s in rag.query(q, mode=mode, top_k=8, answer=False).chunks]
            for q in QUERIES
            for mode in ("dense", "lexical")
        }
    return report, {"documents": documents, "chunk_ids": chunk_ids, "store_count": points, "results": results}


@pytest.mark.parametrize("store", ["qdrant-edge", "qdrant"])
def test_a_killed_first_ingest_is_resumed_and_ends_equal_to_a_clean_ingest(tmp_path: Path, store: str) -> None:
    write_corpus(tmp_path / "corpus")
    config = write_config(tmp_path, store)
    crashed = tmp_path / "crashed"
    killed_with = ingest_and_kill(config, crashed, 6)
    assert killed_with is not None and 0 < killed_with < 24, f"the first ingest was not interrupted: {killed_with}"
    resumed, state = ingest(config, crashed)
    assert resumed.resumed, "the re-run must continue the killed first ingest's work generation"
    assert resumed.documents_indexed == 24 - killed_with  # what the killed run had recorded is not redone
    _, clean = ingest(config, tmp_path / "clean")
    assert state == clean and state["documents"] == 24 and state["store_count"] == len(state["chunk_ids"])


@pytest.mark.parametrize("store", ["qdrant-edge", "qdrant"])
def test_a_killed_later_ingest_is_resumed_doing_only_what_it_had_not_done(tmp_path: Path, store: str) -> None:
    corpus = tmp_path / "corpus"
    write_corpus(corpus)
    config = write_config(tmp_path, store)
    clean_dir, crashed = tmp_path / "clean", tmp_path / "crashed"
    ingest(config, clean_dir)
    ingest(config, crashed)
    write_corpus(corpus, count=16, edition=2)  # 16 documents change
    write_corpus(corpus, count=28, first=24)  # 4 are added
    changed = 20
    clean_second, clean = ingest(config, clean_dir)
    assert clean_second.documents_indexed == changed and clean_second.chunks_embedded > 0

    before = cached_vectors(crashed)
    killed_with = ingest_and_kill(config, crashed, 7, since=time.time())
    interrupted = killed_with is not None and 0 < killed_with < changed
    assert interrupted, f"the second ingest was not interrupted: {killed_with}"
    embedded_by_killed_run = cached_vectors(crashed) - before
    resumed, state = ingest(config, crashed)
    assert resumed.resumed
    assert resumed.documents_indexed == changed - killed_with
    assert resumed.chunks_embedded == clean_second.chunks_embedded - embedded_by_killed_run
    assert state == clean and state["documents"] == 28
