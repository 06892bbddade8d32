"""The Python API: ``Pipeline.from_config(...)``, ``.ingest(...)``, ``.query(...)``."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

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

    Thread-safe: queries may run from several threads at once; an ingest excludes queries of the
    same Pipeline object while it writes. Use as a context manager (or call :meth:`close`) to
    release the index files.
    """

    def __init__(self, config: PipelineConfigBase, settings: RuntimeSettings | None = None) -> None:
        self.config = config
        self.settings = settings or RuntimeSettings()
        self._components: Components | None = None
        self._build_lock = threading.Lock()
        self._rw = _ReadWriteLock()

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
    def components(self) -> Components:
        if self._components is None:
            with self._build_lock:
                if self._components is None:
                    self._components = build_components(self.config, self.settings)
        return self._components

    @property
    def index_dir(self) -> Path:
        return self.config.index_dir(self.settings.data_dir)

    def ingest(self, paths: Sequence[str | Path] | None = None, progress: bool | None = None) -> IngestReport:
        """Index ``paths`` (files or folders) or, by default, the config's sources."""
        from ragpipe.ingest.runner import IngestRunner

        with self._rw.writing():
            return IngestRunner(self.config, self.components).run(paths, progress)

    def plan(self, paths: Sequence[str | Path] | None = None) -> IngestPlan:
        """A dry run of :meth:`ingest`: which documents would be added, updated and deleted."""
        from ragpipe.ingest.runner import IngestRunner

        with self._rw.reading():
            return IngestRunner(self.config, self.components).plan(paths)

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

        with self._rw.reading():
            return Searcher(self.config, self.components).search(text, filters, top_k, mode, answer)

    def close(self) -> None:
        with self._rw.writing():
            if self._components is not None:
                self._components.store.close()
                self._components.catalog.close()
                self._components = None

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _ReadWriteLock:
    """Many concurrent readers (queries) or one writer (ingest/close)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    def reading(self) -> _Guard:
        return _Guard(self._acquire_read, self._release_read)

    def writing(self) -> _Guard:
        return _Guard(self._acquire_write, self._release_write)

    def _acquire_read(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1

    def _release_read(self) -> None:
        with self._cond:
            self._readers -= 1
            self._cond.notify_all()

    def _acquire_write(self) -> None:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True

    def _release_write(self) -> None:
        with self._cond:
            self._writing = False
            self._cond.notify_all()


class _Guard:
    def __init__(self, acquire: Any, release: Any) -> None:
        self._acquire, self._release = acquire, release

    def __enter__(self) -> None:
        self._acquire()

    def __exit__(self, *exc: object) -> None:
        self._release()
