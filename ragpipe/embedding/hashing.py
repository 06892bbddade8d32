"""The ``hashing`` embedder: word features hashed into a fixed number of dimensions. No model, no downloads.

Each lower-cased word (and each pair of neighbouring words) adds +1 or -1 to one of ``dimension`` slots
chosen by a stable hash (blake2b, the same on every machine), and the vector is L2-normalised: texts that
share words are close. It knows nothing of meaning, so it is no substitute for a trained model; it is
deterministic, instant and tiny, which makes it the embedder of wiring tests and smoke runs.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import Field

from ragpipe.config.stages import EmbedderConfig
from ragpipe.registry import register

_WORD = re.compile(r"\w+")


class HashingEmbedderConfig(EmbedderConfig):
    """Hashed word and word-pair features (deterministic, no model: for tests and smoke runs)."""

    type: Literal["hashing"] = "hashing"
    model: str = "hashing"
    dimension: int = Field(default=256, ge=8, le=65536)
    """Vector size."""
    pairs: bool = True
    """Also hash each pair of neighbouring words."""


@register("embedder", config=HashingEmbedderConfig)
class HashingEmbedder:
    def __init__(self, config: HashingEmbedderConfig) -> None:
        self.config = config

    @property
    def model_id(self) -> str:
        cfg = self.config
        return f"hashing:v1|dim={cfg.dimension}|pairs={cfg.pairs}|q={cfg.query_prefix!r}|d={cfg.document_prefix!r}"

    @property
    def dimension(self) -> int:
        return self.config.dimension

    @property
    def max_input_tokens(self) -> int | None:
        return self.config.max_length

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(self.config.document_prefix + t)) for t in texts]

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [match.span() for match in _WORD.finditer(text)]

    def _features(self, text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        if self.config.max_length is not None:
            words = words[: self.config.max_length]
        pairs = [f"{a} {b}" for a, b in itertools.pairwise(words)] if self.config.pairs else []
        return words + pairs

    def _embed(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        matrix = np.zeros((len(texts), self.config.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature in self._features(prefix + text):
                digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
                value = int.from_bytes(digest, "little")
                matrix[row, value % self.config.dimension] += 1.0 if value >> 63 else -1.0
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0.0, 1.0, norms)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.config.document_prefix)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts, self.config.query_prefix)
