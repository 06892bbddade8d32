"""One registry of pipeline stages keyed by ``(kind, type)``.

Built-in stages register exactly like third-party plugins: each is a module listed under the
``ragpipe.plugins`` entry-point group (in ``pyproject.toml`` for the built-ins) whose import runs
:func:`register`. Nothing named in a config file is ever imported; a config can only select a registered type.

A stage class is constructed as ``Stage(config, **resources)``: its ``__init__`` names, after ``config``, the
resources it uses (``embedder``, ``store``, ``location``, ``settings``), each typed, and the factory passes
exactly those. Which resources a kind may ask for is fixed here (:data:`RESOURCES`) and checked when the
class registers, so a stage never reaches another through a shared context object.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from threading import RLock
from typing import Any, TypeVar

from pydantic import BaseModel

from ragpipe.errors import ConfigError, RagpipeError

ENTRY_POINT_GROUP = "ragpipe.plugins"

RESOURCES: dict[str, frozenset[str]] = {
    "parser": frozenset(),
    "chunker": frozenset({"embedder"}),
    "embedder": frozenset({"settings"}),
    "store": frozenset({"location", "settings"}),
    "lexical": frozenset({"location", "store"}),
    "fusion": frozenset(),
    "reranker": frozenset({"settings"}),
    "generator": frozenset({"embedder", "settings"}),
}
"""What each kind of stage may receive besides its config:

- ``embedder`` (:class:`~ragpipe.protocols.Embedder`): the pipeline's embedder (at ingest, the one behind the
  persistent embedding cache; at query time, the in-memory one);
- ``settings`` (:class:`~ragpipe.config.settings.RuntimeSettings`): paths, URLs and keys from the environment;
- ``location`` (:class:`~ragpipe.index_location.IndexLocation`): the index generation folder the stage reads
  or writes, and the facts recorded when it was published;
- ``store`` (:class:`~ragpipe.protocols.VectorStore`): the generation's vector store (for an index that lives
  in it)."""
KINDS = tuple(RESOURCES)

T = TypeVar("T")


@dataclass(frozen=True)
class Registration:
    kind: str
    type: str
    config_cls: type[BaseModel]
    factory: Callable[..., Any]
    needs: tuple[str, ...]
    """Resource names the factory takes after the config."""


_registry: dict[tuple[str, str], Registration] = {}
_loaded = False
_version = 0
_lock = RLock()


def _type_name(config_cls: type[BaseModel]) -> str:
    field = config_cls.model_fields.get("type")
    if field is None or not isinstance(field.default, str):
        raise TypeError(f"{config_cls.__name__} needs a field `type: Literal[...] = '<name>'`")
    return field.default


def _needs(kind: str, factory: Callable[..., Any]) -> tuple[str, ...]:
    """The resources ``factory(config, ...)`` asks for, checked against what ``kind`` may receive."""
    parameters = list(inspect.signature(factory).parameters.values())
    if not parameters or parameters[0].name != "config":
        raise TypeError(f"{factory!r}: the first parameter must be `config`")
    names = []
    for parameter in parameters[1:]:
        if parameter.kind not in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            raise TypeError(f"{factory!r}: parameter {parameter.name!r} must be a named parameter")
        if parameter.name not in RESOURCES[kind]:
            allowed = ", ".join(sorted(RESOURCES[kind])) or "none"
            raise TypeError(
                f"{factory!r}: a {kind} cannot receive {parameter.name!r}; resources for a {kind}: {allowed}"
            )
        names.append(parameter.name)
    return tuple(names)


def register(kind: str, config: type[BaseModel]) -> Callable[[T], T]:
    """Class decorator: register a stage for ``(kind, config.type)``.

    The class is constructed as ``cls(config_instance, **resources)`` and must only store its arguments
    (models and files are loaded lazily on first use).
    """
    if kind not in RESOURCES:
        raise ValueError(f"unknown stage kind {kind!r}; valid kinds: {', '.join(KINDS)}")

    def decorate(factory: T) -> T:
        global _version
        name = _type_name(config)
        if kind == "parser" and not name.isidentifier():
            raise TypeError(f"parser type {name!r} must be an identifier (it is a key of the `parsing` section)")
        needs = _needs(kind, factory)  # type: ignore[arg-type]
        with _lock:
            _registry[(kind, name)] = Registration(kind, name, config, factory, needs)  # type: ignore[arg-type]
            _version += 1
        return factory

    return decorate


def load_plugins() -> None:
    """Import every module of the ``ragpipe.plugins`` entry points once (idempotent, thread-safe)."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        modules = sorted({ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)})
        if not modules:
            raise RagpipeError(
                "no ragpipe stages are registered: the `ragpipe.plugins` entry points are missing, so ragpipe "
                "is not installed; run `pip install -e .` (or ./scripts/setup.sh) in the checkout"
            )
        for name in modules:
            importlib.import_module(name)
        _loaded = True


def version() -> int:
    """A number that changes whenever a stage registers (config models are rebuilt on change)."""
    load_plugins()
    return _version


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


def build(kind: str, config: BaseModel, resources: Mapping[str, Any] | None = None) -> Any:
    """Construct the stage registered for ``config.type`` with the resources its constructor names."""
    reg = get(kind, config.type)  # type: ignore[attr-defined]
    available = resources or {}
    missing = [name for name in reg.needs if name not in available]
    if missing:
        raise RagpipeError(f"{kind} {reg.type!r} needs {', '.join(missing)}, which is not available here")
    return reg.factory(config, **{name: available[name] for name in reg.needs})
