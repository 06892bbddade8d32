"""Queries from another process and from threads keep working throughout an ingest that rewrites,
adds and deletes documents, and every answer shows the whole index either before or after it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings

DOCS = 16
QUERY = "revision procedure for the item"

QUERY_LOOP = """
import json, sys, time
from pathlib import Path
from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings

config, data, out, stop = sys.argv[1:5]
settings = RuntimeSettings(data_dir=data, cache_dir=Path(data) / "cache")
with Pipeline.from_config(config, settings=settings) as rag, open(out, "w") as log:
    while not Path(stop).exists():
        try:
            hits = rag.query(sys.argv[5], top_k=200, answer=False).chunks
            record = {"t": time.time(), "chunks": [[h.chunk.doc_id, h.chunk.text] for h in hits]}
        except Exception as exc:
            record = {"t": time.time(), "error": f"{type(exc).__name__}: {exc}"}
        log.write(json.dumps(record) + "\\n")
        log.flush()
"""


def write_docs(root: Path, revision: str, ids: range) -> None:
    for old in root.glob("*.txt"):
        old.unlink()
    for i in ids:
        step = "Step {j} of the {revision} revision procedure for item {i} is checked twice."
        steps = " ".join(step.format(j=j, revision=revision, i=i) for j in range(8))
        (root / f"item-{i:02d}.txt").write_text(f"Item {i}, revision {revision}. {steps}\n", encoding="utf-8")


OLD_IDS, NEW_IDS = range(DOCS), range(4, DOCS + 4)  # the new state drops 4 documents and adds 4


def expected_state(revision: str, ids: range) -> frozenset[str]:
    return frozenset(f"item-{i:02d}.txt" for i in ids) | {revision}


def state_of(chunks: list[list[str]]) -> frozenset[str]:
    """The documents in a result plus every revision word its chunks contain."""
    revisions = {word for _, text in chunks for word in ("alpha", "omega") if f"{word} revision" in text}
    return frozenset({doc for doc, _ in chunks} | revisions)


def test_queries_see_the_old_or_the_new_index_never_a_mix_and_never_fail(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_docs(corpus, "alpha", OLD_IDS)
    config = tmp_path / "live.yaml"
    config.write_text(
        "name: live\nsources:\n  - path: corpus\nchunking:\n  type: sentence\n  chunk_size: 40\n  chunk_overlap: 0\n"
    )
    data = tmp_path / "data"
    settings = RuntimeSettings(data_dir=data, cache_dir=data / "cache")
    old, new = expected_state("alpha", OLD_IDS), expected_state("omega", NEW_IDS)

    with Pipeline.from_config(config, settings=settings) as rag:
        rag.ingest(progress=False)
        assert state_of(_chunks(rag)) == old
        log, stop = tmp_path / "queries.jsonl", tmp_path / "stop"
        reader = subprocess.Popen(
            [sys.executable, "-c", QUERY_LOOP, str(config), str(data), str(log), str(stop), QUERY],
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_lines(log, 3, reader)
            write_docs(corpus, "omega", NEW_IDS)
            thread_states: list[frozenset[str] | str] = []
            done = threading.Event()
            threads = [threading.Thread(target=_query_until, args=(rag, done, thread_states)) for _ in range(2)]
            for thread in threads:
                thread.start()
            started = time.time()
            report = rag.ingest(progress=False)
            finished = time.time()
            done.set()
            for thread in threads:
                thread.join()
            _wait_for(lambda: any(r.get("t", 0) > finished + 0.5 for r in _records(log)), reader)
        finally:
            stop.touch()
            _, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        assert report.documents_indexed == DOCS and report.documents_deleted == 4 and report.failed == 0

    records = _records(log)
    errors = [r["error"] for r in records if "error" in r]
    assert not errors, errors[:3]
    states = [state_of(r["chunks"]) for r in records]
    assert set(states) <= {old, new}, [sorted(s) for s in set(states) - {old, new}][:2]
    during = [r for r in records if started <= r["t"] <= finished]
    assert len(during) >= 10, f"only {len(during)} queries ran during the {finished - started:.1f}s ingest"
    assert states[0] == old and states[-1] == new
    switch = states.index(new)
    assert all(s == new for s in states[switch:]), "a query saw the old index after the new one"
    assert thread_states and set(thread_states) <= {old, new}, [s for s in thread_states if isinstance(s, str)][:3]


def _chunks(rag: Pipeline) -> list[list[str]]:
    return [[h.chunk.doc_id, h.chunk.text] for h in rag.query(QUERY, top_k=200, answer=False).chunks]


def _query_until(rag: Pipeline, done: threading.Event, states: list[frozenset[str] | str]) -> None:
    while not done.is_set():
        try:
            states.append(state_of(_chunks(rag)))
        except Exception as exc:  # recorded, and the test fails on it
            states.append(f"{type(exc).__name__}: {exc}")


def _records(log: Path) -> list[dict]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line) for line in lines if line.endswith("}")]


def _wait_for_lines(log: Path, count: int, reader: subprocess.Popen[str]) -> None:
    _wait_for(lambda: len(_records(log)) >= count, reader)


def _wait_for(condition, reader: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert reader.poll() is None, f"the query process died: {reader.stderr.read() if reader.stderr else ''}"
        assert time.monotonic() < deadline, "timed out waiting for the query process"
        time.sleep(0.05)
