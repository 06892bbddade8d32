"""The pipeline config: static sections plus one discriminated union per stage slot.

:class:`PipelineConfig` declares every slot with its kind's base config class, so code that reads a config is
typed. :func:`pipeline_config_model` derives the model that validates: each slot becomes the discriminated
union of the config classes registered for its kind, so a plugin's config is validated exactly like a
built-in's and an unknown ``type`` is reported with the registered alternatives. It is rebuilt whenever the
registry changes, so a plugin registered after the first config load is accepted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from typing import Annotated, Any, Literal, Self, Union

from pydantic import Field, PrivateAttr, create_model, field_validator

from ragpipe import registry
from ragpipe.config.base import StrictModel
from ragpipe.config.stages import (
    ChunkerConfig,
    EmbedderConfig,
    FusionConfig,
    GeneratorConfig,
    LexicalConfig,
    ParserConfig,
    RerankerConfig,
    StoreConfig,
)
from ragpipe.filters import parse_filter

NAME_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$"
"""Pipeline names: a folder name under the data dir, so no separators and no leading dot (``..``)."""


@dataclass(frozen=True)
class Slot:
    """A stage slot of the config: its dotted path, registry kind, default type and whether it defines the
    index (its stored content: changing it builds a new index folder)."""

    path: tuple[str, ...]
    kind: str
    default: str
    defines_index: bool


SLOTS: tuple[Slot, ...] = (
    Slot(("chunking",), "chunker", "sentence", True),
    Slot(("embedding",), "embedder", "onnx", True),
    Slot(("store",), "store", "qdrant-edge", True),
    Slot(("lexical",), "lexical", "bm25s", True),
    Slot(("retrieval", "fusion"), "fusion", "rrf", False),
    Slot(("rerank",), "reranker", "none", False),
    Slot(("answer",), "generator", "extractive", False),
)
"""Every stage slot, in one place: the model, default types, the fingerprint and ``--set`` read it."""
PARSING = "parsing"
"""The parsers' section: one entry per registered parser type; it defines the index (parsed text)."""


def slot_at(path: tuple[str, ...]) -> Slot | None:
    """The slot at a dotted path, if it is one."""
    return next((slot for slot in SLOTS if slot.path == path), None)


class SourceConfig(StrictModel):
    """A directory (searched recursively) or a single file to ingest."""

    path: str
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    exclude: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Static metadata added to every document of this source."""
    id_prefix: str = ""
    """Prepended to document ids (paths relative to ``path``) to keep ids of several sources distinct."""
    follow_external_symlinks: bool = False
    """Index files that symlinks inside the source point to outside of it. False: such links are skipped
    and reported (a link to a file outside the folder would otherwise publish that file)."""


class IngestConfig(StrictModel):
    """Options of the ingest stage itself."""

    metadata: dict[str, Any] = Field(default_factory=dict)
    """Static metadata added to every document."""
    batch_size: int = Field(default=256, ge=1)
    """Chunks embedded and written per batch (bounds memory)."""
    max_file_mb: float = Field(default=100.0, gt=0)
    """Files larger than this are reported and skipped."""
    deduplicate: bool = True
    """Index a document whose bytes and source metadata equal an earlier one's (in discovery order)
    only once: the copy is reported as skipped, naming the document that is indexed."""


class ParsingConfig(StrictModel):
    """Settings of each registered parser, by type (``parsing: {pdf: {...}, text: {...}}``)."""

    def for_type(self, type_name: str) -> ParserConfig:
        value = getattr(self, type_name)
        assert isinstance(value, ParserConfig)
        return value


class RetrievalConfig(StrictModel):
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    top_k: int = Field(default=5, ge=1)
    """Chunks returned after fusion (and reranking)."""
    dense_top_k: int = Field(default=50, ge=1)
    lexical_top_k: int = Field(default=50, ge=1)
    filters: dict[str, Any] | None = None
    """Metadata filter applied to every leg (see :mod:`ragpipe.filters`)."""
    fusion: FusionConfig

    @field_validator("filters")
    @classmethod
    def _check_filters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        parse_filter(value, "retrieval.filters")
        return value


class PipelineConfig(StrictModel):
    """A whole pipeline. Validate with :func:`ragpipe.config.loading.load_config` (it builds the model of
    the registered stage types); the fields here give each slot its kind's base type."""

    name: str = Field(default="default", pattern=NAME_PATTERN)
    sources: list[SourceConfig] = Field(default_factory=list)
    ingest: IngestConfig = Field(default_factory=IngestConfig)
    parsing: ParsingConfig
    chunking: ChunkerConfig
    embedding: EmbedderConfig
    store: StoreConfig
    lexical: LexicalConfig
    retrieval: RetrievalConfig
    rerank: RerankerConfig
    answer: GeneratorConfig

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _fingerprint: str | None = PrivateAttr(default=None)

    @property
    def base_dir(self) -> Path:
        """Folder that relative source paths are resolved against (the config file's folder)."""
        return self._base_dir

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (``update`` is not validated, as in pydantic); the cached fingerprint is not carried over."""
        copy = super().model_copy(update=update, deep=deep)
        copy._fingerprint = None
        return copy

    def with_base_dir(self, base_dir: Path) -> PipelineConfig:
        self._base_dir = base_dir
        return self

    def section(self, path: tuple[str, ...]) -> Any:
        """The config value at a dotted path (e.g. a slot's ``("retrieval", "fusion")``)."""
        value: Any = self
        for key in path:
            value = getattr(value, key)
        return value

    def index_definition(self) -> dict[str, Any]:
        """Everything that changes what is stored in the index: the index-defining slots' settings (each
        stage's own fields minus its QUERY_TIME ones) and the parsers'. Keys are dotted slot paths."""
        parts: dict[str, Any] = {PARSING: {t: self.parsing.for_type(t).index_settings() for t in parser_types()}}
        for slot in SLOTS:
            if slot.defines_index:
                parts[".".join(slot.path)] = self.section(slot.path).index_settings()
        return parts

    def fingerprint(self) -> str:
        """Short hash of :meth:`index_definition`: the index folder of this config (computed once: the
        config is immutable)."""
        if self._fingerprint is None:
            blob = json.dumps(self.index_definition(), sort_keys=True)
            self._fingerprint = hashlib.sha256(blob.encode()).hexdigest()[:12]
        return self._fingerprint

    def index_dir(self, data_dir: Path) -> Path:
        return data_dir / self.name / self.fingerprint()


def parser_types() -> list[str]:
    return registry.types_of("parser")


def _slot_type(kind: str) -> Any:
    classes = registry.configs_of(kind)
    if not classes:
        raise RuntimeError(f"no {kind} implementations registered")
    if len(classes) == 1:
        return classes[0]
    return Annotated[Union[tuple(classes)], Field(discriminator="type")]  # noqa: UP007


def _default(kind: str, type_name: str) -> Any:
    cls = registry.get(kind, type_name).config_cls
    return Field(default_factory=cls)


def _parsing_model() -> type[ParsingConfig]:
    fields = {}
    for type_name in parser_types():
        cls = registry.get("parser", type_name).config_cls
        fields[type_name] = (cls, Field(default_factory=cls))
    return create_model("ParsingConfig", __base__=ParsingConfig, **fields)  # type: ignore[call-overload, no-any-return]


_models: dict[int, type[PipelineConfig]] = {}
_models_lock = Lock()


def pipeline_config_model() -> type[PipelineConfig]:
    """The validating PipelineConfig model for the types registered now (built once per registry version)."""
    registry.load_plugins()
    version = registry.version()
    with _models_lock:
        if version not in _models:
            _models.clear()
            _models[version] = _build_model()
        return _models[version]


def _build_model() -> type[PipelineConfig]:
    by_parent: dict[tuple[str, ...], dict[str, Any]] = {}
    for slot in SLOTS:
        by_parent.setdefault(slot.path[:-1], {})[slot.path[-1]] = (
            _slot_type(slot.kind),
            _default(slot.kind, slot.default),
        )
    retrieval = create_model(  # type: ignore[call-overload]
        "RetrievalConfig", __base__=RetrievalConfig, **by_parent.pop(("retrieval",))
    )
    parsing = _parsing_model()
    model = create_model(  # type: ignore[call-overload]
        "PipelineConfig",
        __base__=PipelineConfig,
        parsing=(parsing, Field(default_factory=parsing)),
        retrieval=(retrieval, Field(default_factory=retrieval)),
        **by_parent.pop(()),
    )
    return model  # type: ignore[no-any-return]
