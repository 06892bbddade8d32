"""ragpipe: configurable, offline-first RAG pipelines with a built-in evaluation loop.

Importing ragpipe is light (no torch, no model loads); heavy libraries load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ragpipe._offline import apply_offline_defaults

apply_offline_defaults()

__version__ = "0.1.0"
__all__ = ["Pipeline", "__version__"]

if TYPE_CHECKING:
    from ragpipe.pipeline import Pipeline


def __getattr__(name: str) -> Any:
    if name == "Pipeline":
        from ragpipe.pipeline import Pipeline

        return Pipeline
    raise AttributeError(f"module 'ragpipe' has no attribute {name!r}")
