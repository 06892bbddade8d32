"""A real `ragpipe ingest` over a messy folder: every bad entry is reported with its reason, the run completes,
the good documents are indexed, and a re-run keeps what it cannot re-read.

Runs the CLI in a child process that file permissions apply to (see ``unprivileged``), so unreadable
files and folders are unreadable even when the tests run as root.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from unprivileged import run_unprivileged

from ragpipe import Pipeline
from ragpipe.cli.common import EXIT_PARTIAL
from ragpipe.config.settings import RuntimeSettings

GOOD = (
    "# Backup policy\n\nThe orders database is snapshotted every 15 minutes to cold storage. "
    "A full restore takes about 40 minutes with the restore-orders tool.\n"
)


def build_messy_corpus(root: Path) -> dict[str, Path]:
    """The folder, and the paths of its entries by role."""
    (root / "sub").mkdir(parents=True)
    paths = {
        "good": root / "backups.md",
        "copy": root / "sub" / "backups-copy.md",
        "empty": root / "empty.txt",
        "corrupt_pdf": root / "report.pdf",
        "corrupt_docx": root / "memo.docx",
        "binary": root / "firmware.txt",
        "latin1": root / "legacy.txt",
        "long_line": root / "one-line.txt",
        "locked_file": root / "locked.txt",
        "locked_dir": root / "private",
        "loop": root / "sub" / "loop",
        "fifo": root / "pipe.txt",
        "broken_link": root / "gone.txt",
    }
    paths["good"].write_text(GOOD, encoding="utf-8")
    paths["copy"].write_text(GOOD, encoding="utf-8")
    paths["empty"].write_bytes(b"")
    paths["corrupt_pdf"].write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ntruncated")
    paths["corrupt_docx"].write_bytes(b"PK\x03\x04 this is not a zip archive at all")
    paths["binary"].write_bytes(bytes(range(256)) * 64)
    legacy = "Café crème: the déploiement runbook for the naïve cache.\n"
    paths["latin1"].write_bytes(legacy.encode("latin-1"))
    words = " ".join(f"token{i % 97}" for i in range(120_000))  # ~1 MB, one line, no sentence punctuation
    paths["long_line"].write_text(words, encoding="utf-8")
    paths["locked_file"].write_text("Secret rotation happens every 90 days.\n", encoding="utf-8")
    paths["locked_file"].chmod(0)
    paths["locked_dir"].mkdir()
    (paths["locked_dir"] / "salaries.txt").write_text("Salary bands are reviewed each spring.\n", encoding="utf-8")
    paths["locked_dir"].chmod(0)
    paths["loop"].symlink_to(root, target_is_directory=True)
    os.mkfifo(paths["fifo"])
    paths["broken_link"].symlink_to(root / "does-not-exist.txt")
    return paths


def ingest_cli(root: Path, data: Path) -> tuple[int, dict, int, str]:
    config = root.parent / "messy.yaml"
    config.write_text(f"name: messy\nsources:\n  - path: {root.name}\n")
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(data), "RAGPIPE_CACHE_DIR": str(data / "cache")}
    cmd = [sys.executable, "-m", "ragpipe.cli.app", "ingest", "-c", str(config), "--json"]
    code, out, err, rss_kib = run_unprivileged(cmd, env=env)
    assert out, err
    return code, json.loads(out), rss_kib, err


def reasons(entries: list[dict]) -> dict[str, str]:
    return {Path(e["path"]).name: e["reason"] for e in entries}


@pytest.fixture
def messy(tmp_path: Path):
    paths = build_messy_corpus(tmp_path / "corpus")
    yield paths
    for key in ("locked_file", "locked_dir"):
        paths[key].chmod(0o755)  # let pytest clean up


@pytest.mark.slow
def test_every_bad_entry_is_reported_and_the_good_ones_are_indexed(tmp_path: Path, messy: dict[str, Path]) -> None:
    data = tmp_path / "data"
    code, report, _, err = ingest_cli(messy["good"].parent, data)
    assert code == EXIT_PARTIAL
    failed, skipped, notes = reasons(report["failures"]), reasons(report["skipped"]), reasons(report["notes"])
    assert failed["empty.txt"] == "empty file"
    assert failed["report.pdf"].startswith("corrupt or unreadable PDF")
    assert "docx" in failed["memo.docx"].lower()
    assert "binary" in failed["firmware.txt"]
    assert failed["locked.txt"] == "unreadable: permission denied"
    assert failed["private"].startswith("cannot list directory") and "Permission denied" in failed["private"]
    assert "file not found" in failed["gone.txt"]
    assert skipped["backups-copy.md"].startswith(f"same content as {messy['good']}")
    assert skipped["loop"].startswith("symlink loop")
    assert skipped["pipe.txt"] == "not a regular file (named pipe): nothing to read"
    assert notes["legacy.txt"] == "not valid UTF-8: decoded as cp1252"  # a Latin-1 file, read as such
    assert "EOF marker" not in err and "pypdf" not in err  # library warnings go to the log, not the terminal
    assert report["documents_failed"] == len(failed) == 7
    assert report["documents_indexed"] == 3  # backups.md, legacy.txt, one-line.txt

    log = (data / "logs" / "ragpipe.log").read_text(encoding="utf-8")
    assert "report.pdf" in log  # what pypdf said about the corrupt PDF is kept in the log
    with Pipeline.from_config(messy["good"].parent.parent / "messy.yaml", settings=settings_for(data)) as rag:
        with rag.index() as state:
            assert state.catalog is not None
            catalog = state.catalog
            assert sorted(catalog.document_versions()) == ["backups.md", "legacy.txt", "one-line.txt"]
            long_chunks = [c for c in catalog.iter_chunks() if c.doc_id == "one-line.txt"]
            assert len(long_chunks) > 100 and max(len(c.text) for c in long_chunks) < 2_000
        top = rag.query("how long does a restore of the orders database take", top_k=1, answer=False).chunks[0]
        assert top.chunk.doc_id == "backups.md"
        legacy = rag.query("café crème déploiement", top_k=1, answer=False).chunks[0].chunk.text
        assert legacy.startswith("Café crème: the déploiement runbook for the naïve cache.")


def settings_for(data: Path) -> RuntimeSettings:
    return RuntimeSettings(data_dir=data, cache_dir=data / "cache")


@pytest.mark.slow
def test_a_rerun_keeps_documents_it_cannot_reread_and_drops_a_new_copy(tmp_path: Path, messy: dict[str, Path]) -> None:
    root, data = messy["good"].parent, tmp_path / "data"
    messy["locked_dir"].chmod(0o755)
    messy["locked_file"].chmod(0o644)
    messy["copy"].unlink()  # first run: no copy yet; both formerly-locked entries are readable
    code, first, _, _ = ingest_cli(root, data)
    assert first["documents_indexed"] == 5 and "private" not in reasons(first["failures"])
    messy["locked_dir"].chmod(0)
    messy["locked_file"].chmod(0)
    (root / "sub" / "backups-copy.md").write_text(GOOD, encoding="utf-8")
    (root / "a-first-copy.md").write_text(GOOD, encoding="utf-8")  # sorts first: it becomes the indexed copy
    code, second, _, _ = ingest_cli(root, data)
    assert code == EXIT_PARTIAL
    assert second["documents_deleted"] == 1  # backups.md: now a copy of a-first-copy.md
    assert second["chunks_embedded"] == 0  # a-first-copy.md's text is in the embedding cache
    assert reasons(second["skipped"])["backups.md"].startswith(f"same content as {root / 'a-first-copy.md'}")
    with Pipeline.from_config(root.parent / "messy.yaml", settings=settings_for(data)) as rag, rag.index() as state:
        assert state.catalog is not None
        indexed = set(state.catalog.document_versions())
    # unreadable now, indexed before: kept (and reported), not deleted
    assert {"private/salaries.txt", "locked.txt", "a-first-copy.md"} <= indexed
    assert "backups.md" not in indexed and "sub/backups-copy.md" not in indexed


def test_discovery_without_a_skip_handler_refuses_an_unreadable_folder(messy: dict[str, Path]) -> None:
    """Library callers that pass no ``on_skip`` (e.g. evaluation) get an error instead of a partial walk."""
    code = (
        "import sys\nfrom pathlib import Path\nfrom ragpipe.config.models import SourceConfig\n"
        "from ragpipe.ingest.sources import discover\n"
        "list(discover(SourceConfig(path=sys.argv[1]), Path.cwd()))"
    )
    returncode, _, err, _ = run_unprivileged([sys.executable, "-c", code, str(messy["good"].parent)])
    assert returncode == 1
    assert f"cannot list directory {messy['locked_dir']}: Permission denied" in err
    assert "exclude it with an exclude pattern such as 'private/**'" in err
