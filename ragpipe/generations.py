"""Index generations: an ingest that changes anything builds a new generation and publishes it atomically.

Layout of an index folder (``<data_dir>/<name>/<fingerprint>``)::

    CURRENT             name of the published generation (replaced atomically)
    INDEX.json          the configuration sections that define this index (chunking, embedding, ...)
    generations/<gen>/  catalog.sqlite plus the store's and the lexical engine's files; never written
                        once published. READERS is share-locked by every process that has it open.
    work/               the generation being built; BASE names the generation it was copied from
    ingest.lock         held by the one ingest allowed at a time

A generation holds everything an index is made of (catalog, vector store, lexical index), so one atomic
switch of CURRENT publishes all of them together. Queries (in this process or others) open the published
generation once and check CURRENT before each query, so they see the old or the new state of every
document, never a mix. Writers only ever open ``work/``, so Qdrant Edge's one-process-per-shard lock is
never contended by an ingest. A crashed ingest leaves ``work/`` behind; the next ingest resumes it if it
starts from the same base generation, and discards it otherwise. CURRENT may only name a folder under
``generations/``: anything else (``../../etc``) is a damaged index, never a path to follow.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from ragpipe.errors import IndexDamagedError, RagpipeError

CURRENT = "CURRENT"
DESCRIPTION = "INDEX.json"
GENERATIONS = "generations"
WORK = "work"
BASE = "BASE"
READERS = "READERS"
INGEST_LOCK = "ingest.lock"
CATALOG = "catalog.sqlite"
_SKIP_ON_COPY = {READERS, BASE, f"{CATALOG}-wal", f"{CATALOG}-shm", f"{CATALOG}-journal", ".lock"}
GENERATION_NAME = re.compile(r"^[0-9]{20}-[0-9a-f]{8}$")


def current(index_root: Path) -> str | None:
    """The published generation's name, or None before the first complete ingest.

    Raises :class:`IndexDamagedError` when CURRENT holds anything but the name of a generation folder that
    exists (a path such as ``../../etc`` is never followed)."""
    pointer = index_root / CURRENT
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexDamagedError(str(pointer), f"unreadable ({exc.strerror or exc})") from None
    name = raw.decode("utf-8", errors="replace").strip()
    if not GENERATION_NAME.match(name):
        raise IndexDamagedError(str(pointer), f"holds {name[:80]!r}, which is not a generation name")
    if not generation_dir(index_root, name).is_dir():
        raise IndexDamagedError(str(pointer), f"names generation {name}, but {GENERATIONS}/{name} does not exist")
    return name


def current_or_damaged(index_root: Path) -> tuple[str | None, IndexDamagedError | None]:
    """:func:`current`, with a damaged pointer returned as the error instead of raised."""
    try:
        return current(index_root), None
    except IndexDamagedError as exc:
        return None, exc


def write_description(index_root: Path, description: dict[str, Any]) -> None:
    """Record (atomically) what defines this index, so a query can serve it under another config."""
    target = index_root / DESCRIPTION
    staging = index_root / f".{DESCRIPTION}.{secrets.token_hex(4)}"
    staging.write_text(json.dumps(description, indent=2, sort_keys=True), encoding="utf-8")
    fsync_path(staging)
    os.replace(staging, target)


def read_description(index_root: Path) -> dict[str, Any] | None:
    """The recorded description of an index, or None when it is missing or not a JSON object."""
    try:
        data = json.loads((index_root / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("config", {}), dict) else None


def newest_published(name_dir: Path) -> tuple[Path, str] | None:
    """The index folder under ``name_dir`` (one per fingerprint) that published last, and its generation."""
    best: tuple[str, Path] | None = None
    for root in name_dir.iterdir() if name_dir.is_dir() else ():
        generation = current_or_damaged(root)[0] if root.is_dir() else None
        if generation is not None and (root / DESCRIPTION).is_file() and (best is None or generation > best[0]):
            best = (generation, root)
    return (best[1], best[0]) if best else None


def generation_dir(index_root: Path, generation: str) -> Path:
    return index_root / GENERATIONS / generation


def work_dir(index_root: Path) -> Path:
    return index_root / WORK


class IngestLock:
    """Exclusive, process-wide lock on one index folder for the duration of an ingest."""

    def __init__(self, index_root: Path) -> None:
        self.path = index_root / INGEST_LOCK
        self._fd: int | None = None

    def __enter__(self) -> IngestLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise RagpipeError(
                f"another ingest (pid {holder}) is writing the index {self.path.parent}; wait for it to finish "
                "(queries keep working meanwhile)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


class ReaderLease:
    """A shared lock on a published generation: while held, pruning leaves that generation alone.

    On a read-only data dir nothing can prune, so no lock is needed (and none can be created)."""

    def __init__(self, folder: Path) -> None:
        self._fd: int | None = None
        try:
            self._fd = os.open(folder / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            try:
                self._fd = os.open(folder / READERS, os.O_RDONLY)
            except OSError:
                return
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def work_base(index_root: Path) -> str | None:
    """The base recorded by the work folder a crashed ingest left (``""``: it started empty), or None when
    there is no complete work folder."""
    try:
        return (work_dir(index_root) / BASE).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def resumable_work(index_root: Path, base: str | None) -> bool:
    """True if a crashed ingest left a work folder that started from ``base`` (None: from an empty index)."""
    recorded = work_base(index_root)
    return recorded is not None and recorded == (base or "")


def prepare_work(index_root: Path, base: str | None) -> tuple[Path, bool]:
    """The work folder for a new generation built on the published generation ``base`` (None: an empty
    index): resumed if a crashed ingest left one with the same base, else a fresh copy of ``base``.
    Returns ``(folder, resumed)``. Call with :class:`IngestLock` held."""
    work = work_dir(index_root)
    if resumable_work(index_root, base):
        return work, True
    if work.exists():
        shutil.rmtree(work)
    staging = index_root / f".{WORK}-{secrets.token_hex(4)}"
    staging.mkdir(parents=True)
    try:
        if base is not None:
            copy_generation(generation_dir(index_root, base), staging)
        (staging / BASE).write_text(base or "", encoding="utf-8")
        _fsync_tree(staging)
        os.rename(staging, work)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return work, False


def copy_generation(source: Path, target: Path) -> None:
    """Copy a published generation: SQLite through its backup API, other files byte for byte."""
    for entry in source.iterdir():
        if entry.name in _SKIP_ON_COPY:
            continue
        if entry.name == CATALOG:
            source_db = closing(sqlite3.connect(f"file:{entry}?mode=ro", uri=True))
            with source_db as src, closing(sqlite3.connect(target / CATALOG)) as dst:
                src.backup(dst)
        elif entry.is_dir():
            shutil.copytree(entry, target / entry.name, ignore=shutil.ignore_patterns(*_SKIP_ON_COPY))
        else:
            shutil.copy2(entry, target / entry.name)


def publish(index_root: Path, keep: int = 2) -> str:
    """Turn the (closed, flushed) work folder into the published generation, atomically; prune old ones.
    Call with :class:`IngestLock` held and every writer of the work folder closed."""
    work = work_dir(index_root)
    generation = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
    _fsync_tree(work)
    target = generation_dir(index_root, generation)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(work, target)  # before BASE goes: a crash in between leaves no work folder that lost its base
    (target / BASE).unlink(missing_ok=True)
    pointer = index_root / f".{CURRENT}.{generation}"
    pointer.write_text(generation, encoding="utf-8")
    fsync_path(pointer)
    os.replace(pointer, index_root / CURRENT)
    fsync_path(index_root)
    prune(index_root, keep)
    return generation


def prune(index_root: Path, keep: int = 2) -> list[str]:
    """Delete all but the ``keep`` newest generations, skipping any a reader still holds. Returns those deleted."""
    folder = index_root / GENERATIONS
    if not folder.is_dir():
        return []
    published = current_or_damaged(index_root)[0]
    names = sorted(p.name for p in folder.iterdir() if p.is_dir())
    deleted = []
    for name in names[:-keep] if keep else names:
        if name != published and _unused(folder / name):
            shutil.rmtree(folder / name, ignore_errors=True)
            deleted.append(name)
    return deleted


def _unused(folder: Path) -> bool:
    """True if no process holds a :class:`ReaderLease` on ``folder``."""
    try:
        fd = os.open(folder / READERS, os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def fsync_path(path: Path) -> None:
    """fsync a file or folder (a folder: so a rename or new entry in it is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for name in files:
            fsync_path(Path(folder) / name)
        fsync_path(Path(folder))
