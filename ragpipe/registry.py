"""One registry of pipeline components keyed by ``(kind, type)``.

Built-in components register exactly like third-party plugins: each is a module listed
under the ``ragpipe.plugins`` entry-point group whose import runs :func:`register`.
Nothing named in a config file is ever imported; a config can only select a registered type.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from threading import Lock
from typing import Any, TypeVar

from pydantic import BaseModel

from ragpipe.errors import ConfigError

KINDS = ("parser", "chunker", "embedder", "store", "lexical", "fusion", "reranker", "generator")
ENTRY_POINT_GROUP = "ragpipe.plugins"

# Built-in modules, also declared as entry points in pyproject.toml. They are imported here too so a
# source checkout that is not pip-installed (or an out-of-date install) still has every built-in.
BUILTIN_MODULES = (
    "ragpipe.ingest.parsers.text",
    "ragpipe.ingest.parsers.markdown",
    "ragpipe.ingest.parsers.html",
    "ragpipe.ingest.parsers.docx",
    "ragpipe.ingest.parsers.pdf",
    "ragpipe.chunking.sentence",
    "ragpipe.chunking.token",
    "ragpipe.chunking.markdown",
    "ragpipe.chunking.semantic",
    "ragpipe.chunking.hierarchical",
    "ragpipe.embedding.sentence_transformers",
    "ragpipe.embedding.onnx",
    "ragpipe.stores.qdrant_edge",
    "ragpipe.stores.qdrant_client",
    "ragpipe.lexical.bm25s_index",
    "ragpipe.lexical.rank_bm25_index",
    "ragpipe.lexical.qdrant_sparse",
    "ragpipe.lexical.none",
    "ragpipe.retrieval.fusion",
    "ragpipe.rerank.none",
    "ragpipe.rerank.cross_encoder",
    "ragpipe.answer.extractive",
)

T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    kind: str
    type: str
    config_cls: type[BaseModel]
    factory: Callable[..., Any]


_registry: dict[tuple[str, str], Registration] = {}
_loaded = False
_lock = Lock()


def _type_name(config_cls: type[BaseModel]) -> str:
    field = config_cls.model_fields.get("type")
    if field is None or not isinstance(field.default, str):
        raise TypeError(f"{config_cls.__name__} needs a field `type: Literal[...] = '<name>'`")
    return field.default


def register(kind: str, config: type[BaseModel]) -> Callable[[T], T]:
    """Class decorator: register a component factory for ``(kind, config.type)``.

    The factory is called as ``factory(config_instance, context)`` and must only store
    its arguments (models and files are loaded lazily on first use).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; valid kinds: {', '.join(KINDS)}")

    def decorate(factory: T) -> T:
        name = _type_name(config)
        _registry[(kind, name)] = Registration(kind, name, config, factory)  # type: ignore[arg-type]
        return factory

    return decorate


def load_plugins() -> None:
    """Import built-in and entry-point plugin modules once (idempotent, thread-safe)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        names = list(BUILTIN_MODULES)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.value not in names:
                names.append(ep.value)
        for name in names:
            importlib.import_module(name)
        _loaded = True


def types_of(kind: str) -> list[str]:
    """Registered type names of one kind, sorted."""
    load_plugins()
    return sorted(t for (k, t) in _registry if k == kind)


def configs_of(kind: str) -> list[type[BaseModel]]:
    load_plugins()
    return [_registry[(kind, t)].config_cls for t in types_of(kind)]


def get(kind: str, type_name: str) -> Registration:
    """The registration for ``(kind, type_name)``; a ConfigError lists the valid types."""
    load_plugins()
    try:
        return _registry[(kind, type_name)]
    except KeyError:
        allowed = ", ".join(types_of(kind)) or "(none registered)"
        raise ConfigError(f"unknown {kind} type {type_name!r}; registered {kind} types: {allowed}") from None


def build(kind: str, config: BaseModel, context: Any) -> Any:
    """Instantiate the component registered for ``config.type``."""
    reg = get(kind, config.type)  # type: ignore[attr-defined]
    return reg.factory(config, context)
