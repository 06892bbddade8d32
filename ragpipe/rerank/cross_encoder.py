"""The ``cross-encoder`` reranker: rescores the top candidates with a sentence-transformers CrossEncoder.

No pretrained cross-encoder can be installed offline, so ``model`` is required and must name a local
model folder, ``package:NAME``, or a model already in the Hugging Face cache. Nothing is downloaded.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from ragpipe.config.stages import RerankerConfig
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.extras import require
from ragpipe.models import describe_missing, resolve_model
from ragpipe.offline import offline_environment
from ragpipe.registry import register
from ragpipe.types import ScoredChunk

if TYPE_CHECKING:
    from sentence_transformers import CrossEncoder

RERANK_LEG = "rerank"


class CrossEncoderRerankerConfig(RerankerConfig):
    """Rerank with a cross-encoder that reads (query, chunk text) pairs."""

    type: Literal["cross-encoder"] = "cross-encoder"
    model: str = Field(min_length=1)
    """Local model folder, ``package:NAME``, or a name present in the offline Hugging Face cache."""
    top_n: int = Field(default=20, ge=1)
    """Only the first ``top_n`` candidates are rescored; the rest follow them in their input order."""
    batch_size: int = Field(default=32, ge=1)
    """Pairs scored per forward pass."""
    max_length: int = Field(default=512, ge=16)
    """Token limit of one (query, chunk) pair; longer pairs are truncated."""

    def candidates(self, top_k: int) -> int:
        return max(top_k, self.top_n)


def _is_embedding_model(folder: Path) -> bool:
    """True for a sentence-transformers bi-encoder folder (it has a Pooling module, no classifier)."""
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return False
    try:
        modules = json.loads(modules_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return any("Pooling" in str(module.get("type", "")) for module in modules if isinstance(module, dict))


@register("reranker", config=CrossEncoderRerankerConfig)
class CrossEncoderReranker:
    """Sorts the first ``top_n`` chunks by cross-encoder score (``score`` and leg ``rerank``)."""

    def __init__(self, config: CrossEncoderRerankerConfig) -> None:
        self.config = config
        self._model: CrossEncoder | None = None
        self._load_lock = threading.Lock()

    def _load(self) -> CrossEncoder:
        """Load the model once; concurrent first calls wait for the same load."""
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                self._model = self._open_model()
            return self._model

    def _open_model(self) -> CrossEncoder:
        # A missing path or a bi-encoder folder is reported before torch is imported (seconds).
        name = self.config.model
        resolved = resolve_model(name)
        if isinstance(resolved, Path) and resolved.is_dir() and _is_embedding_model(resolved):
            raise ConfigError(
                f"rerank.model {name!r} ({resolved}) is an embedding (bi-encoder) model, not a cross-encoder; "
                "its classifier head would be random. Point rerank.model at a cross-encoder model folder."
            )
        require("sentence_transformers", "torch", "rerank.type 'cross-encoder'")
        offline_environment()
        from sentence_transformers import CrossEncoder

        try:
            return CrossEncoder(str(resolved), max_length=self.config.max_length, local_files_only=True)
        except (OSError, ValueError) as exc:
            if isinstance(resolved, Path):
                raise ModelNotFoundError(
                    f"rerank.model {name!r}: {resolved} is not a loadable cross-encoder folder ({exc})"
                ) from exc
            raise describe_missing(name, "cross-encoder") from exc

    def scores(self, query: str, texts: Sequence[str]) -> list[float]:
        """Raw cross-encoder scores of ``(query, text)`` pairs, in input order."""
        if not texts:
            return []
        model = self._load()
        pairs = [(query, text) for text in texts]
        raw = model.predict(pairs, batch_size=self.config.batch_size, show_progress_bar=False)
        if raw.ndim != 1:
            raise ConfigError(
                f"rerank.model {self.config.model!r} outputs {raw.shape[-1]} labels per pair; "
                "a reranker needs a cross-encoder with a single relevance score (num_labels=1)"
            )
        return [float(v) for v in raw]

    def rerank(self, query: str, chunks: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """Rescore the first ``top_n`` chunks, sort them by score, then append the rest unchanged."""
        head = list(chunks[: self.config.top_n])
        tail = list(chunks[self.config.top_n :])
        scores = self.scores(query, [scored.chunk.text for scored in head])
        order = sorted(range(len(head)), key=lambda i: (-scores[i], i))
        reranked = [
            ScoredChunk(
                chunk=head[i].chunk,
                score=scores[i],
                leg_scores={**head[i].leg_scores, RERANK_LEG: scores[i]},
                leg_ranks={**head[i].leg_ranks, RERANK_LEG: rank},
            )
            for rank, i in enumerate(order, start=1)
        ]
        return reranked + tail
