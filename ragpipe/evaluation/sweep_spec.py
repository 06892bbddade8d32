"""Sweep files: a base config plus variants made of dotted overrides, validated before anything runs.

A sweep file (YAML) holds::

    name: chunking                      # optional; default: the file's stem
    base: ../default.yaml               # relative to the sweep file (or an inline `base_config:` mapping)
    dataset: ../../evals/handbook_qa.jsonl
    corpus: ../../corpora/handbook      # optional: ingest this folder instead of the base config's sources
    split: test
    metrics: [ndcg@10, recall@10, span_recall@5]
    primary_metric: ndcg@10
    grid: {chunking.chunk_size: [128, 256], retrieval.fusion.k: [10, 60]}   # cartesian product, or
    variants: [{name: small, set: {chunking.chunk_size: 128}}, ...]         # an explicit list
    baseline: small                     # default: the first variant

Every variant is checked up front by loading ``base + --set overrides + variant overrides``; a path that
does not exist in the config fails with a ConfigError naming the sweep file, the axis and the dotted path.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from ragpipe.config.base import StrictModel
from ragpipe.config.loading import format_validation_error, load_config, read_config_file
from ragpipe.config.models import PipelineConfig
from ragpipe.config.settings import load_settings
from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.evaluation.sweep_names import derive_name, flatten, override_string, value_label
from ragpipe.factory import check_stages
from ragpipe.model_pool import shared_models

_ERROR_LINE = re.compile(r"^\s+([^\s:]+): ")
_ABSENT = object()
MISSING = "n/a"
"""Axis value label of a variant whose config has no such path (e.g. ``chunk_size`` of a semantic chunker)."""


class VariantEntry(StrictModel):
    """One explicit variant: dotted overrides applied to the base config."""

    name: str | None = Field(default=None, min_length=1)
    """Shown in the leaderboard; default: derived from the overrides (``chunking.type=token,chunk_size=256``)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """``dotted.path: value``; a mapping value replaces the whole section at that path."""
    axes: dict[str, Any] | None = None
    """Labels for the axis-effect plot (e.g. ``{strategy: semantic, size: 256}``); default: the overrides."""


class SweepFile(StrictModel):
    """The keys a sweep file may hold."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base: str | None = None
    base_config: dict[str, Any] | None = None
    dataset: str
    corpus: str | None = None
    split: str = "test"
    metrics: list[str] | None = None
    """Metrics passed to the evaluation runner; default: its default set."""
    primary_metric: str = "ndcg@10"
    answer_metrics: bool = True
    """Also score generated answers (exact match, token F1, ...) when the dataset has gold answers."""
    grid: dict[str, list[Any]] | None = None
    variants: list[VariantEntry] | None = None
    baseline: str | None = None
    alpha: float = Field(default=0.05, gt=0.0, lt=1.0)
    """Significance level of the paired tests (on Holm-adjusted p-values)."""
    paired_method: Literal["randomization", "bootstrap"] = "randomization"
    n_resamples: int = Field(default=10_000, ge=100, le=1_000_000)

    @model_validator(mode="after")
    def _one_of_each(self) -> SweepFile:
        if (self.base is None) == (self.base_config is None):
            raise ValueError("give exactly one of `base` (a config file) or `base_config` (an inline mapping)")
        if (self.grid is None) == (self.variants is None):
            raise ValueError("give exactly one of `grid` (axes -> value lists) or `variants` (a list)")
        if self.grid is not None:
            if not self.grid:
                raise ValueError("`grid` needs at least one axis")
            empty = [axis for axis, values in self.grid.items() if not values]
            if empty:
                raise ValueError(f"grid axes {empty} have no values; give each axis a non-empty list")
        if self.variants is not None and not self.variants:
            raise ValueError("`variants` needs at least one entry")
        return self


@dataclass(frozen=True)
class Variant:
    """One point of the sweep: its name, the overrides that make it, and its validated config."""

    name: str
    settings: tuple[tuple[str, Any], ...]
    """``(dotted.path, value)`` pairs as written in the sweep file."""
    axes: dict[str, str]
    """Axis label -> value label, used to plot the effect of each axis."""
    config: PipelineConfig = field(repr=False, compare=False)

    @property
    def overrides(self) -> tuple[str, ...]:
        return tuple(override_string(path, value) for path, value in self.settings)


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep."""

    name: str
    path: Path
    base: Path | dict[str, Any]
    base_overrides: tuple[str, ...]
    dataset: Path
    corpus: Path | None
    split: str
    metrics: tuple[str, ...] | None
    primary_metric: str
    answer_metrics: bool
    variants: tuple[Variant, ...]
    baseline: str
    alpha: float
    paired_method: Literal["randomization", "bootstrap"]
    n_resamples: int
    description: str = ""

    def axis_names(self) -> list[str]:
        """Axis labels in first-seen order."""
        names: dict[str, None] = {}
        for variant in self.variants:
            names.update(dict.fromkeys(variant.axes))
        return list(names)


def load_sweep(path: Path, base_overrides: Sequence[str] = ()) -> SweepSpec:
    """Parse and validate a sweep file; ``base_overrides`` (``--set``) apply to the base before each variant."""
    path = Path(path)
    data = read_config_file(path)
    try:
        parsed = SweepFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, SweepFile, f"sweep file {path}")) from None
    folder = path.resolve().parent
    base: Path | dict[str, Any] = (
        (folder / parsed.base).resolve() if parsed.base is not None else dict(parsed.base_config or {})
    )
    if isinstance(base, Path) and not base.is_file():
        raise ConfigError(f"{path}: base config {parsed.base!r} not found (looked for {base})")
    _check_metrics(path, parsed)
    entries = _entries(parsed)
    spec = SweepSpec(
        name=parsed.name or path.stem,
        path=path,
        base=base,
        base_overrides=tuple(base_overrides),
        dataset=(folder / parsed.dataset).resolve(),
        corpus=(folder / parsed.corpus).resolve() if parsed.corpus else None,
        split=parsed.split,
        metrics=tuple(parsed.metrics) if parsed.metrics is not None else None,
        primary_metric=parsed.primary_metric,
        answer_metrics=parsed.answer_metrics,
        variants=(),
        baseline="",
        alpha=parsed.alpha,
        paired_method=parsed.paired_method,
        n_resamples=parsed.n_resamples,
        description=parsed.description,
    )
    try:
        _load(spec, [])
    except ConfigError as exc:
        raise ConfigError(f"{path}: the base config (with --set overrides) is invalid:\n{exc}") from None
    variants = _with_derived_axes(
        [_build_variant(spec, name, settings, axes) for name, settings, axes in entries],
        [axes is None for _, _, axes in entries],
    )
    names = [v.name for v in variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{path}: variant names must be unique; repeated: {', '.join(duplicates)}")
    baseline = parsed.baseline or names[0]
    if baseline not in names:
        raise ConfigError(f"{path}: baseline {baseline!r} is not a variant; variants: {', '.join(names)}")
    return replace(spec, variants=variants, baseline=baseline)


def _check_metrics(path: Path, parsed: SweepFile) -> None:
    """Metric names are valid and the primary metric is one the evaluation will report."""
    from ragpipe.evaluation.metric_plan import plan_metrics
    from ragpipe.evaluation.names import ANSWER_METRIC_NAMES, DEFAULT_METRICS

    names = parsed.metrics if parsed.metrics is not None else list(DEFAULT_METRICS)
    try:
        plan_metrics(names)
    except ConfigError as exc:
        raise ConfigError(f"{path}: metrics: {exc}") from None
    reported = [*names, *(ANSWER_METRIC_NAMES if parsed.answer_metrics else ())]
    if parsed.primary_metric not in reported:
        raise ConfigError(
            f"{path}: primary_metric {parsed.primary_metric!r} is not among the evaluated metrics; "
            f"valid: {', '.join(reported)} (add it to `metrics`)"
        )


def _entries(parsed: SweepFile) -> list[tuple[str | None, tuple[tuple[str, Any], ...], dict[str, Any] | None]]:
    if parsed.grid is not None:
        axes = list(parsed.grid)
        return [
            (None, tuple(zip(axes, combo, strict=True)), None) for combo in itertools.product(*parsed.grid.values())
        ]
    return [(entry.name, tuple(entry.set.items()), entry.axes) for entry in parsed.variants or []]


def _load(spec: SweepSpec, overrides: Sequence[str]) -> PipelineConfig:
    all_overrides = [*spec.base_overrides, *overrides]
    if isinstance(spec.base, Path):
        return load_config(spec.base, all_overrides)
    return load_config(spec.base, all_overrides, base_dir=spec.path.resolve().parent)


def _check_stages(config: PipelineConfig) -> None:
    """The pipeline's build-time checks (ConfigError); a model that cannot be found fails the variant when
    it runs instead, so the other variants still run."""
    try:
        check_stages(config, shared_models().embedder(config.embedding, load_settings()))
    except ConfigError:
        raise
    except RagpipeError:
        return


def _build_variant(
    spec: SweepSpec,
    name: str | None,
    settings: tuple[tuple[str, Any], ...],
    axes: dict[str, Any] | None,
) -> Variant:
    label = name or derive_name(settings)
    try:
        config = _load(spec, [override_string(p, v) for p, v in settings])
        _check_stages(config)
    except ConfigError as exc:
        raise ConfigError(_variant_error(spec, label, settings, str(exc))) from None
    return Variant(label, settings, {str(k): value_label(v) for k, v in (axes or {}).items()}, config)


def _with_derived_axes(variants: list[Variant], derive: list[bool]) -> tuple[Variant, ...]:
    """Variants without explicit ``axes`` get one axis per overridden leaf path of *any* such variant, valued
    from their effective config, so a variant that leaves a path at its base value still counts on that axis."""
    paths: dict[str, None] = {}
    for variant, derived in zip(variants, derive, strict=True):
        if derived:
            paths.update(dict.fromkeys(p for path, value in variant.settings for p, _ in flatten(path, value)))
    result = []
    for variant, derived in zip(variants, derive, strict=True):
        if derived:
            effective = variant.config.model_dump(mode="json")
            axes = {p: _lookup(effective, p) for p in paths}
            variant = replace(variant, axes={p: MISSING if v is _ABSENT else value_label(v) for p, v in axes.items()})
        result.append(variant)
    return tuple(result)


def _variant_error(spec: SweepSpec, label: str, settings: Sequence[tuple[str, Any]], message: str) -> str:
    """Name the axis whose dotted path the config error points at (or the whole variant if none matches)."""
    paths = [p for p, _ in settings]
    error_paths = [m.group(1) for line in message.splitlines() if (m := _ERROR_LINE.match(line))]
    culprits = [
        p
        for p in paths
        if any(e == p or e.startswith(p + ".") or p.startswith(e + ".") for e in error_paths) or f"'{p}=" in message
    ]
    if culprits:
        axes = ", ".join(repr(p) for p in culprits)
        head = f"{spec.path}: axis {axes} of variant {label!r} is not a valid override of the base config"
    else:
        shown = ", ".join(override_string(p, v) for p, v in settings) or "(no overrides)"
        head = f"{spec.path}: variant {label!r} ({shown}) gives an invalid config"
    return f"{head}; nothing was run:\n{message}"


def _lookup(data: Any, path: str) -> Any:
    """The value at a dotted path of a plain mapping, or ``_ABSENT``."""
    node = data
    for key in path.split("."):
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return _ABSENT
    return node
