"""What one ingest walks, which ids its files get, and which indexed documents it may delete.

- Without paths: the config's sources. Every indexed document no longer found is deleted (except under a
  folder that could not be listed this run).
- With paths (``ragpipe ingest docs/ a.md``): configured sources win. A path inside a configured source's
  folder is walked by that source (its globs, ids and metadata); a path that holds source folders walks
  those sources; a file named explicitly that no source takes gets its path relative to that folder. Any
  other path is a source of its own (ids relative to it, ``id_prefix`` prepended). Indexed documents read
  from under those paths that are gone are deleted — only those. An id that the index holds for a file at
  another path is refused (it would replace that document), naming both files. A later ingest of the
  configured sources makes the index equal to them again: documents ingested from paths outside every
  source are then deleted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ragpipe.config.models import PipelineConfig, SourceConfig
from ragpipe.errors import ConfigError
from ragpipe.ingest.sources import FoundFile, SkippedPath, discover, inside, resolve_source_path
from ragpipe.types import FileFailure


@dataclass
class Walk:
    """What discovery found besides files: failures/skips (for the report) and folders it could not list."""

    failures: list[FileFailure] = field(default_factory=list)
    skipped: list[FileFailure] = field(default_factory=list)
    unlisted_prefixes: list[str] = field(default_factory=list)
    """Id prefixes of folders that could not be listed: their documents are kept, not deleted."""

    def on_skip(self, id_prefix: str) -> Callable[[SkippedPath], None]:
        def record(skipped: SkippedPath) -> None:
            (self.failures if skipped.failed else self.skipped).append(FileFailure(str(skipped.path), skipped.reason))
            if skipped.failed:
                self.unlisted_prefixes.append(f"{id_prefix}{skipped.rel}/")

        return record


@dataclass(frozen=True)
class Targets:
    """The files of one ingest (an iterator: walked once) and the scope of its deletions."""

    explicit: tuple[Path, ...]
    """The paths given on the command line (absolute); empty for an ingest of the configured sources."""
    base_dir: Path
    """What the configured sources' relative paths resolve against (the config file's folder)."""
    sources: tuple[SourceConfig, ...]
    """The configured sources."""
    id_prefix: str = ""
    """Prepended to the ids of explicit paths outside every configured source."""

    def files(self, walk: Walk) -> Iterator[FoundFile]:
        if not self.explicit:
            for source in self.sources:
                yield from _prefixed(discover(source, self.base_dir, walk.on_skip(source.id_prefix)), source)
            return
        for path in self.explicit:
            yield from self._explicit_files(path, walk)

    def _explicit_files(self, path: Path, walk: Walk) -> Iterator[FoundFile]:
        """The files of one explicit path. Configured sources win: a path inside a source's folder is walked
        by that source (its globs, ids and metadata), a path holding source folders walks those sources;
        only a file named explicitly that no source takes gets an id of its own. Any other path is a source
        of its own (ids relative to it, with ``id_prefix``)."""
        roots = {id(s): _folder_root(s, self.base_dir) for s in self.sources}
        owners = [s for s in self.sources if roots[id(s)] is not None and inside(path, roots[id(s)])]
        held = [s for s in self.sources if roots[id(s)] is not None and inside(roots[id(s)], path) and s not in owners]
        if not owners and not held:
            adhoc = SourceConfig(path=str(path), id_prefix=self.id_prefix)
            yield from _prefixed(discover(adhoc, self.base_dir, walk.on_skip(self.id_prefix)), adhoc)
            return
        claimed: set[Path] = set()
        walks = [(s, path) for s in owners] + [(s, None) for s in held]
        for source, under in walks:
            for found in _prefixed(discover(source, self.base_dir, walk.on_skip(source.id_prefix), under), source):
                if normalized(found.path) not in claimed:
                    claimed.add(normalized(found.path))
                    yield found
        if path.is_file() and path not in claimed:
            root = roots[id(owners[0])] if owners else path.parent
            assert root is not None
            doc_id = self.id_prefix + path.relative_to(root).as_posix()
            yield FoundFile(path=path, doc_id=doc_id, root=root)

    def may_delete(self, doc_id: str, source: str, walk: Walk) -> bool:
        """Whether an indexed document that this ingest did not find is gone (and so deleted)."""
        if any(doc_id.startswith(prefix) for prefix in walk.unlisted_prefixes):
            return False
        if not self.explicit:
            return True
        return bool(source) and any(inside(normalized(source), path) for path in self.explicit)


def ingest_targets(config: PipelineConfig, paths: Sequence[str | Path] | None, id_prefix: str = "") -> Targets:
    """The targets of an ingest of ``paths`` (relative to the working directory), or of the config's sources."""
    if not paths:
        return Targets((), config.base_dir, tuple(config.sources), id_prefix)
    resolved = tuple(normalized(Path(p).expanduser()) for p in paths)
    for path in resolved:
        resolve_source_path(SourceConfig(path=str(path)), Path.cwd())  # a missing path fails now, by name
    return Targets(resolved, config.base_dir, tuple(config.sources), id_prefix)


def _folder_root(source: SourceConfig, base_dir: Path) -> Path | None:
    """The normalized folder of a configured folder source (None for a single-file or missing source)."""
    try:
        root = resolve_source_path(source, base_dir)
    except ConfigError:  # a configured source that does not exist holds nothing
        return None
    return normalized(root) if root.is_dir() else None


def normalized(path: str | Path) -> Path:
    """``path`` made absolute with ``..`` folded (symlinks are not resolved)."""
    return Path(os.path.abspath(path))


def _prefixed(found: Iterator[FoundFile], source: SourceConfig) -> Iterator[FoundFile]:
    for item in found:
        yield replace(item, doc_id=source.id_prefix + item.doc_id) if source.id_prefix else item
