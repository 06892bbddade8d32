"""The index generation a pipeline serves now: opened once, switched when a newer one is published, closed
when the last query using the old one is done.

Each query calls :meth:`LiveIndex.acquire` with the generation CURRENT names now; if that is the one open,
it is shared (reference-counted), otherwise it is opened and the previous one retired: closed once its
in-flight queries release it.
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
        """The state of ``generation`` of ``root``, held until :meth:`release`. ``private``: open a state of
        its own for this caller (not made current), e.g. while the pipeline serves another index."""
        with self._lock:
            held = self._current
            if private:
                held = _Held(self._open(root, generation))
                held.retired = True
            elif held is None or (held.state.root, held.state.generation) != (root, generation):
                fresh = _Held(self._open(root, generation))
                if held is not None:
                    self._retire(held)
                self._current = held = fresh
            held.refs += 1
            self._held[id(held.state)] = held
            return held.state

    def current_root(self) -> Path | None:
        """The index folder of the state served now (None before the first query)."""
        with self._lock:
            return self._current.state.root if self._current is not None else None

    def release(self, state: IndexState) -> None:
        with self._lock:
            held = self._held[id(state)]
            held.refs -= 1
            if held.refs == 0:
                del self._held[id(state)]
                if held.retired:
                    state.close()

    def close(self) -> None:
        """Retire the current state (closed now, or when its last query releases it)."""
        with self._lock:
            held, self._current = self._current, None
            if held is not None:
                self._retire(held)

    def _retire(self, held: _Held) -> None:
        held.retired = True
        if held.refs == 0:
            self._held.pop(id(held.state), None)
            held.state.close()
