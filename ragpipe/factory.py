"""Turn a validated config into stage objects (constructors only store settings: nothing loads here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
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

    def close(self) -> None:
        """Release the generation's files (the stateless stages stay usable)."""
        self.store.close()
        self.catalog.close()


def build_components(
    config: PipelineConfigBase,
    settings: RuntimeSettings,
    state_dir: Path,
    read_only: bool = False,
    share: Components | None = None,
) -> Components:
    """Build every stage of ``config`` over the index generation folder ``state_dir``.

    The embedder is wrapped by the shared on-disk cache. With ``share``, the stages that hold no index
    state (embedder, chunker, fusion, reranker, generator) are taken from it, so models load once.
    """
    from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache

    cfg: Any = config
    cache_dir = settings.resolved_cache_dir
    context = BuildContext(
        settings=settings,
        index_dir=state_dir,
        cache_dir=cache_dir,
        index_root=config.index_dir(settings.data_dir),
        read_only=read_only,
    )
    context.catalog = Catalog(state_dir / "catalog.sqlite")
    if share is not None:
        context.embedder = share.embedder
    else:
        inner = registry.build("embedder", cfg.embedding, context)
        context.embedder = CachedEmbedder(inner, EmbeddingCache(cache_dir / "embeddings.sqlite"))
    context.store = registry.build("store", cfg.store, context)

    def stage(kind: str, attr: str, stage_config: Any) -> Any:
        return getattr(share, attr) if share is not None else registry.build(kind, stage_config, context)

    return Components(
        context=context,
        catalog=context.catalog,
        embedder=context.embedder,
        store=context.store,
        lexical=registry.build("lexical", cfg.lexical, context),
        chunker=stage("chunker", "chunker", cfg.chunking),
        fuser=stage("fusion", "fuser", cfg.retrieval.fusion),
        reranker=stage("reranker", "reranker", cfg.rerank),
        generator=stage("generator", "generator", cfg.answer),
    )
