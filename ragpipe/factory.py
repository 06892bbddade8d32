"""Turn a validated config into stage objects, and check that the stages fit together.

Three groups, each built where it is used and given exactly what its stages ask for (see
:data:`ragpipe.registry.RESOURCES`):

- :class:`QueryStages` (per pipeline config): the query-time embedder, fusion, reranker, generator. Models
  come from the process-wide :class:`~ragpipe.model_pool.ModelPool`.
- :class:`IngestStages` (per ingest run): parsers, chunker and the embedder behind the persistent cache.
- :func:`index_stages` (per index generation): the vector store and lexical index over one folder.

Nothing loads here: constructors only store their arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragpipe import registry
from ragpipe.config.models import PipelineConfig
from ragpipe.config.settings import RuntimeSettings
from ragpipe.config.stages import StoreConfig
from ragpipe.embedding.cache import CachedEmbedder, EmbeddingCache
from ragpipe.errors import ConfigError
from ragpipe.index_location import IndexLocation
from ragpipe.ingest.loader import ParserSet
from ragpipe.model_pool import ModelPool
from ragpipe.protocols import Chunker, Embedder, Fuser, Generator, LexicalIndex, Reranker, VectorStore


@dataclass(frozen=True)
class QueryStages:
    """What a query runs besides the index: thread-safe, shared by every generation of one config."""

    config: PipelineConfig
    embedder: Embedder
    fuser: Fuser
    reranker: Reranker
    generator: Generator


@dataclass(frozen=True)
class IngestStages:
    """What one ingest run uses besides the index it writes."""

    parsers: ParserSet
    chunker: Chunker
    embedder: CachedEmbedder


def query_stages(config: PipelineConfig, settings: RuntimeSettings, models: ModelPool) -> QueryStages:
    embedder = models.query_embedder(config.embedding, settings)
    return QueryStages(
        config=config,
        embedder=embedder,
        fuser=registry.build("fusion", config.retrieval.fusion),
        reranker=models.reranker(config.rerank, settings),
        generator=models.generator(config.answer, settings, embedder),
    )


def ingest_stages(config: PipelineConfig, settings: RuntimeSettings, models: ModelPool) -> IngestStages:
    """The stages of one ingest run; its embedder counts only this run's work."""
    cache = EmbeddingCache.in_dir(settings.resolved_cache_dir)
    embedder = CachedEmbedder(models.embedder(config.embedding, settings), cache)
    return IngestStages(
        parsers=ParserSet(config.parsing),
        chunker=registry.build("chunker", config.chunking, {"embedder": embedder}),
        embedder=embedder,
    )


def index_stages(
    config: PipelineConfig, settings: RuntimeSettings, location: IndexLocation
) -> tuple[VectorStore, LexicalIndex]:
    """The vector store and lexical index of one generation folder (nothing is opened yet)."""
    store: VectorStore = registry.build("store", config.store, {"location": location, "settings": settings})
    lexical: LexicalIndex = registry.build("lexical", config.lexical, {"location": location, "store": store})
    return store, lexical


def check_stages(config: PipelineConfig, embedder: Embedder) -> list[str]:
    """Check that the configured stages fit together; raise ConfigError naming the dotted path.

    Returns notes for ``ragpipe config show`` about what the config accepts knowingly (truncation)."""
    store_config, lexical_config = config.store, config.lexical
    problem = store_config.pipeline_problem()
    if problem is not None:
        raise ConfigError(problem)
    if lexical_config.needs_sparse_store and not store_config.supports_sparse:
        sparse_stores = [name for name in registry.types_of("store") if _keeps_sparse(name)]
        raise ConfigError(
            f"lexical.type: {lexical_config.type!r} keeps its index as sparse vectors in the vector store, but "
            f"store.type {store_config.type!r} has no sparse vectors; use a store that has them "
            f"({', '.join(sparse_stores) or 'none registered'}) or an in-process lexical type such as 'bm25s'"
        )
    return _length_notes(config, embedder)


def _keeps_sparse(store_type: str) -> bool:
    config_cls = registry.get("store", store_type).config_cls
    return issubclass(config_cls, StoreConfig) and config_cls.supports_sparse


def _length_notes(config: PipelineConfig, embedder: Embedder) -> list[str]:
    longest, limit = config.chunking.longest_chunk_tokens(), embedder.max_input_tokens
    if longest is None or limit is None or longest <= limit:
        return []
    message = (
        f"chunking: chunks of up to {longest} tokens (tiktoken cl100k_base) are longer than the embedder reads "
        f"({limit} of its own tokens, embedding.max_length), so the end of a long chunk is missing from its dense "
        "vector"
    )
    if not config.embedding.allow_truncation:
        raise ConfigError(
            f"{message}; make chunks shorter ({_shorter_hint(config, limit)}) or accept the cut with "
            "embedding.allow_truncation: true"
        )
    return [f"{message} (accepted: embedding.allow_truncation is true)"]


def _shorter_hint(config: PipelineConfig, limit: int) -> str:
    """Which chunking field bounds the chunks, as a suggestion that fits the embedder."""
    fields = type(config.chunking).model_fields
    if "chunk_sizes" in fields:
        return f"chunking.chunk_sizes: each level that is indexed at most {limit}"
    field = next((name for name in ("chunk_size", "max_chunk_size") if name in fields), "chunk_size")
    return f"e.g. chunking.{field}: {limit}"
