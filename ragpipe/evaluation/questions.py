"""The questions evaluation scores, whatever format they were loaded from (QA JSONL, BEIR)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragpipe.evaluation.span_metrics import Span


@dataclass(frozen=True)
class EvalQuestion:
    """One question with its judgments: graded relevant documents, gold spans and gold answer."""

    id: str
    question: str
    answer: str | None
    relevant_docs: dict[str, int]
    spans: tuple[Span, ...] = ()
    filters: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class EvalSet:
    """Questions ready to score; ``skipped`` lists every item left out as ``(location, reason)``."""

    name: str
    questions: list[EvalQuestion]
    corpus_dir: Path | None
    skipped: list[tuple[str, str]] = field(default_factory=list)
    split: str = "test"
    """The BEIR split loaded; QA files have no splits and record the name they were loaded with."""


class LineError(ValueError):
    """A problem with one input line; the loader records it and skips the line."""
