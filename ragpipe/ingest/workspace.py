"""The index generation an ingest writes into (see :mod:`ragpipe.generations`).

It is created on the first change only (a re-ingest that changes nothing copies and writes nothing),
as a copy of the published generation, or resumed from the work folder a crashed ingest left; at
the end the lexical index is rebuilt, the store flushed and optimized, and the generation published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ragpipe import generations
from ragpipe.config.models import PipelineConfigBase
from ragpipe.config.settings import RuntimeSettings
from ragpipe.factory import Components, build_components
from ragpipe.stores._common import REPEATS_META


class Workspace:
    """Writable components over the work folder of ``index_root``; hold :class:`generations.IngestLock`."""

    def __init__(
        self, config: PipelineConfigBase, settings: RuntimeSettings, index_root: Path, share: Components
    ) -> None:
        self.config = config
        self.settings = settings
        self.index_root = index_root
        self.share = share
        self._components: Components | None = None

    @property
    def resumable(self) -> bool:
        """True if a crashed ingest left a work folder built on the published generation."""
        work = generations.work_dir(self.index_root)
        try:
            base = (work / generations.BASE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return False
        return base == (generations.current(self.index_root) or "")

    @property
    def opened(self) -> bool:
        return self._components is not None

    def components(self) -> Components:
        """The work generation's components, preparing the folder on first use."""
        if self._components is None:
            folder, _ = generations.prepare_work(self.index_root)
            self._components = build_components(self.config, self.settings, folder, share=self.share)
        return self._components

    def publish(self, text_repeats: int) -> str:
        """Finish the work generation (lexical index, store flush/optimize) and publish it atomically.
        ``text_repeats``: how often its most frequent chunk text occurs (the stores' ``exact_search: auto``)."""
        work = self.components()
        work.lexical.rebuild(work.catalog.iter_chunks())
        work.catalog.set_meta(REPEATS_META, str(text_repeats))
        work.store.flush()
        self.close()
        generations.write_description(self.index_root, describe_index(self.config))
        return generations.publish(self.index_root)

    def close(self) -> None:
        """Release the work folder's files (it stays on disk: a later ingest resumes it)."""
        if self._components is not None:
            self._components.close()
            self._components = None


INDEX_SECTIONS = ("chunking", "embedding", "lexical", "store")


def describe_index(config: PipelineConfigBase) -> dict[str, Any]:
    """What defines an index: the config's name, fingerprint and its chunking/embedding/lexical/store sections."""
    dumped = config.model_dump(mode="json")
    return {
        "name": config.name,
        "fingerprint": config.fingerprint(),
        "config": {k: dumped[k] for k in INDEX_SECTIONS},
    }
