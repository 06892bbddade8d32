"""A llama-index ``BaseEmbedding`` view of a ragpipe Embedder, for llama-index parsers that embed
(SemanticSplitterNodeParser). llama-index is imported on first use only."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_index.core.base.embeddings.base import BaseEmbedding

    from ragpipe.protocols import Embedder


@lru_cache(maxsize=1)
def _adapter_class() -> type[BaseEmbedding]:
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from llama_index.core.bridge.pydantic import PrivateAttr

    class EmbedderAdapter(BaseEmbedding):
        """llama-index view of a ragpipe Embedder (documents and queries keep their own prefixes)."""

        _embedder: Any = PrivateAttr()

        def __init__(self, embedder: Embedder, batch_size: int) -> None:
            super().__init__(model_name=embedder.model_id, embed_batch_size=batch_size)
            self._embedder = embedder

        @classmethod
        def class_name(cls) -> str:
            return "RagpipeEmbedderAdapter"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_queries([query])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_documents(texts).tolist()

    return EmbedderAdapter


def embedding_adapter(embedder: Embedder, batch_size: int = 64) -> BaseEmbedding:
    """Wrap a ragpipe Embedder as a llama-index ``BaseEmbedding`` (for SemanticSplitterNodeParser)."""
    return _adapter_class()(embedder, batch_size)  # type: ignore[call-arg]
