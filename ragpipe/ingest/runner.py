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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragpipe.catalog import Catalog
from ragpipe.config.models import PipelineConfig
from ragpipe.errors import ParseError
from ragpipe.factory import IngestStages
from ragpipe.ingest.capture import library_messages
from ragpipe.ingest.fit import Fitting
from ragpipe.ingest.loader import DocumentLoadError, hash_file, load_document
from ragpipe.ingest.sources import FoundFile
from ragpipe.ingest.targets import Targets, Walk, normalized
from ragpipe.ingest.workspace import WorkIndex, Workspace
from ragpipe.progress import Progress
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
    damaged: str | None = None
    """Why the published index cannot be read (an ingest rebuilds it from the configured sources)."""


@dataclass
class _Pending:
    """Documents parsed and chunked but not yet written."""

    items: list[tuple[Document, str, list[Chunk]]] = field(default_factory=list)
    chunk_count: int = 0

    def add(self, document: Document, version: str, chunks: list[Chunk]) -> None:
        self.items.append((document, version, chunks))
        self.chunk_count += len(chunks)


class IngestRunner:
    """Ingests ``targets`` into ``workspace``; ``published`` is the catalog of the generation it builds on."""

    def __init__(
        self,
        config: PipelineConfig,
        stages: IngestStages,
        published: Catalog | None,
        workspace: Workspace | None = None,
    ) -> None:
        self.config = config
        self.stages = stages
        self.published = published
        self.workspace = workspace

    def run(self, targets: Targets, progress: bool | None = None) -> IngestReport:
        """Ingest ``targets``; indexed documents that are gone from them are deleted."""
        if self.workspace is None:
            raise ValueError("IngestRunner.run needs a workspace to write into")
        try:
            return self._run(self.workspace, targets, progress)
        finally:
            self.workspace.close()

    def _run(self, work: Workspace, targets: Targets, progress: bool | None) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        walk = Walk()
        files = list(targets.files(walk))
        report.failures.extend(walk.failures)
        report.skipped.extend(walk.skipped)
        # A crashed ingest's work generation is resumed: compare against what it already holds.
        current = work.index().catalog if work.resumable else self.published
        report.resumed = work.resumable
        known = current.document_versions() if current is not None else {}
        sources = current.document_sources() if current is not None else {}
        seen: dict[str, Path] = {}
        contents: dict[str, FoundFile] = {}
        duplicates: set[str] = set()
        fitting = Fitting(self.stages.embedder, self.config.embedding.allow_truncation)
        pending = _Pending()
        with Progress(progress) as bar:
            bar.start("files", total=len(files))
            bar.start("chunks embedded+written", total=None)
            for found in files:
                bar.advance("files")
                report.documents_seen += 1
                if not self._claim(found, seen, sources, targets, report):
                    continue
                outcome = self._prepare(found, known, contents, report)
                if outcome is _DUPLICATE:
                    del seen[found.doc_id]  # not indexed under this id: an earlier copy is
                    duplicates.add(found.doc_id)
                    continue
                if not isinstance(outcome, tuple):
                    continue
                pending.add(*outcome)
                if pending.chunk_count >= self.config.ingest.batch_size:
                    self._write(work.index(), pending, known, report, fitting)
                    bar.advance("chunks embedded+written", pending.chunk_count)
                    pending = _Pending()
            if pending.items:
                self._write(work.index(), pending, known, report, fitting)
                bar.advance("chunks embedded+written", pending.chunk_count)
            gone = self._gone(known, sources, seen, duplicates, targets, walk)
            if gone:
                target = work.index()
                target.store.delete_documents(gone)
                target.catalog.delete_documents(gone)
                report.documents_deleted = len(gone)
            if work.opened:
                bar.start("lexical index + store optimize + publish", total=None)
                repeats, doc_id = work.index().catalog.most_repeated_text()
                report.generation = work.publish(repeats)
                report.most_repeated = (repeats, doc_id)
        note = fitting.note()
        if note is not None:
            report.notes.append(note)
        report.texts_embedded = self.stages.embedder.computed
        report.seconds = time.perf_counter() - started
        return report

    def _gone(
        self,
        known: dict[str, str],
        sources: dict[str, str],
        seen: dict[str, Path],
        duplicates: set[str],
        targets: Targets,
        walk: Walk,
    ) -> list[str]:
        """Indexed documents to delete: those this ingest's targets no longer hold (see
        :meth:`Targets.may_delete`), and those now skipped as copies of another."""
        missing = set(known) - set(seen)
        gone = {d for d in missing if targets.may_delete(d, sources.get(d, ""), walk)}
        gone |= duplicates & set(known)
        return sorted(gone)

    def plan(self, targets: Targets) -> IngestPlan:
        """What :meth:`run` would add, update and delete (a dry run: files are hashed, not parsed)."""
        known = self.published.document_versions() if self.published is not None else {}
        sources = self.published.document_sources() if self.published is not None else {}
        result = IngestPlan()
        seen: dict[str, Path] = {}
        contents: dict[str, FoundFile] = {}
        duplicates: set[str] = set()
        walk = Walk()
        scratch = IngestReport()
        for found in targets.files(walk):
            if not self._claim(found, seen, sources, targets, scratch):
                continue
            try:
                version = self._version(found, hash_file(found.path))
            except DocumentLoadError as exc:
                result.unreadable.append(FileFailure(str(found.path), exc.reason))
                continue
            if self.config.ingest.deduplicate and (first := contents.setdefault(version, found)) is not found:
                result.duplicates.append(FileFailure(str(found.path), f"same content as {first.path}"))
                del seen[found.doc_id]
                duplicates.add(found.doc_id)
            elif found.doc_id not in known:
                result.add.append(found.doc_id)
            elif known[found.doc_id] != version:
                result.update.append(found.doc_id)
            else:
                result.unchanged.append(found.doc_id)
        result.delete = self._gone(known, sources, seen, duplicates, targets, walk)
        result.unreadable.extend([*walk.failures, *scratch.failures])
        return result

    def _claim(
        self, found: FoundFile, seen: dict[str, Path], sources: dict[str, str], targets: Targets, report: IngestReport
    ) -> bool:
        """Document ids must be unique: across this run's files (the same file twice is skipped quietly) and,
        for explicit paths, against what the index holds for another file."""
        previous = seen.get(found.doc_id)
        if previous is not None:
            if previous.resolve() != found.path.resolve():
                reason = (
                    f"document id {found.doc_id!r} is already used by {previous}; "
                    "give the sources distinct folders or an id_prefix"
                )
                report.failures.append(FileFailure(str(found.path), reason))
            return False
        indexed_from = sources.get(found.doc_id)
        if targets.explicit and indexed_from and normalized(indexed_from) != normalized(found.path):
            reason = (
                f"document id {found.doc_id!r} is already indexed from {indexed_from}; this file would replace it. "
                "Ingest it under another id (ragpipe ingest --id-prefix PREFIX) or add its folder as a source"
            )
            report.failures.append(FileFailure(str(found.path), reason))
            return False
        seen[found.doc_id] = found.path
        return True

    def _prepare(
        self,
        found: FoundFile,
        known: dict[str, str],
        contents: dict[str, FoundFile],
        report: IngestReport,
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
            with library_messages(str(found.path)) as messages:
                loaded = load_document(found, static, max_bytes, self.stages.parsers)
                chunks = self.stages.chunker.chunk(loaded.document)
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
        report.notes.extend(FileFailure(str(found.path), f"parser said: {m}") for m in messages)
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

    def _write(
        self,
        target: WorkIndex,
        pending: _Pending,
        known: dict[str, str],
        report: IngestReport,
        fitting: Fitting,
    ) -> None:
        """Fit the pending documents' chunks to the embedder, replace their points (in slices of
        ``batch_size`` chunks, so one huge document does not make one huge embedding call), then record them
        in the catalog."""
        import numpy as np

        fitted = fitting.fit_batch([(document, doc_chunks) for document, _, doc_chunks in pending.items])
        items = [
            (document, version, chunks) for (document, version, _), chunks in zip(pending.items, fitted, strict=True)
        ]
        chunks = [c for _, _, cs in items for c in cs]
        embedder = self.stages.embedder
        # Also for documents the catalog does not know: an interrupted earlier run may have left points.
        target.store.delete_documents([doc.id for doc, _, _ in pending.items])
        size = self.config.ingest.batch_size
        for start in range(0, len(chunks), size):
            part = chunks[start : start + size]
            texts = [c.text for c in part]
            before = embedder.computed
            dense = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
            report.chunks_embedded += embedder.computed - before
            target.store.upsert(part, dense, target.lexical.encode(part))
        for document, version, doc_chunks in items:
            target.catalog.replace_document(document, version, doc_chunks)
            known[document.id] = version
        report.documents_indexed += len(items)
        report.chunks_indexed += len(chunks)


_DUPLICATE = object()
