"""The index generation an ingest writes (see :mod:`ragpipe.generations`).

It is created on the first change only (a re-ingest that changes nothing copies and writes nothing), as a
copy of its base generation (the published one, or nothing when there is none or it is damaged), or resumed
from the work folder a crashed ingest left on the same base. At the end the lexical index is rebuilt from
the catalog, the store flushed and optimized, the catalog sealed, and the generation published.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragpipe import generations
from ragpipe.catalog import REPEATS_META, Catalog
from ragpipe.config.models import PipelineConfig
from ragpipe.config.settings import RuntimeSettings
from ragpipe.factory import index_stages
from ragpipe.index_location import IndexLocation
from ragpipe.protocols import LexicalIndex, VectorStore


@dataclass
class WorkIndex:
    """The writable catalog, store and lexical index of the work generation."""

    folder: Path
    catalog: Catalog
    store: VectorStore
    lexical: LexicalIndex
    resumed: bool

    def readable(self) -> bool:
        """Whether the catalog and the store open and count (a check of a resumed work folder)."""
        try:
            self.catalog.count_documents()
            self.store.count()
        except BaseException as exc:  # sqlite3, the engines' errors, a pyo3 panic; never an interrupt
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            return False
        return True

    def close(self) -> None:
        self.store.close()
        self.catalog.close()


class Workspace:
    """Writes one new generation of ``index_root`` on top of ``base``; hold :class:`generations.IngestLock`."""

    def __init__(self, config: PipelineConfig, settings: RuntimeSettings, index_root: Path, base: str | None) -> None:
        self.config = config
        self.settings = settings
        self.index_root = index_root
        self.base = base
        self._index: WorkIndex | None = None

    @property
    def resumable(self) -> bool:
        """True if a crashed ingest left a work folder built on the same base."""
        return generations.resumable_work(self.index_root, self.base)

    @property
    def opened(self) -> bool:
        return self._index is not None

    def index(self) -> WorkIndex:
        """The work generation's stages, preparing (or resuming) the folder on first use. A resumed folder
        that no longer opens (the killed run left a file half-written) is discarded and started afresh."""
        if self._index is None:
            self._index = self._open()
            if self._index.resumed and not self._index.readable():
                self._index.close()
                shutil.rmtree(self._index.folder)
                self._index = self._open()
        return self._index

    def _open(self) -> WorkIndex:
        folder, resumed = generations.prepare_work(self.index_root, self.base)
        location = IndexLocation(folder=folder, root=self.index_root, writable=True)
        store, lexical = index_stages(self.config, self.settings, location)
        return WorkIndex(folder, Catalog(folder / generations.CATALOG), store, lexical, resumed)

    def publish(self, text_repeats: int) -> str:
        """Finish the work generation (lexical index, store flush/optimize, sealed catalog) and publish it
        atomically. ``text_repeats``: how often its most frequent chunk text occurs (recorded for the stores'
        ``exact_search: auto``)."""
        work = self.index()
        work.lexical.rebuild(work.catalog.iter_chunks())
        work.catalog.set_meta(REPEATS_META, str(text_repeats))
        work.catalog.seal()
        work.store.flush()
        self.close()
        generations.write_description(self.index_root, describe_index(self.config))
        return generations.publish(self.index_root)

    def close(self) -> None:
        """Release the work folder's files (it stays on disk: a later ingest resumes it)."""
        if self._index is not None:
            self._index.close()
            self._index = None


def describe_index(config: PipelineConfig) -> dict[str, Any]:
    """What defines an index: the config's name, fingerprint and index-defining sections."""
    return {"name": config.name, "fingerprint": config.fingerprint(), "config": config.index_definition()}
