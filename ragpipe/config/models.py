"""The pipeline config: static sections plus one discriminated union per stage slot.

Stage unions are assembled from the registry, so a plugin's config model is validated exactly
like a built-in's and an unknown ``type`` is reported with the registered alternatives.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, PrivateAttr, create_model, field_validator

from ragpipe import registry
from ragpipe.config.base import StrictModel, index_settings
from ragpipe.filters import parse_filter

# Default implementation type for each stage slot.
SLOT_DEFAULTS: dict[str, tuple[str, str]] = {
    # field name -> (registry kind, default type)
    "chunking": ("chunker", "sentence"),
    "embedding": ("embedder", "onnx"),
    "store": ("store", "qdrant-edge"),
    "lexical": ("lexical", "bm25s"),
    "rerank": ("reranker", "none"),
    "answer": ("generator", "extractive"),
}
FUSION_DEFAULT = ("fusion", "rrf")


class SourceConfig(StrictModel):
    """A directory (searched recursively) or a single file to ingest."""

    path: str
    include: list[str] = Field(default_factory=lambda: ["**/*"])
    exclude: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Static metadata added to every document of this source."""
    id_prefix: str = ""
    """Prepended to document ids (paths relative to ``path``) to keep ids of several sources distinct."""


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


class RetrievalBase(StrictModel):
    mode: Literal["hybrid", "dense", "lexical"] = "hybrid"
    top_k: int = Field(default=5, ge=1)
    """Chunks returned after fusion (and reranking)."""
    dense_top_k: int = Field(default=50, ge=1)
    lexical_top_k: int = Field(default=50, ge=1)
    filters: dict[str, Any] | None = None
    """Metadata filter applied to every leg (see :mod:`ragpipe.filters`)."""

    @field_validator("filters")
    @classmethod
    def _check_filters(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        parse_filter(value, "retrieval.filters")
        return value


class PipelineConfigBase(StrictModel):
    name: str = Field(default="default", pattern=r"^[A-Za-z0-9_.-]+$")
    sources: list[SourceConfig] = Field(default_factory=list)
    ingest: IngestConfig = Field(default_factory=IngestConfig)

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def base_dir(self) -> Path:
        """Folder that relative source paths are resolved against (the config file's folder)."""
        return self._base_dir

    def with_base_dir(self, base_dir: Path) -> PipelineConfigBase:
        self._base_dir = base_dir
        return self

    def fingerprint(self) -> str:
        """Hash of everything that changes what is stored in the index."""
        parts = {k: index_settings(getattr(self, k)) for k in ("chunking", "embedding", "lexical", "store")}
        blob = json.dumps(parts, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def index_dir(self, data_dir: Path) -> Path:
        return data_dir / self.name / self.fingerprint()


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


@lru_cache(maxsize=1)
def pipeline_config_model() -> type[PipelineConfigBase]:
    """Build (once) the PipelineConfig model from the registered stage configs."""
    registry.load_plugins()
    retrieval = create_model(  # type: ignore[call-overload]
        "RetrievalConfig",
        __base__=RetrievalBase,
        fusion=(_slot_type(FUSION_DEFAULT[0]), _default(*FUSION_DEFAULT)),
    )
    slots = {name: (_slot_type(kind), _default(kind, default)) for name, (kind, default) in SLOT_DEFAULTS.items()}
    model = create_model(  # type: ignore[call-overload]
        "PipelineConfig",
        __base__=PipelineConfigBase,
        retrieval=(retrieval, Field(default_factory=retrieval)),
        **slots,
    )
    return model
