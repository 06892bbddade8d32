"""The process-wide models: each embedder, reranker and generator is built once per process and shared.

A model is keyed by its stage config (and the runtime settings it reads), so every pipeline, every index
generation and every thread of a process that uses the same embedding config uses one loaded model: a
sweep's variants, an eval pipeline beside the main one, the previous index served during a config change.
Models load lazily, on first use, inside the stage objects (which are thread-safe).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from ragpipe import registry
from ragpipe.config.settings import RuntimeSettings
from ragpipe.config.stages import EmbedderConfig, GeneratorConfig, RerankerConfig
from ragpipe.embedding.memory_cache import QueryEmbedder
from ragpipe.protocols import Embedder, Generator, Reranker


def _key(kind: str, config: Any, *parts: object) -> tuple[str, str, tuple[str, ...]]:
    return kind, json.dumps(config.model_dump(mode="json"), sort_keys=True), tuple(str(p) for p in parts)


class ModelPool:
    """Stage objects that hold models, built on first request and kept for the life of the pool."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[tuple[str, str, tuple[str, ...]], Any] = {}

    def _get(self, key: tuple[str, str, tuple[str, ...]], build: Any) -> Any:
        with self._lock:
            if key not in self._objects:
                self._objects[key] = build()
            return self._objects[key]

    def embedder(self, config: EmbedderConfig, settings: RuntimeSettings) -> Embedder:
        """The embedder of ``config`` (no cache in front of it)."""
        key = _key("embedder", config, settings.resolved_model_cache_dir)
        embedder: Embedder = self._get(key, lambda: registry.build("embedder", config, {"settings": settings}))
        return embedder

    def query_embedder(self, config: EmbedderConfig, settings: RuntimeSettings) -> QueryEmbedder:
        """The embedder of ``config`` behind the in-memory cache that query-time texts go through."""
        key = _key("query-embedder", config, settings.resolved_model_cache_dir)
        inner = self.embedder(config, settings)
        embedder: QueryEmbedder = self._get(key, lambda: QueryEmbedder(inner))
        return embedder

    def reranker(self, config: RerankerConfig, settings: RuntimeSettings) -> Reranker:
        key = _key("reranker", config, settings.resolved_model_cache_dir)
        reranker: Reranker = self._get(key, lambda: registry.build("reranker", config, {"settings": settings}))
        return reranker

    def generator(self, config: GeneratorConfig, settings: RuntimeSettings, embedder: QueryEmbedder) -> Generator:
        """The generator of ``config``, reading ``embedder`` (the query-time one) if it needs one."""
        key = _key("generator", config, embedder.model_id, settings.llm_base_url)
        resources = {"embedder": embedder, "settings": settings}
        generator: Generator = self._get(key, lambda: registry.build("generator", config, resources))
        return generator


_shared = ModelPool()


def shared_models() -> ModelPool:
    """The pool every :class:`~ragpipe.pipeline.Pipeline` of this process uses unless given its own."""
    return _shared
