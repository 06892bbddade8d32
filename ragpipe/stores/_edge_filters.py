"""Map the engine-neutral clause tree of :mod:`ragpipe.stores._payload` onto ``qdrant_edge`` filters."""

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


def edge_filter(expr: FilterExpr | None) -> Any:
    """A ``qdrant_edge.Filter`` equivalent to ``expr`` (None for no filter)."""
    clause = compile_filter(expr)
    return None if clause is None else _clause(clause)


def edge_doc_ids_filter(doc_ids: Sequence[str]) -> Any:
    return _clause(doc_ids_clause(doc_ids))


def _clause(clause: Clause) -> Any:
    from qdrant_edge import Filter

    return Filter(
        must=[_condition(c) for c in clause.must] or None,
        should=[_condition(c) for c in clause.should] or None,
        must_not=[_condition(c) for c in clause.must_not] or None,
    )


def _condition(cond: Condition) -> Any:
    import numpy as np
    from qdrant_edge import FieldCondition, IsEmptyCondition, MatchAny, MatchValue, RangeFloat

    if isinstance(cond, Clause):
        return _clause(cond)
    if isinstance(cond, MatchCond):
        # qdrant-edge-py 0.9 reads a Python bool as the integer 0/1; numpy.bool_ reaches it as a bool
        value = np.bool_(cond.value) if isinstance(cond.value, bool) else cond.value
        return FieldCondition(key=cond.key, match=MatchValue(value))
    if isinstance(cond, MatchAnyCond):
        return FieldCondition(key=cond.key, match=MatchAny(list(cond.values)))
    if isinstance(cond, RangeCond):
        return FieldCondition(key=cond.key, range=RangeFloat(gte=cond.gte, gt=cond.gt, lte=cond.lte, lt=cond.lt))
    if isinstance(cond, IsEmptyCond):
        return IsEmptyCondition(cond.key)
    raise TypeError(f"unknown condition {cond!r}")
