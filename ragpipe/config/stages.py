"""The config base class of each stage kind: what the core may ask of any implementation's config.

Implementations subclass these (one pydantic model per type, ``type: Literal[...]``); the pipeline config
declares its slots with these types, so code reading a config is typed, while validation uses the
discriminated union of the registered subclasses (see :mod:`ragpipe.config.models`).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from ragpipe.config.base import QUERY_TIME, StageConfig


class ParserConfig(StageConfig):
    """A file parser (``parsing.<type>``)."""


class ChunkerConfig(StageConfig):
    """A chunker (``chunking``)."""

    def longest_chunk_tokens(self) -> int | None:
        """The most tokens (tiktoken cl100k_base) one chunk can hold, or None when there is no bound."""
        return None


class EmbedderConfig(StageConfig):
    """A dense embedder (``embedding``): every embedder reads a model, prefixes and a length limit alike."""

    model: str = Field(default="bundled", min_length=1)
    """'bundled' (all-MiniLM-L6-v2), 'package:NAME', a local model folder or file, or a name in the offline
    Hugging Face cache."""
    query_prefix: str = ""
    """Prepended to every query (e.g. 'query: ' for e5 models)."""
    document_prefix: str = ""
    """Prepended to every document text (e.g. 'passage: ' for e5 models)."""
    max_length: int | None = Field(default=None, ge=8, le=8192)
    """Tokens (the model's own word pieces) kept per text; None: the model's own limit (256 for the bundled
    model). Longer texts are cut to it."""
    allow_truncation: bool = Field(default=False, json_schema_extra=QUERY_TIME)
    """Accept a chunker whose chunks can be longer than ``max_length``: their ends are then missing from the
    dense vectors. False: such a pipeline is refused when it is built."""


class StoreConfig(StageConfig):
    """A vector store (``store``)."""

    supports_sparse: ClassVar[bool] = False
    """Whether the store keeps sparse vectors next to the dense ones (what ``qdrant-sparse`` needs)."""

    def pipeline_problem(self) -> str | None:
        """Why a pipeline cannot use this store as configured (it keeps an index across processes and
        generations), or None."""
        return None


class LexicalConfig(StageConfig):
    """A lexical (keyword) index (``lexical``)."""

    needs_sparse_store: ClassVar[bool] = False
    """True when the index lives in the vector store as sparse vectors."""


class FusionConfig(StageConfig):
    """A fusion of ranked legs (``retrieval.fusion``)."""


class RerankerConfig(StageConfig):
    """A reranker (``rerank``)."""

    def candidates(self, top_k: int) -> int:
        """How many fused chunks the reranker wants to see to return ``top_k``."""
        return top_k


class GeneratorConfig(StageConfig):
    """An answer generator (``answer``)."""
