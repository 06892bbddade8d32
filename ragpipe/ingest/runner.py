"""The ingest loop: discover -> hash -> parse -> chunk -> embed -> write, streaming in batches.

Crash safety: per batch, the batch's documents are first deleted from the vector store, then
written to it, and only then recorded in the catalog. So after an interruption at any point the
catalog never claims a document the store lacks, and a re-run re-processes every document the
catalog does not hold at its current hash (deleting whatever points it had first), leaving no
duplicates or orphans. A durable "lexical stale" marker is set before the first write and cleared
only after the lexical index has been rebuilt, so an interrupted run's re-run always rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ragpipe.config.models import PipelineConfigBase, SourceConfig
from ragpipe.errors import ParseError
from ragpipe.factory import Components
from ragpipe.ingest.loader import DocumentLoadError, load_document, sha256_of
from ragpipe.ingest.sources import FoundFile, discover
from ragpipe.progress import Progress
from ragpipe.types import Chunk, Document, FileFailure, IngestReport

LEXICAL_STALE = "lexical_stale"


@dataclass
class IngestPlan:
    """Document ids an ingest would add, update (content changed) and delete, without doing it."""

    add: list[str] = field(default_factory=list)
    update: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unreadable: list[FileFailure] = field(default_factory=list)


@dataclass
class _Pending:
    """Documents parsed and chunked but not yet written."""

    items: list[tuple[Document, str, list[Chunk]]] = field(default_factory=list)
    chunk_count: int = 0

    def add(self, document: Document, version: str, chunks: list[Chunk]) -> None:
        self.items.append((document, version, chunks))
        self.chunk_count += len(chunks)


class IngestRunner:
    def __init__(self, config: PipelineConfigBase, components: Components) -> None:
        self.config = config
        self.c = components

    def run(self, paths: Sequence[str | Path] | None = None, progress: bool | None = None) -> IngestReport:
        """Ingest ``paths`` (or the config's sources). With config sources, documents that
        disappeared from them are deleted from the index."""
        started = time.perf_counter()
        report = IngestReport()
        sources, base_dir, prune = self._sources(paths)
        files = list(self._discover(sources, base_dir))
        known = self.c.catalog.document_versions()
        seen: dict[str, Path] = {}
        changed = False
        pending = _Pending()
        with Progress(progress) as bar:
            bar.start("files", total=len(files))
            bar.start("chunks embedded+written", total=None)
            for found in files:
                bar.advance("files")
                report.documents_seen += 1
                if not self._claim(found, seen, report):
                    continue
                outcome = self._prepare(found, known, report)
                if outcome is None:
                    continue
                pending.add(*outcome)
                if pending.chunk_count >= self.config.ingest.batch_size:
                    self._write(pending, known, report)
                    bar.advance("chunks embedded+written", pending.chunk_count)
                    pending, changed = _Pending(), True
            if pending.items:
                self._write(pending, known, report)
                bar.advance("chunks embedded+written", pending.chunk_count)
                changed = True
            if prune:
                gone = sorted(set(known) - set(seen))
                if gone:
                    self.c.catalog.set_meta(LEXICAL_STALE, "1")
                    self.c.store.delete_documents(gone)
                    self.c.catalog.delete_documents(gone)
                    report.documents_deleted = len(gone)
                    changed = True
            if changed or self.c.catalog.get_meta(LEXICAL_STALE) or not self._lexical_ready():
                bar.start("lexical index + store flush", total=None)
                self.c.lexical.rebuild(self.c.catalog.iter_chunks())
                self.c.store.flush()
                self.c.catalog.set_meta(LEXICAL_STALE, None)
        report.seconds = time.perf_counter() - started
        return report

    def plan(self, paths: Sequence[str | Path] | None = None) -> IngestPlan:
        """What :meth:`run` would add, update and delete (a dry run: files are hashed, not parsed)."""
        sources, base_dir, prune = self._sources(paths)
        known = self.c.catalog.document_versions()
        result = IngestPlan()
        seen: set[str] = set()
        for found in self._discover(sources, base_dir):
            if found.doc_id in seen:
                continue
            seen.add(found.doc_id)
            try:
                digest = self._version(found, sha256_of(found.path))
            except OSError as exc:
                result.unreadable.append(FileFailure(str(found.path), str(exc)))
                continue
            if found.doc_id not in known:
                result.add.append(found.doc_id)
            elif known[found.doc_id] != digest:
                result.update.append(found.doc_id)
            else:
                result.unchanged.append(found.doc_id)
        if prune:
            result.delete = sorted(set(known) - seen)
        return result

    def _sources(self, paths: Sequence[str | Path] | None) -> tuple[list[SourceConfig], Path, bool]:
        if paths:
            return [SourceConfig(path=str(p)) for p in paths], Path.cwd(), False
        return list(self.config.sources), self.config.base_dir, True

    def _discover(self, sources: list[SourceConfig], base_dir: Path) -> Iterator[FoundFile]:
        for source in sources:
            for found in discover(source, base_dir):
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
        self, found: FoundFile, known: dict[str, str], report: IngestReport
    ) -> tuple[Document, str, list[Chunk]] | None:
        static = self._static_metadata(found)
        max_bytes = int(self.config.ingest.max_file_mb * 1024 * 1024)
        try:
            version = self._version(found, sha256_of(found.path))
            if known.get(found.doc_id) == version:
                report.documents_unchanged += 1
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
        return loaded.document, self._version(found, loaded.sha256), chunks

    def _static_metadata(self, found: FoundFile) -> dict[str, Any]:
        return {**self.config.ingest.metadata, **found.metadata}

    def _version(self, found: FoundFile, content_sha256: str) -> str:
        """What the catalog compares: the content hash plus a hash of the metadata the config attaches,
        so changing a source's static metadata re-indexes its documents (without re-embedding)."""
        static = json.dumps(self._static_metadata(found), sort_keys=True, default=str)
        return f"{content_sha256}+{hashlib.sha256(static.encode()).hexdigest()[:12]}"

    def _write(self, pending: _Pending, known: dict[str, str], report: IngestReport) -> None:
        import numpy as np

        chunks = [c for _, _, cs in pending.items for c in cs]
        embedder: Any = self.c.embedder
        before = getattr(embedder, "computed", 0)
        dense = np.asarray(embedder.embed_documents([c.text for c in chunks]), dtype=np.float32)
        report.chunks_embedded += getattr(embedder, "computed", 0) - before
        sparse = self.c.lexical.encode(chunks)
        self.c.catalog.set_meta(LEXICAL_STALE, "1")
        # Also for documents the catalog does not know: an interrupted earlier run may have left points.
        self.c.store.delete_documents([doc.id for doc, _, _ in pending.items])
        self.c.store.upsert(chunks, dense, sparse)
        for document, version, doc_chunks in pending.items:
            self.c.catalog.replace_document(document, version, doc_chunks)
            known[document.id] = version
        report.documents_indexed += len(pending.items)
        report.chunks_indexed += len(chunks)

    def _lexical_ready(self) -> bool:
        ready = getattr(self.c.lexical, "is_built", None)
        return bool(ready()) if callable(ready) else True
