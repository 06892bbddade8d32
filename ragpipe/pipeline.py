"""The Python API: ``Pipeline.from_config(...)``, ``.ingest(...)``, ``.query(...)``."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ragpipe import generations
from ragpipe.config.loading import load_config
from ragpipe.config.models import PipelineConfig
from ragpipe.config.settings import RuntimeSettings, load_settings
from ragpipe.errors import ConfigError, IndexDamagedError
from ragpipe.factory import QueryStages, check_stages, index_stages, ingest_stages, query_stages
from ragpipe.filters import FilterExpr
from ragpipe.index_location import IndexLocation
from ragpipe.index_state import IndexState
from ragpipe.model_pool import ModelPool, shared_models
from ragpipe.serving import LiveIndex
from ragpipe.types import FileFailure, IngestReport, QueryResult

if TYPE_CHECKING:
    from ragpipe.ingest.runner import IngestPlan


class Pipeline:
    """A configured RAG pipeline over one persistent index.

    Thread-safe, and safe next to other processes: every query reads the newest *published* index
    generation (see :mod:`ragpipe.generations`), so queries keep running during an ingest (in this or
    another process) and see each document's old or new state, never a mix. One ingest per index runs
    at a time. Use as a context manager (or call :meth:`close`) to release the index files.

    Models come from ``models`` (default: the process-wide pool), so pipelines of one process share them.
    Building a pipeline checks that its stages fit together (ConfigError naming the dotted path).

    A config whose index-defining settings changed gets a new index (a new fingerprint folder). Until that
    index has completed an ingest, queries are served (with ``serve_previous_index``) from the index of the
    same ``name`` that published last, with the chunker/embedder it was built with; ``QueryResult.index``
    says which. Evaluation sets it to False: scores must belong to the config.
    """

    def __init__(
        self,
        config: PipelineConfig,
        settings: RuntimeSettings | None = None,
        serve_previous_index: bool = True,
        models: ModelPool | None = None,
    ) -> None:
        self.config = config
        self.settings = settings or load_settings()
        self.serve_previous_index = serve_previous_index
        self.models = models or shared_models()
        self.stage_notes = check_stages(config, self.models.embedder(config.embedding, self.settings))
        self._ingest_lock = threading.Lock()
        self._stages_lock = threading.Lock()
        self._stages: dict[Path, QueryStages] = {}
        self._configs: dict[Path, PipelineConfig | None] = {}  # index folder -> the config that built it
        self._live = LiveIndex(self._open_state)

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

    @contextmanager
    def index(self) -> Iterator[IndexState]:
        """This config's own published generation, open and held for the block (an empty state before the
        first ingest); raises IndexDamagedError for a damaged one."""
        state = self._acquire(strict=True)
        try:
            yield state
        finally:
            self._live.release(state)

    def ingest(
        self, paths: Sequence[str | Path] | None = None, progress: bool | None = None, id_prefix: str = ""
    ) -> IngestReport:
        """Index ``paths`` (files or folders) or, by default, the config's sources, into a new generation that
        is published when complete. Queries keep running meanwhile. A damaged published generation is
        rebuilt from the configured sources (with ``paths``, IndexDamagedError says so)."""
        from ragpipe.ingest.runner import IngestRunner
        from ragpipe.ingest.targets import ingest_targets
        from ragpipe.ingest.workspace import Workspace

        targets = ingest_targets(self.config, paths, id_prefix)
        with self._ingest_lock, generations.IngestLock(self.index_dir):
            state, damage = self._published_or_damage()
            if damage is not None and targets.explicit:
                raise damage
            try:
                base = state.generation if state is not None else None
                workspace = Workspace(self.config, self.settings, self.index_dir, base)
                stages = ingest_stages(self.config, self.settings, self.models)
                catalog = state.catalog if state is not None else None
                report = IngestRunner(self.config, stages, catalog, workspace).run(targets, progress)
            finally:
                if state is not None:
                    self._live.release(state)
        if damage is not None:
            if report.generation is None:
                raise IndexDamagedError(
                    damage.path, f"{damage.reason} (the ingest indexed no document to rebuild it from)"
                )
            reason = f"the published index was damaged ({damage.reason}); rebuilt it from the configured sources"
            report.notes.insert(0, FileFailure(damage.path, reason))
        note = self._exact_search_note(report) if report.generation is not None else None
        if note is not None:
            report.notes.append(note)
        return report

    def plan(self, paths: Sequence[str | Path] | None = None, id_prefix: str = "") -> IngestPlan:
        """A dry run of :meth:`ingest`: which documents would be added, updated and deleted."""
        from ragpipe.ingest.runner import IngestRunner
        from ragpipe.ingest.targets import ingest_targets

        targets = ingest_targets(self.config, paths, id_prefix)
        state, damage = self._published_or_damage()
        try:
            stages = ingest_stages(self.config, self.settings, self.models)
            plan = IngestRunner(self.config, stages, state.catalog if state is not None else None).plan(targets)
        finally:
            if state is not None:
                self._live.release(state)
        plan.damaged = str(damage) if damage is not None else None
        return plan

    def query(
        self,
        text: str,
        filters: Mapping[str, Any] | str | FilterExpr | None = None,
        top_k: int | None = None,
        mode: str | None = None,
        answer: bool = True,
        full_ranking: bool = False,
    ) -> QueryResult:
        """Retrieve, rerank and (unless ``answer=False``) answer. ``filters`` use :mod:`ragpipe.filters`
        syntax and are ANDed with the config's ``retrieval.filters``; ``mode`` is hybrid, dense or lexical.
        ``full_ranking`` also returns every fused candidate in ``QueryResult.ranking``."""
        from ragpipe.retrieval.request import query_request
        from ragpipe.retrieval.search import run_query

        state = self._acquire()
        try:
            stages = self._query_stages(state.config)
            request = query_request(stages.config.retrieval, text, filters, top_k, mode, answer, full_ranking)
            return run_query(stages, state, request)
        finally:
            self._live.release(state)

    def close(self) -> None:
        """Release the index files (after in-flight queries finish); the object stays usable."""
        with self._ingest_lock:
            self._live.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ generations

    def _published_or_damage(self) -> tuple[IndexState | None, IndexDamagedError | None]:
        """This config's published generation (held: release it), or the damage that keeps it from opening."""
        try:
            state = self._acquire(strict=True)
        except IndexDamagedError as exc:
            return None, exc
        if state.generation is None:
            self._live.release(state)
            return None, None
        return state, None

    def _acquire(self, strict: bool = False) -> IndexState:
        """The state of the newest published generation, switched to if it changed; hold it until released.
        ``strict``: this config's own index, never a previous config's."""
        own = generations.current(self.index_dir)
        root, generation = self.index_dir, own
        served = self._live.current_root()
        if own is None and self.serve_previous_index and not strict and served != self.index_dir:
            previous = self._previous_index()
            if previous is not None:
                root, generation = previous
        private = strict and served is not None and served != self.index_dir
        return self._live.acquire(root, generation, private=private)

    def _previous_index(self) -> tuple[Path, str] | None:
        previous = generations.newest_published(self.index_dir.parent)
        if previous is None or self._config_of(previous[0]) is None:
            return None
        return previous

    def _open_state(self, root: Path, generation: str | None) -> IndexState:
        config = self._config_of(root) or self.config
        if generation is None:
            return IndexState.empty(config, root)
        return IndexState.open(config, self.settings, root, generation)

    def _config_of(self, root: Path) -> PipelineConfig | None:
        """The config that built the index at ``root``: this config, or this config with the index-defining
        sections of that index (None when its description does not reproduce its folder). Cached: a
        folder's name is the fingerprint of what defines it, so its description never changes."""
        if root == self.index_dir:
            return self.config
        with self._stages_lock:
            if root in self._configs:
                return self._configs[root]
        description = generations.read_description(root) or {}
        data = self.config.model_dump(mode="json")
        data.update(description.get("config", {}))
        try:
            config: PipelineConfig | None = load_config(data, base_dir=self.config.base_dir)
        except ConfigError:
            config = None
        if config is not None and config.index_dir(self.settings.data_dir) != root:
            config = None
        with self._stages_lock:
            self._configs[root] = config
        return config

    def _query_stages(self, config: PipelineConfig) -> QueryStages:
        key = config.index_dir(self.settings.data_dir)
        with self._stages_lock:
            if key not in self._stages:
                self._stages[key] = query_stages(config, self.settings, self.models)
            return self._stages[key]

    def _exact_search_note(self, report: IngestReport) -> FileFailure | None:
        """A note when the new generation's dense search runs exactly because a chunk text repeats (the
        store decides from the count the generation recorded; nothing is opened)."""
        repeats, doc_id = report.most_repeated
        if doc_id is None or repeats <= 1:
            return None
        location = IndexLocation(folder=self.index_dir, root=self.index_dir, writable=False, max_text_repeats=repeats)
        store, _ = index_stages(self.config, self.settings, location)
        reason = store.exact_search_reason()
        return FileFailure(doc_id, reason) if reason is not None else None
