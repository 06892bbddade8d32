"""Progress display: rich bars on an interactive terminal, silent otherwise (CI, pipes, tests)."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any


def progress_enabled(requested: bool | None = None) -> bool:
    """Explicit request wins; otherwise only when stderr is a TTY and not under CI."""
    if requested is not None:
        return requested
    return sys.stderr.isatty() and not os.environ.get("CI")


class Progress(AbstractContextManager["Progress"]):
    """A thin wrapper over ``rich.progress.Progress`` that does nothing when disabled."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = progress_enabled(enabled)
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._bar.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.__exit__(exc_type, exc, tb)
            self._bar = None

    def start(self, name: str, total: int | None = None) -> None:
        if self._bar is not None:
            self._tasks[name] = self._bar.add_task(name, total=total)

    def advance(self, name: str, amount: int = 1, total: int | None = None) -> None:
        if self._bar is not None and name in self._tasks:
            self._bar.update(self._tasks[name], advance=amount, total=total)
