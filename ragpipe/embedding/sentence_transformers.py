"""Dense embeddings with a sentence-transformers model loaded from a local folder (needs ``ragpipe[torch]``).

This module shares its name with the library; it imports the library with an absolute
``import sentence_transformers`` inside functions only, so ``import ragpipe`` never pulls in torch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import AliasChoices, Field

from ragpipe.config.stages import EmbedderConfig
from ragpipe.embedding.model_files import TokenCounter, model_max_length, model_source, position_limit
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.extras import require
from ragpipe.offline import offline_environment
from ragpipe.registry import register

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CPU_BATCH_SIZE = 16
ACCELERATOR_BATCH_SIZE = 128


class SentenceTransformersConfig(EmbedderConfig):
    """A sentence-transformers bi-encoder run on torch; nothing is ever downloaded."""

    type: Literal["sentence-transformers"] = "sentence-transformers"
    batch_size: int | None = Field(default=None, ge=1, le=4096)
    """Texts per forward pass (the library sorts inputs by length first, so padding stays small). None: 16 on
    the CPU (on 2 cores 4-16 gave ~20% more texts/s than 64: smaller matrices stay in cache), 128 on a GPU."""
    normalize: bool = True
    """L2-normalise the output (the Embedder protocol expects unit vectors)."""
    device: str = Field(default="cpu", pattern=r"^(cpu|cuda(:\d+)?|mps|xpu(:\d+)?)$")
    """Torch device: cpu, cuda, cuda:N, mps or xpu[:N]."""
    max_length: int | None = Field(
        default=None, ge=8, le=8192, validation_alias=AliasChoices("max_length", "max_seq_length")
    )
    """Tokens kept per text (also accepted as ``max_seq_length``); None: the model's own limit (256 for the
    bundled model)."""


@register("embedder", config=SentenceTransformersConfig)
class SentenceTransformersEmbedder:
    """Embedder over a local sentence-transformers model (lazy, thread-safe load)."""

    def __init__(self, config: SentenceTransformersConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._model: SentenceTransformer | None = None
        self._source: tuple[Path, str] | None = None
        self._counter: TokenCounter | None = None

    def _resolve(self) -> tuple[Path, str]:
        with self._lock:
            if self._source is None:
                self._source = model_source(self.config.model)
            return self._source

    @property
    def model_id(self) -> str:
        cfg = self.config
        _, identity = self._resolve()
        options = {
            "normalize": cfg.normalize,
            "max_seq_length": cfg.max_length,
            "document_prefix": cfg.document_prefix,
            "query_prefix": cfg.query_prefix,
        }
        return f"{identity}|{json.dumps(options, sort_keys=True, separators=(',', ':'))}"

    @property
    def max_input_tokens(self) -> int | None:
        """The configured ``max_length``, else the model's own limit (read from its folder)."""
        return self.config.max_length or model_max_length(self._resolve()[0])

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """Token counts of the prefixed document texts (with the model's own tokenizer)."""
        prefixed = [self.config.document_prefix + t for t in texts]
        counter = self._token_counter()
        if counter is not None:
            return counter.lengths(prefixed)
        tokenizer = self.model.tokenizer
        return [len(ids) for ids in tokenizer(prefixed, truncation=False)["input_ids"]]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        counter = self._token_counter()
        if counter is not None:
            return counter.spans(text)
        encoded = self.model.tokenizer(text, truncation=False, add_special_tokens=False, return_offsets_mapping=True)
        return [tuple(span) for span in encoded["offset_mapping"]]

    def _token_counter(self) -> TokenCounter | None:
        """The model's tokenizer.json read with ``tokenizers`` (no torch), when the folder has one."""
        folder = self._resolve()[0]
        if self._counter is None and (folder / "tokenizer.json").is_file():
            self._counter = TokenCounter(folder / "tokenizer.json")
        return self._counter

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first access)."""
        if self._model is None:
            path, _ = self._resolve()
            with self._lock:
                if self._model is None:
                    self._model = self._load(path)
        return self._model

    def _load(self, path: Path) -> SentenceTransformer:
        require("sentence_transformers", "torch", "embedding.type 'sentence-transformers'")
        offline_environment()
        import sentence_transformers
        import torch

        cfg = self.config
        if cfg.device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"embedding.device: {cfg.device!r} is not available on this machine; use 'cpu'")
        try:
            model = sentence_transformers.SentenceTransformer(str(path), device=cfg.device, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ModelNotFoundError(
                f"embedding.model: {cfg.model!r} ({path}) is not a loadable sentence-transformers model: {exc}"
            ) from exc
        if cfg.max_length is not None:
            limit = position_limit(path) or self._position_limit(model)
            if limit is not None and cfg.max_length > limit:
                raise ConfigError(f"embedding.max_length: {cfg.max_length} exceeds the model's limit of {limit} tokens")
            model.max_seq_length = cfg.max_length
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
