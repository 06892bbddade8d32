"""What the Qdrant stores share: point ids, Chunk <-> payload, and filter compilation.

Filters are compiled in two steps: :func:`compile_filter` turns a :mod:`ragpipe.filters`
expression into a small engine-neutral clause tree (:class:`Clause` and the ``*Cond`` classes),
which :func:`engine_filter` maps one-to-one onto an engine's filter classes (:class:`FilterModels`).
The tree is built so that Qdrant's semantics equal :func:`ragpipe.filters.matches`:

- a field ``f`` is the payload key ``metadata.f``; a dotted field ``a.b`` is a nested path;
- list-valued fields match if any element matches (Qdrant does this natively);
- Qdrant's exact match never equates int and float payloads (``2`` vs ``2.0``) while Python does,
  so numeric equality compiles to a range ``gte == lte == value`` (ranges skip booleans, as
  ``matches`` does); integers beyond 2**53, which a float range cannot compare exactly, use an
  exact integer match instead;
- ``Exists`` is ``NOT is_empty`` (present, not null, not ``[]``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.filters import And, Eq, Exists, FilterExpr, In, Not, Or, Range
from ragpipe.types import Chunk

METADATA_KEY = "metadata"
METADATA_JSON_KEY = "metadata_json"
DOC_ID_KEY = "doc_id"
DENSE = "dense"
SPARSE = "sparse"
PAYLOAD_SCHEMAS = ("keyword", "integer", "float", "bool")
PayloadSchema = Literal["keyword", "integer", "float", "bool"]
_EXACT_FLOAT_INT = 2**53
_CHUNK_ID_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4b7a-9a51-2b8e4f0c7d13")


# ---------------------------------------------------------------------------- ids and payloads


def point_id(chunk_id: str) -> uuid.UUID:
    """The Qdrant point id of a chunk: its 32-hex id read as a UUID (else a UUID5 of the id)."""
    if len(chunk_id) == 32:
        try:
            return uuid.UUID(hex=chunk_id)
        except ValueError:
            pass
    return uuid.uuid5(_CHUNK_ID_NAMESPACE, chunk_id)


def chunk_to_payload(chunk: Chunk) -> dict[str, Any]:
    """The point payload of a chunk; metadata is made JSON-safe (dates -> str, tuples -> lists).

    qdrant-edge-py 0.9 may move a full-precision float by one ulp on the way in, so metadata
    holding floats is also kept verbatim as JSON text (``metadata_json``) for an exact round trip;
    the structured ``metadata`` copy is what filters see.
    """
    try:
        text = json.dumps(chunk.metadata, default=str, allow_nan=False, ensure_ascii=False)
    except ValueError as exc:
        raise RagpipeError(
            f"chunk {chunk.id} of {chunk.doc_id!r}: metadata holds NaN or infinity, which Qdrant cannot store"
        ) from exc
    metadata = json.loads(text)
    payload = {
        "doc_id": chunk.doc_id,
        "chunk_id": chunk.id,
        "text": chunk.text,
        "start": chunk.start,
        "end": chunk.end,
        "parent_id": chunk.parent_id,
        METADATA_KEY: metadata,
    }
    if _has_float(metadata):
        payload[METADATA_JSON_KEY] = text
    return payload


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    return isinstance(value, list) and any(_has_float(v) for v in value)


def payload_to_chunk(payload: Mapping[str, Any] | None) -> Chunk:
    if not payload or "chunk_id" not in payload:
        raise RagpipeError(f"stored point has no ragpipe chunk payload (got keys {sorted(payload or {})})")
    return Chunk(
        id=payload["chunk_id"],
        doc_id=payload["doc_id"],
        text=payload["text"],
        start=int(payload["start"]),
        end=int(payload["end"]),
        metadata=json.loads(exact)
        if (exact := payload.get(METADATA_JSON_KEY))
        else dict(payload.get(METADATA_KEY) or {}),
        parent_id=payload.get("parent_id"),
    )


def check_batch(chunks: Sequence[Chunk], dense: Any, sparse: Sequence[Any] | None) -> None:
    """Raise if the dense matrix / sparse list do not line up with ``chunks``."""
    shape = getattr(dense, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != len(chunks):
        raise RagpipeError(f"upsert: dense must be a 2-D array with one row per chunk ({len(chunks)}), got {shape}")
    if sparse is not None and len(sparse) != len(chunks):
        raise RagpipeError(f"upsert: got {len(sparse)} sparse vectors for {len(chunks)} chunks")


def batches(count: int, size: int) -> Iterable[slice]:
    for start in range(0, count, size):
        yield slice(start, min(start + size, count))


# ---------------------------------------------------------------------------- payload indexes


def parse_payload_index(spec: str, where: str) -> tuple[str, PayloadSchema]:
    """``"team"`` -> ``("metadata.team", "keyword")``; ``"year:integer"`` picks the index type."""
    field, _, schema = spec.partition(":")
    schema = schema.strip() or "keyword"
    if schema not in PAYLOAD_SCHEMAS:
        raise ConfigError(f"{where}: index type {schema!r} of {spec!r} is not one of {', '.join(PAYLOAD_SCHEMAS)}")
    return metadata_key(field.strip(), where), schema  # type: ignore[return-value]


def check_payload_indexes(specs: list[str], where: str) -> list[str]:
    """Pydantic validator body: every entry parses."""
    for i, spec in enumerate(specs):
        parse_payload_index(spec, f"{where}[{i}]")
    return specs


def metadata_key(field: str, where: str = "filter") -> str:
    """The Qdrant JSON path of a metadata field; segments that are not plain words are quoted."""
    parts = field.split(".")
    if not field or any(not p or '"' in p for p in parts):
        raise ConfigError(f"{where}: metadata field {field!r} cannot be a Qdrant path (empty segment or a quote)")
    quoted = [p if all(c.isalnum() or c in "_-" for c in p) else f'"{p}"' for p in parts]
    return ".".join((METADATA_KEY, *quoted))


# ---------------------------------------------------------------------------- filter compilation


@dataclass(frozen=True)
class MatchCond:
    key: str
    value: str | int | bool


@dataclass(frozen=True)
class MatchAnyCond:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class RangeCond:
    key: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


@dataclass(frozen=True)
class IsEmptyCond:
    key: str


@dataclass(frozen=True)
class Clause:
    """A Qdrant filter: all of ``must``, at least one of ``should`` (if any), none of ``must_not``."""

    must: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()


Condition = MatchCond | MatchAnyCond | RangeCond | IsEmptyCond | Clause


def compile_filter(expr: FilterExpr | None) -> Clause | None:
    """The engine-neutral clause tree of a ragpipe filter (None for no filter)."""
    if expr is None:
        return None
    condition = _compile(expr)
    return condition if isinstance(condition, Clause) else Clause(must=(condition,))


def doc_ids_clause(doc_ids: Sequence[str]) -> Clause:
    return Clause(must=(MatchAnyCond(DOC_ID_KEY, tuple(doc_ids)),))


def _compile(expr: FilterExpr) -> Condition:
    if isinstance(expr, Eq):
        return _equals(metadata_key(expr.field), expr.value)
    if isinstance(expr, In):
        return _one_of(metadata_key(expr.field), expr.values)
    if isinstance(expr, Range):
        return RangeCond(metadata_key(expr.field), gt=expr.gt, gte=expr.gte, lt=expr.lt, lte=expr.lte)
    if isinstance(expr, Exists):
        return Clause(must_not=(IsEmptyCond(metadata_key(expr.field)),))
    if isinstance(expr, And):
        return Clause(must=tuple(_compile(e) for e in expr.items))
    if isinstance(expr, Or):
        return Clause(should=tuple(_compile(e) for e in expr.items))
    if isinstance(expr, Not):
        return Clause(must_not=(_compile(expr.item),))
    raise TypeError(f"not a filter expression: {expr!r}")


def _equals(key: str, value: str | int | float | bool) -> Condition:
    if isinstance(value, (str, bool)):
        return MatchCond(key, value)
    if isinstance(value, int) and abs(value) >= _EXACT_FLOAT_INT:
        return MatchCond(key, value)
    return RangeCond(key, gte=float(value), lte=float(value))


def _one_of(key: str, values: Sequence[str | int | float | bool]) -> Condition:
    strings = tuple(dict.fromkeys(v for v in values if isinstance(v, str)))
    # keyed by type too: True == 1 == 1.0 in Python, but they are different filter values
    others = [_equals(key, v) for _, v in dict.fromkeys((type(v), v) for v in values if not isinstance(v, str))]
    options: list[Condition] = [MatchAnyCond(key, strings)] if strings else []
    options.extend(others)
    return options[0] if len(options) == 1 else Clause(should=tuple(options))


# ---------------------------------------------------------------------------- engine filters


@dataclass(frozen=True)
class FilterModels:
    """One engine's filter classes (qdrant-client's ``models`` or qdrant-edge's), called by keyword."""

    filter: Callable[..., Any]
    """``filter(must=, should=, must_not=)``, each a list of conditions or None."""
    field_condition: Callable[..., Any]
    """``field_condition(key=, match=)`` or ``field_condition(key=, range=)``."""
    match_value: Callable[..., Any]
    """``match_value(value=)`` for a str, int or bool."""
    match_any: Callable[..., Any]
    """``match_any(any=)`` for a list of strings."""
    range: Callable[..., Any]
    """``range(gt=, gte=, lt=, lte=)`` (float bounds or None)."""
    is_empty: Callable[[str], Any]
    """The whole is-empty condition of a payload key."""


def engine_filter(expr: FilterExpr | None, models: FilterModels) -> Any:
    """The engine's filter equivalent to ``expr`` (None for no filter)."""
    clause = compile_filter(expr)
    return None if clause is None else _engine_clause(clause, models)


def engine_doc_ids_filter(doc_ids: Sequence[str], models: FilterModels) -> Any:
    """The engine's filter matching the points of any of ``doc_ids``."""
    return _engine_clause(doc_ids_clause(doc_ids), models)


def _engine_clause(clause: Clause, models: FilterModels) -> Any:
    return models.filter(
        must=[_engine_condition(c, models) for c in clause.must] or None,
        should=[_engine_condition(c, models) for c in clause.should] or None,
        must_not=[_engine_condition(c, models) for c in clause.must_not] or None,
    )


def _engine_condition(cond: Condition, models: FilterModels) -> Any:
    if isinstance(cond, Clause):
        return _engine_clause(cond, models)
    if isinstance(cond, MatchCond):
        return models.field_condition(key=cond.key, match=models.match_value(value=cond.value))
    if isinstance(cond, MatchAnyCond):
        return models.field_condition(key=cond.key, match=models.match_any(any=list(cond.values)))
    if isinstance(cond, RangeCond):
        rng = models.range(gt=cond.gt, gte=cond.gte, lt=cond.lt, lte=cond.lte)
        return models.field_condition(key=cond.key, range=rng)
    if isinstance(cond, IsEmptyCond):
        return models.is_empty(cond.key)
    raise TypeError(f"unknown condition {cond!r}")
