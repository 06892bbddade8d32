"""File discovery: walk a source (directory or single file) deterministically, apply globs.

Glob semantics (matched against the POSIX path relative to the source root):
``*`` and ``?`` stay within one path segment, ``**`` as a whole segment spans any number of
segments (``**/*.md`` also matches ``a.md`` at the root), ``[abc]`` / ``[!abc]`` are character
classes. As in a shell, wildcards in include patterns do not match a segment's leading ``.``:
hidden files and folders are skipped unless an include pattern names them (``.github/**``,
``**/.env``). Exclude wildcards do match hidden names. A directory matched by an exclude pattern
(``build``, ``build/**``, ``**/node_modules``) is not descended into.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragpipe.config.models import SourceConfig
from ragpipe.errors import ConfigError


@dataclass(frozen=True)
class FoundFile:
    """A file to ingest: its path, stable document id, the source root and the source's metadata."""

    path: Path
    doc_id: str
    root: Path
    metadata: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class SkippedPath:
    """A folder discovery did not walk, with the reason. ``failed``: an error (an unreadable folder,
    whose files are unknown this run) rather than a deliberate skip (a symlink loop, a second link)."""

    path: Path
    rel: str
    reason: str
    failed: bool


OnSkip = Callable[[SkippedPath], None]


def _class_end(segment: str, start: int) -> int:
    """Index of the ``]`` closing the character class opened at ``start``, or -1."""
    i = start + 1
    if segment[i : i + 1] in ("!", "^"):
        i += 1
    if segment[i : i + 1] == "]":
        i += 1  # a leading ']' is a literal member
    return segment.find("]", i)


def _segment_regex(segment: str, *, match_hidden: bool) -> str:
    """Regex for one path segment without ``**``."""
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := _class_end(segment, i)) > 0:
            body = segment[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append(
                ("[^/" if negate else "[") + body.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]") + "]"
            )
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    regex = "".join(out)
    if not match_hidden and segment[:1] in ("*", "?", "["):
        regex = r"(?!\.)" + regex
    return regex


def glob_to_regex(pattern: str, *, match_hidden: bool = False) -> re.Pattern[str]:
    """Compile a glob (see the module docstring) to a regex that must match the whole path."""
    cleaned = pattern.strip()
    while cleaned.startswith("./"):
        cleaned = cleaned[2:]
    cleaned = cleaned.strip("/")
    if not cleaned:
        raise ConfigError(f"empty glob pattern {pattern!r}; use '**/*' to match every file")
    any_segment = "[^/]+" if match_hidden else r"(?!\.)[^/]+"
    segments = cleaned.split("/")
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(f"{any_segment}(?:/{any_segment})*" if last else f"(?:{any_segment}/)*")
        else:
            parts.append(_segment_regex(segment, match_hidden=match_hidden) + ("" if last else "/"))
    try:
        return re.compile("".join(parts))
    except re.error as exc:
        raise ConfigError(f"invalid glob pattern {pattern!r}: {exc}") from None


def _names_hidden(patterns: Sequence[str]) -> bool:
    return any(seg.startswith(".") and seg not in (".", "..") for p in patterns for seg in p.strip().split("/"))


class _Matcher:
    """Include/exclude decisions for relative POSIX paths of one source."""

    def __init__(self, source: SourceConfig) -> None:
        self.include = [glob_to_regex(p) for p in source.include]
        self.exclude = [glob_to_regex(p, match_hidden=True) for p in source.exclude]
        self.exclude_dirs = [glob_to_regex(p[:-3], match_hidden=True) for p in source.exclude if p.endswith("/**")]
        self.descend_hidden = _names_hidden(source.include)

    def wants_file(self, rel: str) -> bool:
        return any(r.fullmatch(rel) for r in self.include) and not any(r.fullmatch(rel) for r in self.exclude)

    def wants_dir(self, rel: str, name: str) -> bool:
        if name.startswith(".") and not self.descend_hidden:
            return False
        return not any(r.fullmatch(rel) for r in (*self.exclude, *self.exclude_dirs))


def resolve_source_path(source: SourceConfig, base_dir: Path) -> Path:
    """The absolute source path (relative paths resolve against ``base_dir``); ConfigError if missing."""
    path = Path(source.path).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise ConfigError(
            f"source path {source.path!r} does not exist (resolved to {path}); "
            "relative source paths are resolved against the config file's folder"
        )
    return path


def discover(
    source: SourceConfig, base_dir: Path, on_skip: OnSkip | None = None, under: Path | None = None
) -> Iterator[FoundFile]:
    """Every file of ``source`` to ingest, in sorted (deterministic) order; with ``under`` (a folder or file
    inside the source folder), only those at or below it, with the ids the whole source gives them.

    A single-file source yields that file (doc id: its file name) whatever the globs say.
    Directory symlinks are followed, but each real directory is visited once, so loops end. A symlink whose
    target lies outside the source folder is skipped with its reason unless
    ``source.follow_external_symlinks`` (it could publish any file the process can read).
    Broken symlinks are yielded so the loader reports them instead of silently dropping them.
    Folders not walked (symlink loops, second links to a folder, unreadable sub-folders) go to
    ``on_skip``; without it an unreadable sub-folder raises :class:`ConfigError`. An unreadable
    source root always raises.
    """
    root = resolve_source_path(source, base_dir)
    metadata = dict(source.metadata)
    if not root.is_dir():
        yield FoundFile(path=root, doc_id=root.name, root=root.parent, metadata=metadata)
        return
    matcher = _Matcher(source)
    visited = {os.path.realpath(root)}
    walker = _Walker(root, matcher, visited, metadata, on_skip, source.follow_external_symlinks)
    rel = Path(os.path.relpath(under, os.path.abspath(root))).as_posix() if under is not None else "."
    if rel == ".":
        yield from walker.walk(root, "")
        return
    if rel.startswith("../"):
        raise ConfigError(f"{under} is not inside the source folder {root}")
    under = root / rel
    if under.is_dir():
        parts = rel.split("/")
        if all(matcher.wants_dir("/".join(parts[: i + 1]), part) for i, part in enumerate(parts)):
            visited.add(os.path.realpath(under))
            yield from walker.walk(under, rel + "/")
    elif matcher.wants_file(rel):
        yield FoundFile(path=under, doc_id=rel, root=root, metadata=dict(metadata))


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies below it (both absolute)."""
    return path == folder or folder in path.parents


def _special_kind(path: Path) -> str:
    import stat

    try:
        mode = path.stat().st_mode
    except OSError:
        return "special file"
    for test, kind in ((stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device")):
        if test(mode):
            return kind
    return "block device" if stat.S_ISBLK(mode) else "special file"


class _Walker:
    def __init__(
        self,
        root: Path,
        matcher: _Matcher,
        visited: set[str],
        metadata: dict[str, Any],
        on_skip: OnSkip | None,
        follow_external: bool,
    ) -> None:
        self.root, self.matcher, self.visited, self.metadata, self.on_skip = root, matcher, visited, metadata, on_skip
        self.follow_external = follow_external
        self.real_root = os.path.realpath(root)

    def walk(self, directory: Path, prefix: str) -> Iterator[FoundFile]:
        try:
            with os.scandir(directory) as scan:
                entries = sorted(scan, key=lambda e: e.name)
        except OSError as exc:
            message = (
                f"cannot list directory {directory}: {exc.strerror or exc}; "
                f"exclude it with an exclude pattern such as {(prefix.rstrip('/') or '.') + '/**'!r}"
            )
            if self.on_skip is None or not prefix:
                raise ConfigError(message) from None
            self.on_skip(SkippedPath(directory, prefix.rstrip("/"), message, failed=True))
            return
        for entry in entries:
            yield from self._entry(entry, prefix)

    def _external_link(self, entry: os.DirEntry[str], path: Path, rel: str) -> bool:
        """True (and reported) for a symlink that leads outside the source folder, when that is not allowed."""
        if self.follow_external or not entry.is_symlink() or not path.exists():
            return False
        real = os.path.realpath(path)
        if real == self.real_root or real.startswith(self.real_root + os.sep):
            return False
        wanted = self.matcher.wants_dir(rel, entry.name) if path.is_dir() else self.matcher.wants_file(rel)
        if wanted and self.on_skip is not None:
            reason = (
                f"symlink to {real}, outside the source folder {self.root}: not followed; set "
                "follow_external_symlinks: true on the source to index what it points to"
            )
            self.on_skip(SkippedPath(path, rel, reason, failed=False))
        return True

    def _entry(self, entry: os.DirEntry[str], prefix: str) -> Iterator[FoundFile]:
        matcher = self.matcher
        rel = prefix + entry.name
        path = Path(entry.path)
        if self._external_link(entry, path, rel):
            return
        if entry.is_dir(follow_symlinks=True):
            if not matcher.wants_dir(rel, entry.name):
                return
            real = os.path.realpath(path)
            if real in self.visited:
                self._skip_repeat(path, rel, real)
                return
            self.visited.add(real)
            yield from self.walk(path, rel + "/")
        elif (entry.is_file(follow_symlinks=True) or (entry.is_symlink() and not path.exists())) and matcher.wants_file(
            rel
        ):
            yield FoundFile(path=path, doc_id=rel, root=self.root, metadata=dict(self.metadata))
        elif not entry.is_file(follow_symlinks=True) and matcher.wants_file(rel) and self.on_skip is not None:
            kind = _special_kind(path)
            self.on_skip(SkippedPath(path, rel, f"not a regular file ({kind}): nothing to read", failed=False))

    def _skip_repeat(self, path: Path, rel: str, real: str) -> None:
        """A symlink loop or a second link to a folder already walked: its files are indexed once."""
        if self.on_skip is None:
            return
        here = os.path.realpath(path.parent)
        kind = "symlink loop" if here == real or here.startswith(real + os.sep) else "second link to a folder"
        reason = f"{kind}: {path} leads to {real}, which is already walked; its files are indexed once"
        self.on_skip(SkippedPath(path, rel, reason, failed=False))
