"""A query as the pipeline runs it: every argument checked, with a clear error naming the bad one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ragpipe.config.models import RetrievalConfig
from ragpipe.errors import ConfigError
from ragpipe.filters import FilterExpr, combine, parse_filter

MODES = ("hybrid", "dense", "lexical")


@dataclass(frozen=True)
class QueryRequest:
    text: str
    filters: FilterExpr | None
    """The call's filters ANDed with the config's ``retrieval.filters``."""
    top_k: int
    mode: str
    answer: bool
    full_ranking: bool
    """Also return every fused candidate (what evaluation scores), not only the ``top_k`` chunks."""


def query_request(
    retrieval: RetrievalConfig,
    text: Any,
    filters: Mapping[str, Any] | str | FilterExpr | None = None,
    top_k: Any = None,
    mode: Any = None,
    answer: bool = True,
    full_ranking: bool = False,
) -> QueryRequest:
    """Validate one query's arguments (``top_k``/``mode`` None: the config's)."""
    return QueryRequest(
        text=_text(text),
        filters=combine(
            parse_filter(retrieval.filters, "retrieval.filters"),
            filters if isinstance(filters, FilterExpr) else parse_filter(filters, "filters"),
        ),
        top_k=retrieval.top_k if top_k is None else _top_k(top_k),
        mode=retrieval.mode if mode is None else _mode(mode),
        answer=bool(answer),
        full_ranking=bool(full_ranking),
    )


def _text(text: Any) -> str:
    if not isinstance(text, str):
        raise ConfigError(f"query text must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start : exc.end].encode("utf-8", "surrogateescape")
        raise ConfigError(
            f"query text is not valid UTF-8 (bytes {bad!r} at character {exc.start}); pass the query as UTF-8"
        ) from None
    if not text.strip():
        raise ConfigError("query text is empty")
    return text


def _top_k(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"top_k must be a whole number >= 1, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ConfigError(f"top_k must be >= 1, got {value}")
    return value


def _mode(value: Any) -> str:
    if value not in MODES:
        raise ConfigError(f"retrieval mode {value!r} is not valid; allowed: {', '.join(MODES)}")
    return str(value)
