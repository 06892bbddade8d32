"""A damaged index is detected when it opens, named by file, reported by `status` and rebuilt by `ingest`;
a CURRENT pointing out of the index folder is never followed; a read-only data dir can still be queried."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from unprivileged import run_unprivileged

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import IndexDamagedError

QUESTION = "How long does a full restore of the orders database take?"


def generation_folder(pipeline: Pipeline) -> Path:
    generation = pipeline.generation
    assert generation is not None
    return pipeline.index_dir / "generations" / generation


def empty_the_vocabulary(folder: Path) -> str:
    (folder / "bm25s" / "vocab.index.json").write_text("{}", encoding="utf-8")
    return "bm25s/vocab.index.json"


def remove_an_array(folder: Path) -> str:
    (folder / "bm25s" / "data.csc.index.npy").unlink()
    return "bm25s/data.csc.index.npy"


def corrupt_the_catalog(folder: Path) -> str:
    (folder / "catalog.sqlite").write_bytes(b"this is not a database " * 100)
    return "catalog.sqlite"


def empty_the_vector_files(folder: Path) -> str:
    for path in (folder / "qdrant-edge").rglob("vectors/chunk_*.mmap"):
        path.write_bytes(b"")
    return "qdrant-edge"


DAMAGES: dict[str, Callable[[Path], str]] = {
    "empty bm25s vocabulary": empty_the_vocabulary,
    "missing .npy": remove_an_array,
    "corrupt catalog": corrupt_the_catalog,
    "emptied Qdrant vector files": empty_the_vector_files,
}


def cli(args: list[str], data: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data), "RAGPIPE_CACHE_DIR": str(data / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "ragpipe.cli.app", *args], capture_output=True, text=True, env=env, cwd=cwd
    )


@pytest.mark.parametrize("damage", DAMAGES, ids=list(DAMAGES))
def test_damage_is_named_at_open_reported_by_status_and_rebuilt_by_ingest(
    tmp_path: Path, config: dict, settings: RuntimeSettings, hashing_embedding: dict, damage: str
) -> None:
    config = {**config, "embedding": hashing_embedding}
    config_file = tmp_path / "pipeline.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    with Pipeline.from_config(config_file, settings=settings) as rag:
        first = rag.ingest(progress=False)
        folder = generation_folder(rag)
    damaged_file = DAMAGES[damage](folder)

    with Pipeline.from_config(config_file, settings=settings) as rag:
        with pytest.raises(IndexDamagedError) as raised:
            rag.query(QUESTION)
        assert str(folder / damaged_file) in str(raised.value)
        assert "ragpipe ingest" in str(raised.value)

    status = cli(["status", "-c", str(config_file)], settings.data_dir, tmp_path)
    assert status.returncode == 1, status.stdout + status.stderr
    assert "DAMAGED" in status.stdout and damaged_file.split("/")[-1] in status.stdout
    assert "Traceback" not in status.stderr
    query = cli(["query", QUESTION, "-c", str(config_file)], settings.data_dir, tmp_path)
    assert query.returncode == 1 and "Traceback" not in query.stderr
    assert query.stderr.startswith("error: the index is damaged:") and damaged_file.split("/")[-1] in query.stderr

    with Pipeline.from_config(config_file, settings=settings) as rag:
        rebuilt = rag.ingest(progress=False)
        assert rebuilt.documents_indexed == first.documents_indexed and rebuilt.generation is not None
        assert "was damaged" in rebuilt.notes[0].reason
        assert rag.query(QUESTION, answer=False).chunks[0].chunk.doc_id == "ops/backups.md"


def test_a_current_pointing_out_of_the_index_is_never_followed(
    tmp_path: Path, config: dict, settings: RuntimeSettings, hashing_embedding: dict
) -> None:
    config = {**config, "embedding": hashing_embedding}
    with Pipeline.from_config(config, settings=settings) as rag:
        rag.ingest(progress=False)
        index_dir = rag.index_dir
    (index_dir / "CURRENT").write_text("../../etc", encoding="utf-8")
    with Pipeline.from_config(config, settings=settings) as rag:
        with pytest.raises(IndexDamagedError, match=r"CURRENT: holds '\.\./\.\./etc', which is not a generation"):
            rag.query(QUESTION)
        with pytest.raises(IndexDamagedError):
            rag.ingest(["."], progress=False)  # explicit paths cannot rebuild a damaged index
        report = rag.ingest(progress=False)  # the configured sources can
        assert report.generation is not None and "CURRENT" in report.notes[0].path
        assert rag.query(QUESTION, answer=False).chunks


def test_a_finished_index_on_a_read_only_data_dir_can_be_queried(
    tmp_path: Path, config: dict, settings: RuntimeSettings
) -> None:
    config_file = tmp_path / "pipeline.json"
    config_file.write_text(json.dumps(config), encoding="utf-8")
    with Pipeline.from_config(config_file, settings=settings) as rag:
        rag.ingest(progress=False)
    for folder, _, files in os.walk(tmp_path):
        for name in [*files, "."]:
            os.chmod(Path(folder) / name, 0o555 if name == "." else 0o444)
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(settings.data_dir), "RAGPIPE_CACHE_DIR": str(settings.cache_dir)}
    try:
        cmd = [sys.executable, "-m", "ragpipe.cli.app", "query", QUESTION, "-c", str(config_file), "--json"]
        code, out, err, _ = run_unprivileged(cmd, env=env, cwd=tmp_path)
    finally:
        for folder, _, files in os.walk(tmp_path):
            for name in [*files, "."]:
                os.chmod(Path(folder) / name, 0o755)
    assert code == 0, err
    result = json.loads(out)
    assert result["chunks"][0]["doc_id"] == "ops/backups.md" and "40 minutes" in result["answer"]["text"]
