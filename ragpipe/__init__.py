"""ragpipe: configurable, offline-first RAG pipelines with a built-in evaluation loop.

Importing ragpipe is light (no torch, no model loads) and changes nothing in the process: the offline
switches are applied where a model or an online-capable library is first loaded (see
:mod:`ragpipe.offline`). ragpipe logs to the ``ragpipe`` logger, which has a NullHandler: configure
logging to see its records (the ``ragpipe`` commands write them to ``<data_dir>/logs/ragpipe.log``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Pipeline", "__version__"]

logging.getLogger("ragpipe").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from ragpipe.pipeline import Pipeline


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from ragpipe.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'ragpipe' has no attribute {name!r}")
