"""Turn a validated config into stage objects (constructors only store settings: nothing loads here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragpipe import registry
from ragpipe.catalog import Catalog
from ragpipe.config.models import PipelineConfigBase
from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.protocols import Chunker, Embedder, Fuser, Generator, LexicalIndex, Reranker, VectorStore


@dataclass
class Components:
    context: BuildContext
    catalog: Catalog
    embedder: Embedder
    store: VectorStore
    lexical: LexicalIndex
    chunker: Chunker
    fuser: Fuser
    reranker: Reranker
    generator: Generator


def build_components(config: PipelineConfigBase, settings: RuntimeSettings) -> Components:
    """Build every stage of ``config``; the embedder is wrapped by the shared on-disk cache."""
    from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache

    cfg: Any = config
    index_dir = config.index_dir(settings.data_dir)
    cache_dir = settings.resolved_cache_dir
    context = BuildContext(settings=settings, index_dir=index_dir, cache_dir=cache_dir)
    context.catalog = Catalog(index_dir / "catalog.sqlite")
    inner = registry.build("embedder", cfg.embedding, context)
    context.embedder = CachedEmbedder(inner, EmbeddingCache(cache_dir / "embeddings.sqlite"))
    context.store = registry.build("store", cfg.store, context)
    return Components(
        context=context,
        catalog=context.catalog,
        embedder=context.embedder,
        store=context.store,
        lexical=registry.build("lexical", cfg.lexical, context),
        chunker=registry.build("chunker", cfg.chunking, context),
        fuser=registry.build("fusion", cfg.retrieval.fusion, context),
        reranker=registry.build("reranker", cfg.rerank, context),
        generator=registry.build("generator", cfg.answer, context),
    )
