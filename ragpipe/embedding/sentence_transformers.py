"""Dense embeddings with a sentence-transformers model loaded from a local folder.

This module shares its name with the library; it imports the library with an absolute
``import sentence_transformers`` inside functions only, so ``import ragpipe`` never pulls in torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from ragpipe.config.base import StageConfig
from ragpipe.context import BuildContext
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.models import BUNDLED_ALIASES, BUNDLED_PACKAGE, describe_missing, resolve_model
from ragpipe.registry import register

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")
CPU_BATCH_SIZE = 16
ACCELERATOR_BATCH_SIZE = 128


class SentenceTransformersConfig(StageConfig):
    """A sentence-transformers bi-encoder; nothing is ever downloaded."""

    type: Literal["sentence-transformers"] = "sentence-transformers"
    model: str = Field(default="bundled", min_length=1)
    """'bundled' (all-MiniLM-L6-v2), 'package:NAME', a local model folder, or a name in the offline HF cache."""
    batch_size: int | None = Field(default=None, ge=1, le=4096)
    """Texts per forward pass (the library sorts inputs by length first, so padding stays small). None: 16 on
    the CPU (on 2 cores 4-16 gave ~20% more texts/s than 64: smaller matrices stay in cache), 128 on a GPU."""
    normalize: bool = True
    """L2-normalise the output (the Embedder protocol expects unit vectors)."""
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps|xpu(:\d+)?)$")
    """Torch device: cpu, cuda, cuda:N, mps or xpu[:N]."""
    max_seq_length: int | None = Field(default=None, ge=8, le=8192)
    """Truncate inputs to this many tokens; None keeps the model's own limit (256 for the bundled model)."""
    query_prefix: str = ""
    """Prepended to every query (e.g. 'query: ' for e5 models)."""
    document_prefix: str = ""
    """Prepended to every document (e.g. 'passage: ' for e5 models)."""


def package_version(distribution: str) -> str:
    """Installed version of ``distribution``; ModelNotFoundError if it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        raise ModelNotFoundError(
            f"model package {distribution!r} is not installed; install it with `pip install {distribution}`"
        ) from None


def folder_fingerprint(path: Path) -> str:
    """Short hash of a model folder's config files plus the names, sizes and mtimes of its weight files."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        if file.suffix == ".json":
            digest.update(f"{rel}\0".encode() + file.read_bytes())
        elif file.suffix in WEIGHT_SUFFIXES:
            stat = file.stat()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:12]


def locate_cached_model(name: str) -> Path:
    """The offline Hugging Face cache snapshot folder of ``name``; raises ModelNotFoundError if absent."""
    from huggingface_hub import snapshot_download

    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except (OSError, ValueError):  # not in the local cache, or not a valid repo id: try the next form
            continue
    raise describe_missing(name, kind="embedding model")


def model_source(reference: str) -> tuple[Path, str]:
    """``(local folder, identity)`` for a config's ``model`` value; the identity names version or content."""
    ref = reference.strip()
    if ref.lower() in BUNDLED_ALIASES:
        dist = BUNDLED_PACKAGE.replace("_", "-")
        return Path(resolve_model(ref)), f"{dist}=={package_version(dist)}"
    if ref.startswith("package:"):
        dist = ref.removeprefix("package:")
        return Path(resolve_model(ref)), f"{dist}=={package_version(dist)}"
    resolved = resolve_model(ref)
    path = resolved if isinstance(resolved, Path) else locate_cached_model(resolved)
    return path, f"{path}#{folder_fingerprint(path)}"


@register("embedder", config=SentenceTransformersConfig)
class SentenceTransformersEmbedder:
    """Embedder over a local sentence-transformers model (lazy, thread-safe load)."""

    def __init__(self, config: SentenceTransformersConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        self._source: tuple[Path, str] | None = None

    def _resolve(self) -> tuple[Path, str]:
        if self._source is None:
            self._source = model_source(self.config.model)
        return self._source

    @property
    def model_id(self) -> str:
        cfg = self.config
        with self._lock:
            _, identity = self._resolve()
        options = {
            "normalize": cfg.normalize,
            "max_seq_length": cfg.max_seq_length,
            "document_prefix": cfg.document_prefix,
            "query_prefix": cfg.query_prefix,
        }
        return f"{identity}|{json.dumps(options, sort_keys=True, separators=(',', ':'))}"

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def _load(self) -> SentenceTransformer:
        import sentence_transformers
        import torch

        cfg = self.config
        path, _ = self._resolve()
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"embedding.device: {cfg.device!r} is not available on this machine; use 'cpu'")
        try:
            model = sentence_transformers.SentenceTransformer(str(path), device=cfg.device, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(
                f"embedding.model: {cfg.model!r} ({path}) is not a loadable sentence-transformers model: {exc}"
            ) from exc
        if cfg.max_seq_length is not None:
            limit = self._position_limit(model)
            if limit is not None and cfg.max_seq_length > limit:
                raise ConfigError(
                    f"embedding.max_seq_length: {cfg.max_seq_length} exceeds the model's limit of {limit} tokens"
                )
            model.max_seq_length = cfg.max_seq_length
        return model

    @staticmethod
    def _position_limit(model: SentenceTransformer) -> int | None:
        first: Any = model[0]
        config = getattr(getattr(first, "auto_model", None), "config", None)
        limit = getattr(config, "max_position_embeddings", None)
        return int(limit) if isinstance(limit, int) else None

    @property
    def batch_size(self) -> int:
        """Texts per forward pass (the configured value, else the default for the device)."""
        if self.config.batch_size is not None:
            return self.config.batch_size
        return CPU_BATCH_SIZE if self.config.device == "cpu" else ACCELERATOR_BATCH_SIZE

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        if dim is None:
            return int(self._encode(["dimension probe"], "").shape[1])
        return int(dim)

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        inputs = [prefix + t for t in texts] if prefix else list(texts)
        vectors = self.model.encode(
            inputs,
            batch_size=self.batch_size,
            show_progress_bar=False,
            convert_to_numpy=True,
            normalize_embeddings=self.config.normalize,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self._encode(texts, self.config.document_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dimension), dtype=np.float32)
        return self._encode(texts, self.config.query_prefix)
