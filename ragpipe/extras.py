"""Optional dependency groups ("extras") and the error a configured stage raises when its group is missing.

``pip install ragpipe`` installs the core: config, ingest of text/Markdown/PDF, the ONNX embedder (running a
ready-made or already exported model), Qdrant stores, BM25, fusion and extractive answers. The extras add:

- ``ragpipe[torch]``: torch, sentence-transformers and onnx (the sentence-transformers embedder, the
  cross-encoder reranker, exporting a model to ONNX — `ragpipe doctor` exports the bundled one);
- ``ragpipe[docs]``: unstructured (HTML and Word parsing);
- ``ragpipe[eval]``: ragas and the answer-metric libraries (rouge-score, sacrebleu), matplotlib for reports;
- ``ragpipe[all]``: all of them (what ``scripts/setup.sh`` installs).
"""

from __future__ import annotations

import importlib.util

from ragpipe.errors import MissingDependencyError

EXTRAS = {
    "torch": ("torch", "sentence_transformers", "onnx", "transformers"),
    "docs": ("unstructured",),
    "eval": ("ragas", "rouge_score", "sacrebleu", "matplotlib"),
}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None in sys.modules
        return False


def require(module: str, extra: str, what: str) -> None:
    """Raise MissingDependencyError naming the extra when ``module`` (needed by ``what``) is not installed."""
    if not installed(module):
        raise MissingDependencyError(
            f"{what} needs the Python package {module!r}, which is not installed; install it with "
            f"`pip install 'ragpipe[{extra}]'`"
        )
