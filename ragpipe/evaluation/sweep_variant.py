"""Typed results of the variants of a sweep: each one that ran (:class:`VariantResult`) or failed.

``to_dict()`` gives the JSON form stored under ``variants`` / ``failed`` in ``sweep.json``; ``from_dict()``
reads it back (a failure read back has no exception object, only its message).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ragpipe.errors import RagpipeError

CAPPED_MARK = "*"
"""Marks a mean that some questions' ranking could not fill at its k (retrieval stopped at its depth)."""
CAPPED_NOTE = (
    "* capped: for some questions the ranking held fewer than k documents (chunks, for span metrics) because a "
    "leg stopped at its depth (retrieval.dense_top_k / lexical_top_k); the value is what that depth allows"
)


@dataclass(frozen=True, slots=True)
class IngestSummary:
    """What the ingest of one variant did (``chunks_total``/``documents_total``: the index after it)."""

    seconds: float = 0.0
    chunks_embedded: int = 0
    """Chunk texts embedded (the rest came from the embedding cache)."""
    texts_embedded: int = 0
    """Every document-side text embedded: chunks plus, e.g., a semantic chunker's sentence groups."""
    chunks_indexed: int = 0
    chunks_total: int = 0
    documents_total: int = 0
    documents_indexed: int = 0
    documents_unchanged: int = 0
    failures: tuple[tuple[str, str], ...] = ()
    """``(path, reason)`` of each file the ingest could not index."""

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["failures"] = [{"path": path, "reason": reason} for path, reason in self.failures]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IngestSummary:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data and f.name != "failures"}
        values.setdefault("texts_embedded", values.get("chunks_embedded", 0))
        return cls(**values, failures=tuple((f["path"], f["reason"]) for f in data.get("failures", [])))


@dataclass(frozen=True, slots=True)
class VariantResult:
    """The scores and ingest work of one variant that ran (see :class:`~ragpipe.evaluation.result.EvalResult`)."""

    name: str
    overrides: tuple[str, ...] = ()
    axes: Mapping[str, str] = field(default_factory=dict)
    """Axis label -> value label."""
    metrics: Mapping[str, float] = field(default_factory=dict)
    """Metric -> mean (every metric is "higher is better")."""
    ci: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    per_query: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """Metric -> question id -> score (what the paired tests pair)."""
    latency_ms: Mapping[str, float] = field(default_factory=dict)
    counts: Mapping[str, int] = field(default_factory=dict)
    skipped: tuple[tuple[str, str], ...] = ()
    """``(location, reason)`` of each question the evaluation skipped."""
    capped: Mapping[str, int] = field(default_factory=dict)
    """Metric -> questions whose ranking could not fill its k (see :mod:`ragpipe.evaluation.metric_plan`)."""
    ingest: IngestSummary = IngestSummary()
    index_dir: str = ""
    eval_dir: str = ""
    """The variant's own evaluation files, relative to the sweep's output folder."""
    config: Mapping[str, Any] = field(default_factory=dict, repr=False)
    """The variant's full effective config (JSON form)."""

    def metric_text(self, metric: str, digits: int = 3) -> str:
        """The mean as shown in tables, with ``*`` when it is capped by retrieval depth ("" without a mean)."""
        mean = self.metrics.get(metric)
        if mean is None:
            return ""
        return f"{mean:.{digits}f}{CAPPED_MARK if metric in self.capped else ''}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "overrides": list(self.overrides),
            "axes": dict(self.axes),
            "metrics": dict(self.metrics),
            "ci": {metric: list(interval) for metric, interval in self.ci.items()},
            "per_query": {metric: dict(scores) for metric, scores in self.per_query.items()},
            "latency_ms": dict(self.latency_ms),
            "counts": dict(self.counts),
            "skipped": [{"location": where, "reason": why} for where, why in self.skipped],
            "capped": dict(self.capped),
            "ingest": self.ingest.to_dict(),
            "index_dir": self.index_dir,
            "eval_dir": self.eval_dir,
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantResult:
        return cls(
            name=data["name"],
            overrides=tuple(data.get("overrides", ())),
            axes=dict(data.get("axes", {})),
            metrics=dict(data.get("metrics", {})),
            ci={metric: (low, high) for metric, (low, high) in data.get("ci", {}).items()},
            per_query={metric: dict(scores) for metric, scores in data.get("per_query", {}).items()},
            latency_ms=dict(data.get("latency_ms", {})),
            counts=dict(data.get("counts", {})),
            skipped=tuple((s["location"], s["reason"]) for s in data.get("skipped", [])),
            capped=dict(data.get("capped", {})),
            ingest=IngestSummary.from_dict(data.get("ingest", {})),
            index_dir=data.get("index_dir", ""),
            eval_dir=data.get("eval_dir", ""),
            config=dict(data.get("config", {})),
        )


@dataclass(frozen=True, slots=True)
class VariantFailure:
    """A variant that raised: the exception itself (None when read back from ``sweep.json``) and its text."""

    name: str
    message: str
    """``ExceptionType: message``, as shown in the reports."""
    error: RagpipeError | None = field(default=None, compare=False)

    @classmethod
    def of(cls, name: str, error: RagpipeError) -> VariantFailure:
        return cls(name, f"{type(error).__name__}: {error}", error)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "error": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VariantFailure:
        return cls(data["name"], data["error"])
