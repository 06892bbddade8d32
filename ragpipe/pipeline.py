"""The Python API: ``Pipeline.from_config(...)``, ``.ingest(...)``, ``.query(...)``."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ragpipe import generations
from ragpipe.config.loading import load_config
from ragpipe.config.models import PipelineConfigBase
from ragpipe.config.settings import RuntimeSettings
from ragpipe.factory import Components, build_components
from ragpipe.filters import FilterExpr
from ragpipe.types import IngestReport, QueryResult

if TYPE_CHECKING:
    from ragpipe.ingest.runner import IngestPlan


class Pipeline:
    """A configured RAG pipeline over one persistent index.

    Thread-safe, and safe next to other processes: every query reads the newest *published* index
    generation (see :mod:`ragpipe.generations`), so queries keep running during an ingest (in this or
    another process) and see each document's old or new state, never a mix. One ingest per index runs
    at a time. Use as a context manager (or call :meth:`close`) to release the index files.

    A config whose chunking/embedding/lexical/store settings changed gets a new index (a new fingerprint
    folder). Until that index has completed an ingest, queries are served (with ``serve_previous_index``)
    from the index of the same ``name`` that published last, with the chunker/embedder it was built with;
    ``QueryResult.index`` says which. Evaluation sets it to False: scores must belong to the config.
    """

    def __init__(
        self, config: PipelineConfigBase, settings: RuntimeSettings | None = None, serve_previous_index: bool = True
    ) -> None:
        self.config = config
        self.settings = settings or RuntimeSettings()
        self.serve_previous_index = serve_previous_index
        self._state_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._state: _IndexState | None = None
        self._stages: dict[str, Components] = {}  # stateless stages (models) per index fingerprint

    @classmethod
    def from_config(
        cls,
        source: str | Path | Mapping[str, Any] | None = None,
        overrides: Sequence[str] = (),
        settings: RuntimeSettings | None = None,
    ) -> Pipeline:
        """Build from a YAML/TOML path or a mapping, with ``dotted.path=value`` overrides."""
        return cls(load_config(source, overrides), settings)

    @property
    def index_dir(self) -> Path:
        """This config's index folder (``<data_dir>/<name>/<fingerprint>``), holding its generations."""
        return self.config.index_dir(self.settings.data_dir)

    @property
    def generation(self) -> str | None:
        """The published index generation queries read now, or None before the first ingest."""
        return generations.current(self.index_dir)

    @property
    def components(self) -> Components:
        """The stages over this config's newest published generation (an empty index before the first ingest)."""
        state = self._acquire(strict=True)
        self._release(state)
        return state.components

    def ingest(self, paths: Sequence[str | Path] | None = None, progress: bool | None = None) -> IngestReport:
        """Index ``paths`` (files or folders) or, by default, the config's sources, into a new
        generation that is published when complete. Queries keep running meanwhile."""
        from ragpipe.ingest.runner import IngestRunner
        from ragpipe.ingest.workspace import Workspace

        with self._ingest_lock, generations.IngestLock(self.index_dir):
            state = self._acquire(strict=True)
            try:
                workspace = Workspace(self.config, self.settings, self.index_dir, share=state.components)
                report = IngestRunner(self.config, state.components, workspace).run(paths, progress)
            finally:
                self._release(state)
        if report.generation is not None:
            self._warm()
        return report

    def plan(self, paths: Sequence[str | Path] | None = None) -> IngestPlan:
        """A dry run of :meth:`ingest`: which documents would be added, updated and deleted."""
        from ragpipe.ingest.runner import IngestRunner

        state = self._acquire(strict=True)
        try:
            return IngestRunner(self.config, state.components).plan(paths)
        finally:
            self._release(state)

    def query(
        self,
        text: str,
        filters: Mapping[str, Any] | str | FilterExpr | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        answer: bool = True,
    ) -> QueryResult:
        """Retrieve, rerank and (unless ``answer=False``) answer. ``filters`` use :mod:`ragpipe.filters`
        syntax and are ANDed with the config's ``retrieval.filters``; ``mode`` is hybrid, dense or lexical."""
        from ragpipe.retrieval.search import Searcher

        state = self._acquire()
        try:
            result = Searcher(state.config, state.components).search(text, filters, top_k, mode, answer)
        finally:
            self._release(state)
        return replace(result, index=state.label)

    def close(self) -> None:
        """Release the index files (after in-flight queries finish); the object stays usable."""
        with self._ingest_lock, self._state_lock:
            state, self._state = self._state, None
            if state is not None:
                state.retire()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ generations

    def _acquire(self, strict: bool = False) -> _IndexState:
        """The state of the newest published generation, switched to if it changed; hold it until released.
        ``strict``: this config's own index, never a previous config's."""
        own = generations.current(self.index_dir)
        root, generation = self.index_dir, own
        if own is None and self.serve_previous_index and not strict:
            previous = generations.newest_published(self.index_dir.parent)
            if previous is not None:
                root, generation = previous
        with self._state_lock:
            state = self._state
            if state is None or (state.root, state.generation) != (root, generation):
                if strict and state is not None and state.root != root:
                    # serving a previous config's index: give this caller a private view of its own
                    private = self._open_state(root, generation)
                    private.refs, private.retired = 1, True
                    return private
                fresh = self._open_state(root, generation)
                if state is not None:
                    state.retire()
                self._state = state = fresh
            state.refs += 1
            return state

    def _release(self, state: _IndexState) -> None:
        with self._state_lock:
            state.refs -= 1
            if state.retired and state.refs == 0:
                state.close()

    def _open_state(self, root: Path, generation: str | None) -> _IndexState:
        config = self.config if root == self.index_dir else self._previous_config(root)
        if generation is None:  # nothing published: an empty, throw-away index
            folder, lease, scratch = Path(tempfile.mkdtemp(prefix="ragpipe-empty-")), None, True
        else:
            folder = generations.generation_dir(root, generation)
            lease, scratch = generations.ReaderLease(folder), False
        fingerprint = config.fingerprint()
        share = self._stages.get(fingerprint)
        components = build_components(config, self.settings, folder, read_only=True, share=share)
        self._stages.setdefault(fingerprint, components)
        label = f"{root.name}/{generation}" if generation else ""
        return _IndexState(root, generation, config, components, lease, folder if scratch else None, label)

    def _previous_config(self, root: Path) -> PipelineConfigBase:
        """This config with the index-defining sections of the index at ``root``."""
        from ragpipe.ingest.workspace import INDEX_SECTIONS

        description = generations.read_description(root) or {}
        data = self.config.model_dump(mode="json")
        data.update({k: v for k, v in description.get("config", {}).items() if k in INDEX_SECTIONS})
        config = load_config(data, base_dir=self.config.base_dir)
        if config.index_dir(self.settings.data_dir) != root:
            raise RuntimeError(f"the description of the index {root} does not match its folder")
        return config

    def _warm(self) -> None:
        """Switch to the newly published generation and open its store now rather than on the next query."""
        state = self._acquire()
        try:
            state.components.store.count()
        finally:
            self._release(state)


class _IndexState:
    """One generation's open components, reference-counted by the queries using it."""

    def __init__(
        self,
        root: Path,
        generation: str | None,
        config: PipelineConfigBase,
        components: Components,
        lease: generations.ReaderLease | None,
        scratch: Path | None,
        label: str,
    ) -> None:
        self.root = root
        self.generation = generation
        self.config = config
        self.components = components
        self.lease = lease
        self.scratch = scratch
        self.label = label
        self.refs = 0
        self.retired = False

    def retire(self) -> None:
        """No new users; close once the current ones are done (call with the pipeline's state lock)."""
        self.retired = True
        if self.refs == 0:
            self.close()

    def close(self) -> None:
        self.components.close()
        if self.lease is not None:
            self.lease.release()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
