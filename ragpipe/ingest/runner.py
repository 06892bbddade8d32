"""The ingest loop: discover -> hash -> parse -> chunk -> embed -> write, streaming in batches.

Per batch the vector store is written before the catalog, so after any interruption the
catalog never claims a document the store lacks; a re-run re-processes whatever the catalog
does not hold (deleting that document's old points first), which leaves no duplicates.
"""

from __future__ import annotations

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


@dataclass
class _Pending:
    """Documents parsed and chunked but not yet written."""

    items: list[tuple[Document, str, list[Chunk]]] = field(default_factory=list)
    chunk_count: int = 0

    def add(self, document: Document, sha256: str, chunks: list[Chunk]) -> None:
        self.items.append((document, sha256, chunks))
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
        if paths:
            sources, base_dir, prune = [SourceConfig(path=str(p)) for p in paths], Path.cwd(), False
        else:
            sources, base_dir, prune = list(self.config.sources), self.config.base_dir, True
        files = list(self._discover(sources, base_dir))
        known = self.c.catalog.document_hashes()
        seen: dict[str, Path] = {}
        changed = False
        pending = _Pending()
        with Progress(progress) as bar:
            bar.start("ingest", total=len(files))
            for found in files:
                bar.advance("ingest")
                report.documents_seen += 1
                if not self._claim(found, seen, report):
                    continue
                outcome = self._prepare(found, known, report)
                if outcome is None:
                    continue
                pending.add(*outcome)
                if pending.chunk_count >= self.config.ingest.batch_size:
                    self._write(pending, known, report)
                    pending, changed = _Pending(), True
            if pending.items:
                self._write(pending, known, report)
                changed = True
            if prune:
                gone = sorted(set(known) - set(seen))
                if gone:
                    self.c.store.delete_documents(gone)
                    self.c.catalog.delete_documents(gone)
                    report.documents_deleted = len(gone)
                    changed = True
            if changed or not self._lexical_ready():
                bar.start("index", total=None)
                self.c.lexical.rebuild(self.c.catalog.iter_chunks())
                self.c.store.flush()
        report.seconds = time.perf_counter() - started
        return report

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
        static: dict[str, Any] = {**self.config.ingest.metadata, **found.metadata}
        max_bytes = int(self.config.ingest.max_file_mb * 1024 * 1024)
        try:
            if known.get(found.doc_id) == sha256_of(found.path):
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
        return loaded.document, loaded.sha256, chunks

    def _write(self, pending: _Pending, known: dict[str, str], report: IngestReport) -> None:
        import numpy as np

        chunks = [c for _, _, cs in pending.items for c in cs]
        embedder: Any = self.c.embedder
        before = getattr(embedder, "computed", 0)
        dense = np.asarray(embedder.embed_documents([c.text for c in chunks]), dtype=np.float32)
        report.chunks_embedded += getattr(embedder, "computed", 0) - before
        sparse = self.c.lexical.encode(chunks)
        replaced = [doc.id for doc, _, _ in pending.items if doc.id in known]
        if replaced:
            self.c.store.delete_documents(replaced)
        self.c.store.upsert(chunks, dense, sparse)
        for document, sha256, doc_chunks in pending.items:
            self.c.catalog.replace_document(document, sha256, doc_chunks)
            known[document.id] = sha256
        report.documents_indexed += len(pending.items)
        report.chunks_indexed += len(chunks)

    def _lexical_ready(self) -> bool:
        ready = getattr(self.c.lexical, "is_built", None)
        return bool(ready()) if callable(ready) else True
