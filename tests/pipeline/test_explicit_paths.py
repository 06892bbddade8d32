"""`ragpipe ingest PATH`: ids, deletions and collisions of explicit paths; symlinks that leave a source."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def indexed(rag: Pipeline) -> dict[str, str]:
    """Document id -> the file it was read from."""
    with rag.index() as state:
        return state.catalog.document_sources() if state.catalog is not None else {}


@pytest.fixture
def plain(hashing_embedding: dict) -> dict:
    return {"name": "paths", "embedding": hashing_embedding}


def test_reingesting_a_folder_deletes_its_vanished_documents_and_only_those(
    tmp_path: Path, plain: dict, settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("alpha", "beta", "gamma"):
        write(tmp_path / "docs" / f"{name}.md", f"# {name}\n\nThe {name} service restarts at noon.\n")
    write(tmp_path / "other" / "delta.md", "# delta\n\nThe delta service restarts at midnight.\n")
    with Pipeline.from_config(plain, settings=settings) as rag:
        assert rag.ingest(["docs"], progress=False).documents_indexed == 3
        assert rag.ingest(["other"], progress=False).documents_deleted == 0  # docs/ is not under other/
        (tmp_path / "docs" / "beta.md").unlink()
        report = rag.ingest(["docs/"], progress=False)
        assert (report.documents_deleted, report.documents_unchanged) == (1, 2)
        assert sorted(indexed(rag)) == ["alpha.md", "delta.md", "gamma.md"]
        hits = rag.query("beta service restarts", top_k=10, answer=False).chunks
        assert "beta.md" not in {h.chunk.doc_id for h in hits}
        plan = rag.plan(["other"])
        assert plan.delete == [] and plan.unchanged == ["delta.md"]


def test_a_path_inside_a_configured_source_keeps_that_sources_ids_and_metadata(
    tmp_path: Path, plain: dict, settings: RuntimeSettings
) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "ops" / "backups.md", "# Backups\n\nSnapshots run every 15 minutes.\n")
    write(corpus / "ops" / "paging.md", "# Paging\n\nPages escalate after five minutes.\n")
    write(corpus / "security" / "keys.md", "# Keys\n\nKeys rotate every 90 days.\n")
    config = {**plain, "sources": [{"path": str(corpus), "metadata": {"team": "core"}, "id_prefix": "hb/"}]}
    with Pipeline.from_config(config, settings=settings) as rag:
        rag.ingest(progress=False)
        write(corpus / "ops" / "deploys.md", "# Deploys\n\nDeploys run on weekdays.\n")
        (corpus / "ops" / "paging.md").unlink()
        report = rag.ingest([corpus / "ops"], progress=False)
        assert (report.documents_indexed, report.documents_deleted, report.failed) == (1, 1, 0)
        assert sorted(indexed(rag)) == ["hb/ops/backups.md", "hb/ops/deploys.md", "hb/security/keys.md"]
        top = rag.query("when do deploys run", top_k=1, answer=False).chunks[0]
        assert top.chunk.doc_id == "hb/ops/deploys.md" and top.chunk.metadata["team"] == "core"


def test_an_explicit_file_whose_id_is_taken_by_another_file_is_refused_not_swapped_in(
    tmp_path: Path, plain: dict, settings: RuntimeSettings
) -> None:
    corpus = tmp_path / "corpus"
    write(corpus / "a.md", "# A\n\nThe configured source's page about invoices.\n")
    outside = write(tmp_path / "outside" / "a.md", "# A\n\nAn unrelated page about parking.\n")
    config = {**plain, "sources": [{"path": str(corpus)}]}
    with Pipeline.from_config(config, settings=settings) as rag:
        rag.ingest(progress=False)
        report = rag.ingest([outside], progress=False)
        assert report.failed == 1 and report.documents_indexed == 0
        reason = report.failures[0].reason
        assert "document id 'a.md' is already indexed from" in reason and str(corpus / "a.md") in reason
        assert "--id-prefix" in reason
        assert indexed(rag)["a.md"] == str(corpus / "a.md")  # the configured document is untouched
        prefixed = rag.ingest([outside], progress=False, id_prefix="outside/")
        assert prefixed.documents_indexed == 1 and sorted(indexed(rag)) == ["a.md", "outside/a.md"]


def test_symlinks_out_of_a_source_are_refused_unless_allowed(
    tmp_path: Path, plain: dict, settings: RuntimeSettings
) -> None:
    secret = write(tmp_path / "secrets" / "passwords.txt", "The root password is hunter2.\n")
    write(tmp_path / "secrets" / "more" / "keys.txt", "The signing key is kept in vault slot 7.\n")
    corpus = tmp_path / "corpus"
    write(corpus / "readme.md", "# Readme\n\nNothing secret here.\n")
    (corpus / "passwords.txt").symlink_to(secret)
    (corpus / "more").symlink_to(tmp_path / "secrets" / "more", target_is_directory=True)
    write(corpus / "inner" / "note.txt", "An inner note.\n")
    (corpus / "note-link.txt").symlink_to(corpus / "inner" / "note.txt")  # inside the source: fine
    config = {**plain, "sources": [{"path": str(corpus)}], "ingest": {"deduplicate": False}}
    with Pipeline.from_config(config, settings=settings) as rag:
        report = rag.ingest(progress=False)
        assert sorted(indexed(rag)) == ["inner/note.txt", "note-link.txt", "readme.md"]
        skipped = {Path(s.path).name: s.reason for s in report.skipped}
        assert "outside the source folder" in skipped["passwords.txt"]
        assert "follow_external_symlinks" in skipped["more"]
        hits = rag.query("root password", top_k=10, answer=False).chunks
        assert all("hunter2" not in h.chunk.text for h in hits)
    config["sources"][0]["follow_external_symlinks"] = True
    with Pipeline.from_config(config, settings=settings) as rag:
        rag.ingest(progress=False)
        assert {"passwords.txt", "more/keys.txt"} <= set(indexed(rag))


def test_explicit_paths_are_walked_by_the_configured_sources_they_hold_or_lie_in(
    tmp_path: Path, plain: dict, settings: RuntimeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a source written as ``../corpus`` (as configs/default.yaml does), ``ragpipe ingest corpus/ops`` and
    ``ragpipe ingest .`` both give the source's ids and metadata: no file twice, no configured document lost."""
    corpus = tmp_path / "corpus"
    write(corpus / "ops" / "backups.md", "# Backups\n\nSnapshots run every 15 minutes.\n")
    write(corpus / "security" / "keys.md", "# Keys\n\nKeys rotate every 90 days.\n")
    write(tmp_path / "configs" / "notes.txt", "Not a document of the source.\n")
    config_file = tmp_path / "configs" / "pipeline.yaml"
    config_file.write_text(
        "name: paths\nembedding: {type: hashing}\n"
        "sources:\n  - {path: ../corpus, include: ['**/*.md'], id_prefix: hb/, metadata: {team: core}}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    with Pipeline.from_config(config_file, settings=settings) as rag:
        rag.ingest(progress=False)
        expected = {"hb/ops/backups.md": str(corpus / "ops/backups.md"), "hb/security/keys.md": ""}
        assert sorted(indexed(rag)) == sorted(expected)
        again = rag.ingest(["corpus/ops"], progress=False)
        assert (again.documents_seen, again.documents_unchanged, again.failed) == (1, 1, 0)
        everything = rag.ingest(["."], progress=False)  # holds the source folder: walked as that source
        assert (everything.documents_deleted, everything.documents_unchanged, everything.failed) == (0, 2, 0)
        assert sorted(indexed(rag)) == sorted(expected)
        hit = rag.query("snapshots", top_k=1, answer=False).chunks[0]
        assert hit.chunk.doc_id == "hb/ops/backups.md" and hit.chunk.metadata["team"] == "core"
