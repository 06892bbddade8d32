"""A 50 MB text file is indexed whole by a real `ragpipe ingest`, in bounded memory.

The file repeats 40 distinct paragraphs, so most chunk texts repeat and the embedding cache keeps the
run to minutes on a laptop CPU; every other stage (hashing, parsing, chunking ~59k chunks, the stores,
the lexical index) does the full work. The repeats would trap Qdrant's HNSW searches, so the index must
search dense vectors exactly to find the one chunk of the small file. Peak memory is that of the ingest
process and its children.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path

import pytest
from unprivileged import run_unprivileged

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings

SIZE = 50 * 1024 * 1024
pytestmark = pytest.mark.slow

PEAK_RSS_LIMIT_MIB = 2048  # measured ~1,250 MiB; holding the corpus a few times over would pass it


def write_large_file(path: Path) -> int:
    rng = random.Random(7)
    topics = ["backup", "restore", "paging", "deploy", "rotation", "retention", "audit", "budget"]
    paragraphs = [
        " ".join(
            f"The {rng.choice(topics)} procedure step {j} requires the {rng.choice(topics)} owner "
            f"to confirm the {rng.choice(topics)} checklist."
            for j in range(rng.randint(3, 8))
        )
        for _ in range(40)
    ]
    block = "\n\n".join(paragraphs) + "\n\n"
    with path.open("w", encoding="utf-8") as out:
        for _ in range(SIZE // len(block) + 1):
            out.write(block)
    return path.stat().st_size


def test_a_50_mb_text_file_is_indexed_whole_in_bounded_memory(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    size = write_large_file(corpus / "huge-log.txt")
    small = "# Small\n\nThe cafeteria closes early on Fridays during the summer.\n"
    (corpus / "small.md").write_text(small, encoding="utf-8")
    config = tmp_path / "large.yaml"
    config.write_text("name: large\nsources:\n  - path: corpus\n")
    data = tmp_path / "data"
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data), "RAGPIPE_CACHE_DIR": str(data / "cache")}
    code, out, err, peak_kib = run_unprivileged(
        [sys.executable, "-m", "ragpipe.cli.app", "ingest", "-c", str(config), "--json"], env=env
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["documents_indexed"] == 2 and report["failures"] == []
    assert report["chunks_indexed"] > 50_000
    # its paragraphs repeat hundreds of times: identical vectors would trap HNSW searches, so dense search is exact
    (note,) = [n for n in report["notes"] if n["path"] == "huge-log.txt"]
    assert "dense search runs brute force" in note["reason"]
    print(f"\n50 MB file: {report['chunks_indexed']} chunks, peak RSS {peak_kib / 1024:.0f} MiB")
    assert peak_kib / 1024 < PEAK_RSS_LIMIT_MIB

    with Pipeline.from_config(config, settings=RuntimeSettings(data_dir=data, cache_dir=data / "cache")) as rag:
        with rag.index() as state:
            assert state.catalog is not None and state.store is not None
            huge = [c for c in state.catalog.iter_chunks() if c.doc_id == "huge-log.txt"]
            assert huge[-1].end >= size - 2  # covered to its end (trailing blank lines aside)
            assert all(a.start < b.start for a, b in itertools.pairwise(huge))
            assert state.store.count() == state.catalog.count_chunks() == report["chunks_indexed"]
        result = rag.query("when does the cafeteria close early", top_k=3, answer=False)
        assert result.chunks[0].chunk.doc_id == "small.md"
        assert result.chunks[0].leg_ranks == {"dense": 1, "lexical": 1}  # both legs find the one relevant chunk
