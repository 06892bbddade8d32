"""Map the engine-neutral clause tree of :mod:`ragpipe.stores._payload` onto ``qdrant_client`` models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragpipe.filters import FilterExpr
from ragpipe.stores._payload import (
    Clause,
    Condition,
    IsEmptyCond,
    MatchAnyCond,
    MatchCond,
    RangeCond,
    compile_filter,
    doc_ids_clause,
)


def client_filter(expr: FilterExpr | None) -> Any:
    """A ``qdrant_client.models.Filter`` equivalent to ``expr`` (None for no filter)."""
    clause = compile_filter(expr)
    return None if clause is None else _clause(clause)


def client_doc_ids_filter(doc_ids: Sequence[str]) -> Any:
    return _clause(doc_ids_clause(doc_ids))


def _clause(clause: Clause) -> Any:
    from qdrant_client import models

    return models.Filter(
        must=[_condition(c) for c in clause.must] or None,
        should=[_condition(c) for c in clause.should] or None,
        must_not=[_condition(c) for c in clause.must_not] or None,
    )


def _condition(cond: Condition) -> Any:
    from qdrant_client import models

    if isinstance(cond, Clause):
        return _clause(cond)
    if isinstance(cond, MatchCond):
        return models.FieldCondition(key=cond.key, match=models.MatchValue(value=cond.value))
    if isinstance(cond, MatchAnyCond):
        return models.FieldCondition(key=cond.key, match=models.MatchAny(any=list(cond.values)))
    if isinstance(cond, RangeCond):
        rng = models.Range(gt=cond.gt, gte=cond.gte, lt=cond.lt, lte=cond.lte)
        return models.FieldCondition(key=cond.key, range=rng)
    if isinstance(cond, IsEmptyCond):
        return models.IsEmptyCondition(is_empty=models.PayloadField(key=cond.key))
    raise TypeError(f"unknown condition {cond!r}")
