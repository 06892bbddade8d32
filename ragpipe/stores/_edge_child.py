"""Qdrant Edge work done outside the calling process or shard folder.

- :func:`optimize_in_child`: ``EdgeShard.optimize()`` (the HNSW build) holds the GIL for its whole run, so it
  runs in a child process on the closed shard, and the parent's threads (queries) keep running.
- :func:`open_replica`: Qdrant Edge lets one process open a shard folder; a reader that finds the published
  generation held by another process opens a private copy instead (removed on close; copies left by dead
  processes are removed by the next reader).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from ragpipe.errors import RagpipeError

REPLICAS = "replicas"


def optimize_in_child(path: Path) -> None:
    """Optimize the (closed) shard at ``path`` in a child process that dies with this one."""
    cmd = [sys.executable, "-m", "ragpipe.stores._edge_child", str(path), str(os.getpid())]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RagpipeError(f"optimizing the qdrant-edge index at {path} failed: {' '.join(tail)}")


def open_replica(shard_path: Path, replicas_root: Path) -> tuple[Any, Path]:
    """Copy the shard at ``shard_path`` to a private folder under ``replicas_root`` and open it."""
    from qdrant_edge import EdgeShard

    remove_dead_replicas(replicas_root)
    replica = replicas_root / f"{os.getpid()}-{secrets.token_hex(4)}"
    replicas_root.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            # The process holding the shard writes temporary files into it while we copy: skip those.
            shutil.copytree(shard_path, replica, ignore=shutil.ignore_patterns(".atomicwrite*"))
            _make_writable(replica)  # the copy of a read-only shard must be writable: the engine opens it so
            break
        except (FileNotFoundError, shutil.Error):
            shutil.rmtree(replica, ignore_errors=True)
            if attempt == 2:
                raise
    try:
        return EdgeShard.load(str(replica)), replica
    except BaseException:
        shutil.rmtree(replica, ignore_errors=True)
        raise


def _make_writable(folder: Path) -> None:
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            os.chmod(os.path.join(root, name), 0o600)
    os.chmod(folder, 0o700)


def remove_dead_replicas(replicas_root: Path) -> None:
    if not replicas_root.is_dir():
        return
    for folder in replicas_root.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent(parent: int) -> None:
    """Linux: get SIGKILL when the parent dies, so a killed ingest never leaves an optimizer holding the shard."""
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit("parent process is gone")


def main() -> None:
    path, parent = sys.argv[1], int(sys.argv[2])
    _die_with_parent(parent)
    from qdrant_edge import EdgeShard

    shard = EdgeShard.load(path)
    try:
        shard.optimize()
        shard.flush()
    finally:
        shard.close()


if __name__ == "__main__":
    main()
