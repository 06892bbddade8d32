"""Metadata filters: one syntax for config files, the CLI (``--filter``) and the Python API.

A filter is a mapping. Each key is a metadata field (combined with AND) or one of the
operators ``and`` / ``or`` (lists) and ``not`` (a mapping)::

    {"team": "platform"}                              # equality
    {"team": {"in": ["platform", "security"]}}       # membership (a bare list means the same)
    {"year": {"gte": 2022, "lt": 2025}}              # numeric range: gt, gte, lt, lte
    {"owner": {"exists": True}}                      # field present and not null/empty
    {"status": {"ne": "retired"}}                    # not equal
    {"or": [{"team": "platform"}, {"not": {"year": {"lt": 2020}}}]}

A field whose value is a list matches when any element matches (as in Qdrant). The parsed
form is a small tree of frozen dataclasses that every index compiles to its own filter, so a
filter applies identically to every retrieval leg before fusion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ragpipe.errors import ConfigError

Scalar = str | int | float | bool
_RANGE_OPS = ("gt", "gte", "lt", "lte")
_FIELD_OPS = ("eq", "ne", "in", "exists", *_RANGE_OPS)


@dataclass(frozen=True)
class Eq:
    field: str
    value: Scalar


@dataclass(frozen=True)
class In:
    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    field: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class Exists:
    field: str


@dataclass(frozen=True)
class And:
    items: tuple[FilterExpr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[FilterExpr, ...]


@dataclass(frozen=True)
class Not:
    item: FilterExpr


FilterExpr = Eq | In | Range | Exists | And | Or | Not


def parse_filter(spec: Any, where: str = "filter") -> FilterExpr | None:
    """Parse the mapping syntax above (or a JSON/YAML string of it); ``None``/``{}`` means no filter."""
    if spec is None:
        return None
    if isinstance(spec, str):
        spec = _parse_text(spec, where)
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: a filter must be a mapping, got {spec!r}")
    if not spec:
        return None
    return _parse_mapping(spec, where)


def _parse_text(text: str, where: str) -> Any:
    """``--filter`` accepts JSON/YAML flow (``{year: {gte: 2022}}``) or ``field=value``."""
    import yaml

    stripped = text.strip()
    if not stripped.startswith("{") and "=" in stripped:
        field, _, raw = stripped.partition("=")
        return {field.strip(): yaml.safe_load(raw) if raw.strip() else ""}
    try:
        return yaml.safe_load(stripped)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: cannot parse filter {text!r}: {exc}") from None


def _parse_mapping(spec: Mapping[str, Any], where: str) -> FilterExpr:
    items: list[FilterExpr] = []
    for key, value in spec.items():
        path = f"{where}.{key}"
        if key in ("and", "or"):
            if not isinstance(value, list) or not value:
                raise ConfigError(f"{path}: expects a non-empty list of filters, got {value!r}")
            subs = tuple(_parse_mapping(_mapping(v, f"{path}[{i}]"), f"{path}[{i}]") for i, v in enumerate(value))
            items.append(And(subs) if key == "and" else Or(subs))
        elif key == "not":
            items.append(Not(_parse_mapping(_mapping(value, path), path)))
        else:
            items.append(_parse_field(str(key), value, path))
    return items[0] if len(items) == 1 else And(tuple(items))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise ConfigError(f"{where}: expects a non-empty mapping, got {value!r}")
    return value


def _parse_field(field: str, value: Any, where: str) -> FilterExpr:
    if isinstance(value, list):
        return In(field, tuple(_scalar(v, where) for v in value))
    if not isinstance(value, Mapping):
        return Eq(field, _scalar(value, where))
    unknown = [op for op in value if op not in _FIELD_OPS]
    if unknown:
        raise ConfigError(f"{where}: unknown operator {unknown[0]!r}; valid operators: {', '.join(_FIELD_OPS)}")
    parts: list[FilterExpr] = []
    if "eq" in value:
        parts.append(Eq(field, _scalar(value["eq"], f"{where}.eq")))
    if "ne" in value:
        parts.append(Not(Eq(field, _scalar(value["ne"], f"{where}.ne"))))
    if "in" in value:
        vals = value["in"]
        if not isinstance(vals, list) or not vals:
            raise ConfigError(f"{where}.in: expects a non-empty list, got {vals!r}")
        parts.append(In(field, tuple(_scalar(v, f"{where}.in") for v in vals)))
    bounds = {op: value[op] for op in _RANGE_OPS if op in value}
    if bounds:
        for op, bound in bounds.items():
            if isinstance(bound, bool) or not isinstance(bound, (int, float)):
                raise ConfigError(f"{where}.{op}: range bounds must be numbers, got {bound!r}")
        parts.append(Range(field, **{op: float(b) for op, b in bounds.items()}))
    if "exists" in value:
        flag = value["exists"]
        if not isinstance(flag, bool):
            raise ConfigError(f"{where}.exists: expects true or false, got {flag!r}")
        parts.append(Exists(field) if flag else Not(Exists(field)))
    if not parts:
        raise ConfigError(f"{where}: empty condition; valid operators: {', '.join(_FIELD_OPS)}")
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def _scalar(value: Any, where: str) -> Scalar:
    if isinstance(value, (str, int, float, bool)):
        return value
    raise ConfigError(f"{where}: expects a string, number or boolean, got {value!r}")


def _lookup(metadata: Mapping[str, Any], field: str) -> Any:
    if field in metadata:
        return metadata[field]
    node: Any = metadata
    for part in field.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _values(raw: Any) -> list[Any]:
    if raw is None:
        return []
    return list(raw) if isinstance(raw, (list, tuple)) else [raw]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return a == b


def _in_range(v: Any, r: Range) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    return (
        (r.gt is None or v > r.gt)
        and (r.gte is None or v >= r.gte)
        and (r.lt is None or v < r.lt)
        and (r.lte is None or v <= r.lte)
    )


def matches(expr: FilterExpr | None, metadata: Mapping[str, Any]) -> bool:
    """Evaluate a filter against one chunk's metadata (reference semantics for every index)."""
    if expr is None:
        return True
    if isinstance(expr, Eq):
        return any(_same(v, expr.value) for v in _values(_lookup(metadata, expr.field)))
    if isinstance(expr, In):
        return any(_same(v, w) for v in _values(_lookup(metadata, expr.field)) for w in expr.values)
    if isinstance(expr, Range):
        return any(_in_range(v, expr) for v in _values(_lookup(metadata, expr.field)))
    if isinstance(expr, Exists):
        return bool(_values(_lookup(metadata, expr.field)))
    if isinstance(expr, And):
        return all(matches(e, metadata) for e in expr.items)
    if isinstance(expr, Or):
        return any(matches(e, metadata) for e in expr.items)
    if isinstance(expr, Not):
        return not matches(expr.item, metadata)
    raise TypeError(f"not a filter expression: {expr!r}")


def to_spec(expr: FilterExpr | None) -> dict[str, Any]:
    """The canonical mapping form of a parsed filter (round-trips through :func:`parse_filter`)."""
    if expr is None:
        return {}
    if isinstance(expr, Eq):
        return {expr.field: {"eq": expr.value}}
    if isinstance(expr, In):
        return {expr.field: {"in": list(expr.values)}}
    if isinstance(expr, Range):
        return {expr.field: {op: getattr(expr, op) for op in _RANGE_OPS if getattr(expr, op) is not None}}
    if isinstance(expr, Exists):
        return {expr.field: {"exists": True}}
    if isinstance(expr, And):
        return {"and": [to_spec(e) for e in expr.items]}
    if isinstance(expr, Or):
        return {"or": [to_spec(e) for e in expr.items]}
    return {"not": to_spec(expr.item)}


def cache_key(expr: FilterExpr | None) -> str:
    """A stable string key for caching per-filter work (e.g. lexical masks)."""
    return json.dumps(to_spec(expr), sort_keys=True)


def combine(*exprs: FilterExpr | None) -> FilterExpr | None:
    """AND together the given filters, ignoring ``None``."""
    present = tuple(e for e in exprs if e is not None)
    if not present:
        return None
    return present[0] if len(present) == 1 else And(present)
