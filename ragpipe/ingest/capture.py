"""Keep what libraries print while a document is parsed off the terminal: into the ingest report and the log.

pypdf, unstructured and friends report problems through :mod:`logging` (which, with no handler configured,
prints WARNING records raw to stderr) and :mod:`warnings`. While a document is parsed, both are collected
for the parsing thread only — a root-logger handler and a ``warnings.showwarning`` hook, installed once per
process, route each record to the collector of the thread that emitted it, and leave every other thread's
records and warnings alone. The ingest attaches what it collected to that document in its report and logs
it to the ``ragpipe.ingest`` logger (``ragpipe`` commands write it to ``<data_dir>/logs/ragpipe.log``).
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

LOG = logging.getLogger("ragpipe.ingest")

_local = threading.local()
_install_lock = threading.Lock()
_installed = False
_original_showwarning: Callable[..., Any] | None = None


def _collector() -> list[str] | None:
    return getattr(_local, "messages", None)


class _ThreadRouter(logging.Handler):
    """Adds WARNING+ records of libraries to the collector of the emitting thread, if it has one. Any other
    record is left as it would be without this handler: when the root logger has no handler of its own, it
    goes to ``logging.lastResort`` (stderr), as before ragpipe was imported."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("ragpipe"):
            return  # ragpipe's own records: its NullHandler already keeps them off the terminal
        messages = _collector()
        if messages is not None:
            messages.append(f"{record.name}: {record.getMessage()}")
            return
        others = [h for h in logging.getLogger().handlers if h is not self]
        if not others and logging.lastResort is not None and record.levelno >= logging.lastResort.level:
            logging.lastResort.handle(record)


def _showwarning(message: Any, category: type[Warning], filename: str, lineno: int, *rest: Any) -> None:
    messages = _collector()
    if messages is not None:
        messages.append(f"{category.__name__}: {message}")
    elif _original_showwarning is not None:
        _original_showwarning(message, category, filename, lineno, *rest)


def _install() -> None:
    global _installed, _original_showwarning
    with _install_lock:
        if _installed:
            return
        logging.getLogger().addHandler(_ThreadRouter())
        _original_showwarning = warnings.showwarning
        warnings.showwarning = _showwarning
        _installed = True


@contextmanager
def library_messages(where: str) -> Iterator[list[str]]:
    """Collect the warnings libraries log or warn in this thread inside the block into the yielded list
    (deduplicated, in order), and log each to ``ragpipe.ingest`` for ``where`` once the block ends."""
    _install()
    collected: list[str] = []
    messages: list[str] = []
    previous = _collector()
    _local.messages = collected
    try:
        yield messages
    finally:
        _local.messages = previous
        messages.extend(dict.fromkeys(collected))
        for message in messages:
            LOG.warning("%s: %s", where, message)
