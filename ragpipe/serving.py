"""The index generation a pipeline serves now: opened once, switched when a newer one is published, closed
when the last query using the old one is done.

Each query calls :meth:`LiveIndex.acquire` with the generation CURRENT names now; if that is the one open,
it is shared (reference-counted). Otherwise it is opened — outside the lock, so queries on the open state
never wait for a slow open — and installed unless a newer one was installed meanwhile (generation names
sort by time, so a query that read CURRENT just before a switch never takes the index back to an older
generation); the replaced state is retired, and closed once its in-flight queries release it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ragpipe.index_state import IndexState

Opener = Callable[[Path, "str | None"], IndexState]


class _Held:
    def __init__(self, state: IndexState) -> None:
        self.state = state
        self.refs = 0
        self.retired = False


class LiveIndex:
    """Reference-counted :class:`IndexState` of one pipeline; thread-safe."""

    def __init__(self, opener: Opener) -> None:
        self._open = opener
        self._lock = threading.Lock()
        self._current: _Held | None = None
        self._held: dict[int, _Held] = {}

    def acquire(self, root: Path, generation: str | None, private: bool = False) -> IndexState:
        """The state of ``generation`` of ``root`` (or of a newer generation already installed), held until
        :meth:`release`. ``private``: a state of its own for this caller, never installed (e.g. while the
        pipeline serves another index)."""
        if not private:
            with self._lock:
                held = self._current
                if held is not None and self._serves(held.state, root, generation):
                    return self._hold(held).state
        fresh = _Held(self._open(root, generation))  # slow: shard, lexical index, catalog facts
        with self._lock:
            if private:
                fresh.retired = True
                return self._hold(fresh).state
            held = self._current
            if held is not None and self._serves(held.state, root, generation):
                self._hold(held)  # another query installed it (or a newer one) meanwhile
                obsolete: IndexState | None = fresh.state
            else:
                obsolete = self._retire(held) if held is not None else None
                self._current = held = fresh
                self._hold(held)
        if obsolete is not None:
            obsolete.close()
        return held.state

    @staticmethod
    def _serves(state: IndexState, root: Path, generation: str | None) -> bool:
        """Whether the installed ``state`` answers a request for ``generation`` of ``root``: it is that
        generation, or a later one of the same index."""
        return state.root == root and (state.generation or "") >= (generation or "")

    def _hold(self, held: _Held) -> _Held:
        """Count one more user (call with the lock held)."""
        held.refs += 1
        self._held[id(held.state)] = held
        return held

    def current_root(self) -> Path | None:
        """The index folder of the state served now (None before the first query)."""
        with self._lock:
            return self._current.state.root if self._current is not None else None

    def release(self, state: IndexState) -> None:
        closing = None
        with self._lock:
            held = self._held[id(state)]
            held.refs -= 1
            if held.refs == 0:
                del self._held[id(state)]
                if held.retired:
                    closing = state
        if closing is not None:
            closing.close()

    def close(self) -> None:
        """Retire the current state (closed now, or when its last query releases it)."""
        closing = None
        with self._lock:
            held, self._current = self._current, None
            if held is not None:
                closing = self._retire(held)
        if closing is not None:
            closing.close()

    def _retire(self, held: _Held) -> IndexState | None:
        """Mark ``held`` retired; return its state if nobody uses it (the caller closes it outside the lock)."""
        held.retired = True
        if held.refs == 0:
            self._held.pop(id(held.state), None)
            return held.state
        return None
