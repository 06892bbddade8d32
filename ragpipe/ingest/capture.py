"""Keep what libraries print while a document is parsed off the terminal: into the ingest report and the log.

pypdf, unstructured and friends report problems through :mod:`logging` (which, with no handler configured,
prints WARNING records raw to stderr) and :mod:`warnings`. While a document is parsed both are collected
here; the ingest attaches them to that document in its report and logs them to the ``ragpipe.ingest``
logger (``ragpipe`` commands write it to ``<data_dir>/logs/ragpipe.log``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

LOG = logging.getLogger("ragpipe.ingest")


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("ragpipe"):
            self.messages.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def library_messages(where: str) -> Iterator[list[str]]:
    """Collect the warnings libraries log or warn inside the block into the yielded list (deduplicated, in
    order), and log each to ``ragpipe.ingest`` for ``where`` once the block ends."""
    collector = _Collector()
    root = logging.getLogger()
    root.addHandler(collector)
    messages: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
    finally:
        root.removeHandler(collector)
        found = collector.messages + [f"{w.category.__name__}: {w.message}" for w in caught]
        messages.extend(dict.fromkeys(found))
        for message in messages:
            LOG.warning("%s: %s", where, message)
