"""One published index generation, opened once: its catalog, vector store, lexical index and facts.

:meth:`IndexState.open` opens every file of the generation read-only and checks it (a damaged file raises
:class:`~ragpipe.errors.IndexDamagedError` naming it), then computes what queries need to know — empty or
not, how many documents and chunks, whether dense search runs exactly — so no query counts rows or reads
the catalog. The state never changes; a new generation gets a new state.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from ragpipe import generations
from ragpipe.catalog import REPEATS_META, Catalog
from ragpipe.config.models import PipelineConfig
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import IndexDamagedError
from ragpipe.factory import index_stages
from ragpipe.index_location import IndexLocation
from ragpipe.protocols import LexicalIndex, VectorStore


@dataclass(frozen=True)
class IndexFacts:
    """What a published generation holds, read once when it opens."""

    documents: int = 0
    chunks: int = 0
    max_text_repeats: int = 0
    """How often its most frequent chunk text occurs."""
    exact_search_reason: str | None = None
    """Why dense search runs brute force on it (None: the store's index is used)."""

    @property
    def empty(self) -> bool:
        return self.chunks == 0


class IndexState:
    """The open files of one generation (or of no generation: an empty index before the first ingest)."""

    def __init__(
        self,
        config: PipelineConfig,
        root: Path,
        generation: str | None,
        catalog: Catalog | None,
        store: VectorStore | None,
        lexical: LexicalIndex | None,
        facts: IndexFacts,
        lease: generations.ReaderLease | None,
    ) -> None:
        self.config = config
        self.root = root
        self.generation = generation
        self.catalog = catalog
        self.store = store
        self.lexical = lexical
        self.facts = facts
        self._lease = lease

    @property
    def label(self) -> str:
        """``<fingerprint>/<generation>``, or "" for the empty index."""
        return f"{self.root.name}/{self.generation}" if self.generation else ""

    @classmethod
    def empty(cls, config: PipelineConfig, root: Path) -> IndexState:
        return cls(config, root, None, None, None, None, IndexFacts(), None)

    @classmethod
    def open(cls, config: PipelineConfig, settings: RuntimeSettings, root: Path, generation: str) -> IndexState:
        """Open and check the generation ``generation`` of the index folder ``root`` (built with ``config``)."""
        folder = generations.generation_dir(root, generation)
        lease = generations.ReaderLease(folder)
        catalog = Catalog(folder / generations.CATALOG, read_only=True)
        store: VectorStore | None = None
        try:
            documents, chunks, repeats = _catalog_facts(catalog)
            location = IndexLocation(folder=folder, root=root, writable=False, max_text_repeats=repeats)
            store, lexical = index_stages(config, settings, location)
            if chunks:
                store.open(chunks)
                lexical.open()
            facts = IndexFacts(documents, chunks, repeats, store.exact_search_reason())
        except BaseException:
            if store is not None:
                store.close()
            catalog.close()
            lease.release()
            raise
        return cls(config, root, generation, catalog, store, lexical, facts, lease)

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        if self.catalog is not None:
            self.catalog.close()
        if self._lease is not None:
            self._lease.release()


def _catalog_facts(catalog: Catalog) -> tuple[int, int, int]:
    """Documents, chunks and the most repeated chunk text's count; a catalog that cannot answer is damaged."""
    try:
        repeats = catalog.get_meta(REPEATS_META)
        return catalog.count_documents(), catalog.count_chunks(), int(repeats or 0)
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise IndexDamagedError(str(catalog.path), f"not a readable catalog ({exc})") from None
