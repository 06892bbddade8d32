"""Load a pipeline config from YAML/TOML/a mapping, apply ``--set`` overrides, report errors by dotted path."""

from __future__ import annotations

import copy
import tomllib
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from ragpipe import registry
from ragpipe.config.models import SLOTS, PipelineConfig, pipeline_config_model, slot_at
from ragpipe.errors import ConfigError


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a ``.yaml``/``.yml``/``.toml``/``.json`` file into a mapping."""
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot parse: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}")
    return data


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one ``dotted.path=value`` (value parsed as YAML) to ``data`` in place.

    Setting a stage slot's ``type`` to another registered type keeps only the fields that type has (so
    ``retrieval.fusion.type=convex`` drops RRF's ``k``)."""
    path, sep, raw = assignment.partition("=")
    path = path.strip()
    if not sep or not path:
        raise ConfigError(f"override {assignment!r} must look like dotted.path=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {assignment!r}: cannot parse value: {exc}") from None
    keys = path.split(".")
    node: Any = data
    for i, key in enumerate(keys[:-1]):
        where = ".".join(keys[: i + 1])
        if isinstance(node, list):
            node = node[_index(node, key, where)]
        elif isinstance(node, dict):
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
        else:
            raise ConfigError(f"override {assignment!r}: {'.'.join(keys[:i])} is not a mapping")
        if isinstance(node, str) and i + 1 < len(keys):  # shorthand like `store: qdrant-edge`
            raise ConfigError(f"override {assignment!r}: {where} is a plain value, not a mapping")
    last = keys[-1]
    if isinstance(node, list):
        node[_index(node, last, path)] = value
    elif isinstance(node, dict):
        if last == "type" and node.get("type") != value:
            _keep_fields_of(node, tuple(keys[:-1]), value)
        node[last] = value
    else:
        raise ConfigError(f"override {assignment!r}: {'.'.join(keys[:-1])} is not a mapping")


def _keep_fields_of(section: dict[str, Any], path: tuple[str, ...], type_name: Any) -> None:
    """Drop the keys of a stage section that the stage type ``type_name`` does not have."""
    slot = slot_at(path)
    if slot is None or not isinstance(type_name, str) or type_name not in registry.types_of(slot.kind):
        return
    fields = registry.get(slot.kind, type_name).config_cls.model_fields
    for key in [k for k in section if k not in fields]:
        del section[key]


def _index(node: list[Any], key: str, where: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ConfigError(f"override path {where!r}: list index must be 0..{len(node) - 1}, got {key!r}")
    return int(key)


def _fill_default_types(data: dict[str, Any]) -> None:
    """A stage section given as a bare type name means ``{type: name}``; one without ``type`` means the slot's
    default implementation."""
    for slot in SLOTS:
        parent: Any = data
        for key in slot.path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(parent, dict):
            continue
        section = parent.get(slot.path[-1])
        if isinstance(section, str):
            parent[slot.path[-1]] = {"type": section}
        elif isinstance(section, dict):
            section.setdefault("type", slot.default)


def load_config(
    source: str | Path | Mapping[str, Any] | None = None,
    overrides: Sequence[str] = (),
    base_dir: Path | None = None,
) -> PipelineConfig:
    """Validate a config from a file path or mapping plus overrides.

    Relative source paths resolve against the config file's folder (or ``base_dir``/cwd for a mapping).
    """
    origin = "config"
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        data = copy.deepcopy(dict(source))
    else:
        path = Path(source)
        data = read_config_file(path)
        origin = str(path)
        base_dir = base_dir or path.resolve().parent
    for assignment in overrides:
        apply_override(data, assignment)
    _fill_default_types(data)
    model = pipeline_config_model()
    try:
        config = model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, model, origin)) from None
    return config.with_base_dir(base_dir or Path.cwd())


def dump_config(config: BaseModel) -> str:
    """The effective config (defaults included) as YAML."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, allow_unicode=True)


def format_validation_error(exc: ValidationError, model: type[BaseModel], origin: str) -> str:
    lines = [f"{origin}: invalid config ({exc.error_count()} error{'s' if exc.error_count() > 1 else ''})"]
    for err in exc.errors():
        dotted, owner = _user_path(model, err["loc"])
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            dotted = f"{dotted}.type" if dotted else "type"
        lines.append(f"  {dotted or '(top level)'}: {_describe(err, owner)}")
    return "\n".join(lines)


def _describe(err: Any, owner: type[BaseModel] | None) -> str:
    kind = err["type"]
    got = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "union_tag_invalid":
        tags = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"{ctx.get('tag')!r} is not a registered type; allowed: {tags}"
    if kind == "extra_forbidden":
        allowed = ", ".join(sorted(owner.model_fields)) if owner else "?"
        return f"unknown key (value {got!r}); allowed keys: {allowed}"
    if kind == "literal_error":
        return f"{got!r} is not valid; allowed: {ctx.get('expected', '')}"
    return f"{err['msg']} (got {got!r})"


def _user_path(model: type[BaseModel], loc: Sequence[int | str]) -> tuple[str, type[BaseModel] | None]:
    """Turn a pydantic error location into the dotted path a user wrote (without union tags).

    Also returns the model class owning the last key, to list its valid keys.
    """
    parts: list[str] = []
    current: Any = model
    owner: type[BaseModel] | None = None
    pending_union: tuple[type[BaseModel], ...] = ()
    for item in loc:
        if pending_union:
            match = [c for c in pending_union if c.model_fields["type"].default == item]
            pending_union = ()
            if match:
                current = match[0]
                continue
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
            current = _element_type(current)
            continue
        parts.append(str(item))
        if isinstance(current, type) and issubclass(current, BaseModel) and item in current.model_fields:
            owner = current
            current = _unwrap(current.model_fields[item].annotation)
            if get_origin(current) in (Union, types.UnionType):
                pending_union = tuple(a for a in get_args(current) if isinstance(a, type) and issubclass(a, BaseModel))
        else:
            owner = current if isinstance(current, type) and issubclass(current, BaseModel) else None
            current = None
    return ".".join(parts), owner


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _element_type(annotation: Any) -> Any:
    args = get_args(_unwrap(annotation)) if annotation is not None else ()
    return _unwrap(args[0]) if args else None
