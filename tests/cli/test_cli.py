"""The `ragpipe` command in fresh processes: config checks, ingest -> query round trip, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

RAGPIPE = [sys.executable, "-m", "ragpipe.cli.app"]


def run(args: list[str], data_dir: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data_dir), "RAGPIPE_CACHE_DIR": str(data_dir / "cache")}
    env.pop("RAGPIPE_CONFIG", None)
    return subprocess.run([*RAGPIPE, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "restore.md").write_text(
        "---\nteam: platform\nyear: 2024\n---\n# Restores\n\nRestoring the ledger database takes 25 minutes.\n"
    )
    (corpus / "pager.txt").write_text("The pager escalates to the secondary after five minutes without an ack.\n")
    path = tmp_path / "pipeline.yaml"
    path.write_text("name: cli\nsources:\n  - path: docs\n")
    return path


def test_config_validate_and_show(config_file: Path, tmp_path: Path) -> None:
    ok = run(["config", "validate", str(config_file)], tmp_path)
    assert ok.returncode == 0 and "valid" in ok.stdout
    shown = run(["config", "show", str(config_file), "--set", "chunking.chunk_size=99"], tmp_path)
    assert shown.returncode == 0
    assert "chunk_size: 99" in shown.stdout and "type: qdrant-edge" in shown.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nchunking:\n  type: sentence\n  chunk_sise: 3\nretrieval:\n  fusion: {type: borda}\n")
    failed = run(["config", "validate", str(bad)], tmp_path)
    assert failed.returncode == 2
    assert "chunking.chunk_sise" in failed.stderr and "retrieval.fusion.type" in failed.stderr
    assert "convex" in failed.stderr and "rrf" in failed.stderr


def test_ingest_then_query_in_fresh_processes(config_file: Path, tmp_path: Path) -> None:
    ingest = run(["ingest", "-c", str(config_file)], tmp_path / "data")
    assert ingest.returncode == 0, ingest.stderr
    assert "indexed 2 documents" in ingest.stdout
    query = run(["query", "how long does a ledger restore take", "-c", str(config_file), "--json"], tmp_path / "data")
    assert query.returncode == 0, query.stderr
    payload = json.loads(query.stdout)
    chunk = payload["chunks"][0]
    assert {"doc_id", "chunk_id", "text", "score", "start", "end", "metadata"} <= set(chunk)
    assert chunk["doc_id"] == "restore.md" and chunk["metadata"]["team"] == "platform"
    assert "25 minutes" in payload["answer"]["text"] and payload["answer"]["citations"][0]["doc_id"] == "restore.md"
    assert payload["timings"]["total"] > 0
    filtered = run(
        ["query", "restore", "-c", str(config_file), "--json", "--filter", "team=platform", "-k", "1"],
        tmp_path / "data",
    )
    assert [c["doc_id"] for c in json.loads(filtered.stdout)["chunks"]] == ["restore.md"]
    again = run(["ingest", "-c", str(config_file), "--json"], tmp_path / "data")
    assert json.loads(again.stdout)["documents_unchanged"] == 2


def test_query_errors_are_clear(config_file: Path, tmp_path: Path) -> None:
    empty = run(["query", "anything", "-c", str(config_file)], tmp_path / "fresh")
    assert empty.returncode == 1 and "ragpipe ingest" in empty.stderr
    bad_filter = run(["query", "x", "-c", str(config_file), "--filter", "{year: {after: 1}}"], tmp_path / "fresh")
    assert bad_filter.returncode == 2 and "unknown operator 'after'" in bad_filter.stderr
    missing = run(["query", "x", "-c", str(tmp_path / "nope.yaml")], tmp_path / "fresh")
    assert missing.returncode == 2 and "nope.yaml" in missing.stderr


def test_ingest_of_a_messy_folder_reports_each_bad_file(tmp_path: Path) -> None:
    messy = tmp_path / "messy"
    messy.mkdir()
    (messy / "good.md").write_text("# Good\n\nThe cafeteria opens at eight.\n")
    (messy / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage without xref")
    (messy / "empty.md").write_bytes(b"")
    (messy / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (messy / "latin1.txt").write_bytes("Le café du coin sert des crêpes à midi.\n".encode("latin-1"))
    (messy / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    config = tmp_path / "messy.yaml"
    config.write_text("name: messy\nsources:\n  - path: messy\n")
    result = run(["ingest", "-c", str(config), "--json"], tmp_path / "data")
    assert result.returncode == 3, result.stderr
    report = json.loads(result.stdout)
    failed = {Path(f["path"]).name: f["reason"] for f in report["failures"]}
    assert set(failed) == {"corrupt.pdf", "empty.md", "binary.txt"}
    assert "empty" in failed["empty.md"] and "binary" in failed["binary.txt"]
    assert [Path(s["path"]).name for s in report["skipped"]] == ["photo.png"]
    assert report["documents_indexed"] == 2 and report["documents_failed"] == 3
    query = run(["query", "where can I eat crêpes", "-c", str(config), "--json"], tmp_path / "data")
    top = json.loads(query.stdout)["chunks"][0]
    assert top["doc_id"] == "latin1.txt" and "café" in top["text"]
