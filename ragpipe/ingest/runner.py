"""The ingest loop: discover -> hash -> parse -> chunk -> embed -> write, streaming in batches.

Writes go to a new index generation (:class:`~ragpipe.ingest.workspace.Workspace`), created on the
first change and published atomically at the end, so queries never see a half-done ingest.
Crash safety within the work generation: per batch, the batch's documents are first deleted from the
vector store, then written to it, and only then recorded in the catalog. So after an interruption at
any point the work catalog never claims a document its store lacks, and the next run (which resumes
the work generation) re-processes every document the catalog does not hold at its current hash
(deleting whatever points it had first), leaving no duplicates or orphans. The lexical index is
rebuilt from the catalog before publishing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ragpipe.config.models import PipelineConfigBase, SourceConfig
from ragpipe.errors import ParseError
from ragpipe.factory import Components
from ragpipe.ingest.loader import DocumentLoadError, hash_file, load_document
from ragpipe.ingest.sources import FoundFile, SkippedPath, discover
from ragpipe.ingest.workspace import Workspace
from ragpipe.progress import Progress
from ragpipe.stores._common import SERVER_HNSW_M, hnsw_trap
from ragpipe.types import Chunk, Document, FileFailure, IngestReport


@dataclass
class IngestPlan:
    """Document ids an ingest would add, update (content changed) and delete, without doing it."""

    add: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unreadable: list[FileFailure] = field(default_factory=list)
    duplicates: list[FileFailure] = field(default_factory=list)
    """Files skipped as copies of an earlier document (``ingest.deduplicate``)."""


@dataclass
class _Pending:
    """Documents parsed and chunked but not yet written."""

    items: list[tuple[Document, str, list[Chunk]]] = field(default_factory=list)
    chunk_count: int = 0

    def add(self, document: Document, version: str, chunks: list[Chunk]) -> None:
        self.items.append((document, version, chunks))
        self.chunk_count += len(chunks)


class IngestRunner:
    """``components`` are over the published generation (read only); writes go to ``workspace``."""

    def __init__(self, config: PipelineConfigBase, components: Components, workspace: Workspace | None = None) -> None:
        self.config = config
        self.c = components
        self.workspace = workspace

    def run(self, paths: Sequence[str | Path] | None = None, progress: bool | None = None) -> IngestReport:
        """Ingest ``paths`` (or the config's sources). With config sources, documents that
        disappeared from them are deleted from the index."""
        if self.workspace is None:
            raise ValueError("IngestRunner.run needs a workspace to write into")
        try:
            return self._run(self.workspace, paths, progress)
        finally:
            self.workspace.close()

    def _run(self, work: Workspace, paths: Sequence[str | Path] | None, progress: bool | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        sources, base_dir, prune = self._sources(paths)
        walk = _Walk(report)
        files = list(self._discover(sources, base_dir, walk))
        # A crashed ingest's work generation is resumed: compare against what it already holds.
        known = (work.components() if work.resumable else self.c).catalog.document_versions()
        seen: dict[str, Path] = {}
        contents: dict[str, FoundFile] = {}
        pending = _Pending()
        with Progress(progress) as bar:
            bar.start("files", total=len(files))
            bar.start("chunks embedded+written", total=None)
            for found in files:
                bar.advance("files")
                report.documents_seen += 1
                if not self._claim(found, seen, report):
                    continue
                outcome = self._prepare(found, known, contents, report)
                if outcome is _DUPLICATE:
                    del seen[found.doc_id]  # not indexed under this id: an earlier copy is
                    walk.duplicate_ids.add(found.doc_id)
                    continue
                if not isinstance(outcome, tuple):
                    continue
                pending.add(*outcome)
                if pending.chunk_count >= self.config.ingest.batch_size:
                    self._write(work.components(), pending, known, report)
                    bar.advance("chunks embedded+written", pending.chunk_count)
                    pending = _Pending()
            if pending.items:
                self._write(work.components(), pending, known, report)
                bar.advance("chunks embedded+written", pending.chunk_count)
            gone = self._gone(known, seen, walk, prune)
            if gone:
                target = work.components()
                target.store.delete_documents(gone)
                target.catalog.delete_documents(gone)
                report.documents_deleted = len(gone)
            if work.opened:
                bar.start("lexical index + store optimize + publish", total=None)
                repeats, doc_id = work.components().catalog.most_repeated_text()
                report.generation = work.publish(repeats)
                note = self._repeat_note(repeats, doc_id)
                if note is not None:
                    report.notes.append(note)
        report.seconds = time.perf_counter() - started
        return report

    def _repeat_note(self, repeats: int, doc_id: str | None) -> FileFailure | None:
        """A note when one chunk text repeats so often that the store searches dense vectors exactly."""
        store = self.config.store
        mode, hnsw_m = getattr(store, "exact_search", "never"), getattr(store, "hnsw_m", SERVER_HNSW_M)
        if mode != "auto" or doc_id is None or not hnsw_trap(repeats, hnsw_m):
            return None
        reason = (
            f"a chunk text of this document occurs {repeats} times in the index (more than hnsw_m={hnsw_m}); "
            "identical vectors trap HNSW searches, so dense search runs brute force (exact) on this index. "
            "Set store.exact_search: never to use HNSW anyway"
        )
        return FileFailure(doc_id, reason)

    def _gone(self, known: dict[str, str], seen: dict[str, Path], walk: _Walk, prune: bool) -> list[str]:
        """Indexed documents to delete: with the config's sources, those no longer found (except under a
        folder that could not be listed this run); always, those now skipped as copies of another."""
        if prune:
            missing = set(known) - set(seen)
            gone = {d for d in missing if not any(d.startswith(p) for p in walk.unlisted_prefixes)}
        else:
            gone = set()
        gone |= walk.duplicate_ids & set(known)
        return sorted(gone)

    def plan(self, paths: Sequence[str | Path] | None = None) -> IngestPlan:
        """What :meth:`run` would add, update and delete (a dry run: files are hashed, not parsed)."""
        sources, base_dir, prune = self._sources(paths)
        known = self.c.catalog.document_versions()
        result = IngestPlan()
        seen: dict[str, Path] = {}
        contents: dict[str, FoundFile] = {}
        walk = _Walk(IngestReport())
        for found in self._discover(sources, base_dir, walk):
            if not self._claim(found, seen, walk.report):
                continue
            try:
                version = self._version(found, hash_file(found.path))
            except DocumentLoadError as exc:
                result.unreadable.append(FileFailure(str(found.path), exc.reason))
                continue
            if self.config.ingest.deduplicate and (first := contents.setdefault(version, found)) is not found:
                result.duplicates.append(FileFailure(str(found.path), f"same content as {first.path}"))
                del seen[found.doc_id]
                walk.duplicate_ids.add(found.doc_id)
            elif found.doc_id not in known:
                result.add.append(found.doc_id)
            elif known[found.doc_id] != version:
                result.update.append(found.doc_id)
            else:
                result.unchanged.append(found.doc_id)
        result.delete = self._gone(known, seen, walk, prune)
        result.unreadable.extend(walk.report.failures)
        return result

    def _sources(self, paths: Sequence[str | Path] | None) -> tuple[list[SourceConfig], Path, bool]:
        if paths:
            return [SourceConfig(path=str(p)) for p in paths], Path.cwd(), False
        return list(self.config.sources), self.config.base_dir, True

    def _discover(self, sources: list[SourceConfig], base_dir: Path, walk: _Walk) -> Iterator[FoundFile]:
        for source in sources:
            for found in discover(source, base_dir, walk.on_skip(source.id_prefix)):
                yield replace(found, doc_id=source.id_prefix + found.doc_id) if source.id_prefix else found

    def _claim(self, found: FoundFile, seen: dict[str, Path], report: IngestReport) -> bool:
        """Document ids must be unique across sources; the same file twice is skipped quietly."""
        previous = seen.get(found.doc_id)
        if previous is None:
            seen[found.doc_id] = found.path
            return True
        if previous.resolve() == found.path.resolve():
            return False
        report.failures.append(
            FileFailure(
                str(found.path),
                f"document id {found.doc_id!r} is already used by {previous}; "
                "give the sources distinct folders or an id_prefix",
            )
        )
        return False

    def _prepare(
        self, found: FoundFile, known: dict[str, str], contents: dict[str, FoundFile], report: IngestReport
    ) -> tuple[Document, str, list[Chunk]] | object | None:
        """The document's new version and chunks; None if unchanged or failed; _DUPLICATE for a copy of a
        document indexed earlier in this run (``contents``: version -> the file indexed with it)."""
        static = self._static_metadata(found)
        max_bytes = int(self.config.ingest.max_file_mb * 1024 * 1024)
        try:
            version = self._version(found, hash_file(found.path))
            if self.config.ingest.deduplicate and (first := contents.get(version)) is not None:
                reason = f"same content as {first.path} (document {first.doc_id!r}, indexed once)"
                report.skipped.append(FileFailure(str(found.path), reason))
                return _DUPLICATE
            if known.get(found.doc_id) == version:
                report.documents_unchanged += 1
                contents[version] = found
                return None
            loaded = load_document(found, static, max_bytes)
            chunks = self.c.chunker.chunk(loaded.document)
        except DocumentLoadError as exc:
            target = report.skipped if exc.skipped else report.failures
            target.append(FileFailure(str(found.path), exc.reason))
            return None
        except (ParseError, OSError, ValueError) as exc:
            report.failures.append(FileFailure(str(found.path), f"{type(exc).__name__}: {exc}"))
            return None
        if not chunks:
            report.failures.append(FileFailure(str(found.path), "no chunks produced (no text)"))
            return None
        encoding = loaded.document.metadata.get("encoding")
        if encoding not in (None, "utf-8", "ascii"):
            report.notes.append(FileFailure(str(found.path), f"not valid UTF-8: decoded as {encoding}"))
        version = self._version(found, loaded.sha256)
        contents[version] = found
        return loaded.document, version, chunks

    def _static_metadata(self, found: FoundFile) -> dict[str, Any]:
        return {**self.config.ingest.metadata, **found.metadata}

    def _version(self, found: FoundFile, content_sha256: str) -> str:
        """What the catalog compares: the content hash plus a hash of the metadata the config attaches,
        so changing a source's static metadata re-indexes its documents (without re-embedding)."""
        static = json.dumps(self._static_metadata(found), sort_keys=True, default=str)
        return f"{content_sha256}+{hashlib.sha256(static.encode()).hexdigest()[:12]}"

    def _write(self, target: Components, pending: _Pending, known: dict[str, str], report: IngestReport) -> None:
        """Replace the pending documents' points (in slices of ``batch_size`` chunks, so one huge document
        does not make one huge embedding call), then record them in the catalog."""
        import numpy as np

        chunks = [c for _, _, cs in pending.items for c in cs]
        embedder: Any = target.embedder
        # Also for documents the catalog does not know: an interrupted earlier run may have left points.
        target.store.delete_documents([doc.id for doc, _, _ in pending.items])
        size = self.config.ingest.batch_size
        for start in range(0, len(chunks), size):
            part = chunks[start : start + size]
            before = getattr(embedder, "computed", 0)
            dense = np.asarray(embedder.embed_documents([c.text for c in part]), dtype=np.float32)
            report.chunks_embedded += getattr(embedder, "computed", 0) - before
            target.store.upsert(part, dense, target.lexical.encode(part))
        for document, version, doc_chunks in pending.items:
            target.catalog.replace_document(document, version, doc_chunks)
            known[document.id] = version
        report.documents_indexed += len(pending.items)
        report.chunks_indexed += len(chunks)


_DUPLICATE = object()


class _Walk:
    """Collects what discovery skipped: into the report, and which id prefixes were not listed."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        self.unlisted_prefixes: list[str] = []
        self.duplicate_ids: set[str] = set()

    def on_skip(self, id_prefix: str) -> Callable[[SkippedPath], None]:
        def record(skipped: SkippedPath) -> None:
            (self.report.failures if skipped.failed else self.report.skipped).append(
                FileFailure(str(skipped.path), skipped.reason)
            )
            if skipped.failed:  # its documents are unknown this run: keep them rather than delete them
                self.unlisted_prefixes.append(f"{id_prefix}{skipped.rel}/")

        return record
