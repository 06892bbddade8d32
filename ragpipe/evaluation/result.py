"""The outcome of one evaluation run: metric means with confidence intervals, per-question scores, files."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ragpipe.errors import ConfigError

SUMMARY_FILE = "summary.json"
MARKDOWN_FILE = "summary.md"
QUESTIONS_FILE = "per_question.jsonl"


@dataclass
class EvalResult:
    """Scores of one config on one eval set.

    ``metrics`` are means over the questions each metric applies to (document metrics: every scored
    question; span metrics: questions with gold spans; answer metrics: questions with a gold answer);
    ``ci`` their bootstrap 95% intervals; ``per_query`` maps metric -> question id -> value (what paired
    tests need); ``latency_ms`` holds percentiles of the per-question total time; ``questions`` the
    per-question records written to ``per_question.jsonl``.
    """

    name: str
    dataset: str
    split: str
    config: dict[str, Any]
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    per_query: dict[str, dict[str, float]]
    latency_ms: dict[str, float]
    counts: dict[str, int]
    capped: dict[str, int] = field(default_factory=dict)
    """Metric -> questions whose ranking could not fill its k (see :mod:`ragpipe.evaluation.metric_plan`)."""
    questions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)

    def to_summary(self) -> dict[str, Any]:
        """JSON-ready form of everything but the per-question records (``per_query`` included)."""
        return {
            "name": self.name,
            "dataset": self.dataset,
            "split": self.split,
            "metrics": dict(self.metrics),
            "ci": {metric: [low, high] for metric, (low, high) in self.ci.items()},
            "latency_ms": dict(self.latency_ms),
            "counts": dict(self.counts),
            "capped": dict(self.capped),
            "notes": dict(self.notes),
            "skipped": [{"location": where, "reason": why} for where, why in self.skipped],
            "per_query": {metric: dict(values) for metric, values in self.per_query.items()},
            "config": self.config,
        }

    def write(self, out_dir: Path | str) -> None:
        """Write ``per_question.jsonl``, ``summary.json`` and ``summary.md`` into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / QUESTIONS_FILE, "w", encoding="utf-8") as handle:
            for record in self.questions:
                handle.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        (out / SUMMARY_FILE).write_text(
            json.dumps(self.to_summary(), indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
        )
        (out / MARKDOWN_FILE).write_text(self.to_markdown(), encoding="utf-8")

    def to_markdown(self) -> str:
        """A Markdown report: the metric table (mean, 95% CI, questions scored), latency, counts, notes."""
        lines = [
            f"# {self.name} on {self.dataset} ({self.split})",
            "",
            "| metric | mean | 95% CI | questions |",
            "|---|---:|---|---:|",
        ]
        for metric, mean in self.metrics.items():
            low, high = self.ci.get(metric, (math.nan, math.nan))
            label = f"{metric} (capped: {self.capped[metric]})" if metric in self.capped else metric
            lines.append(f"| {label} | {mean:.4f} | [{low:.4f}, {high:.4f}] | {len(self.per_query.get(metric, {}))} |")
        lines += ["", "| latency | ms |", "|---|---:|"]
        lines += [f"| {key} | {value:.1f} |" for key, value in self.latency_ms.items()]
        lines += ["", "| count | value |", "|---|---:|"]
        lines += [f"| {key} | {value} |" for key, value in self.counts.items()]
        if self.notes:
            lines += ["", *(f"- **{key}**: {value}" for key, value in self.notes.items())]
        if self.skipped:
            lines += ["", f"## Skipped ({len(self.skipped)})", ""]
            lines += [f"- `{where}`: {why}" for where, why in self.skipped]
        return "\n".join(lines) + "\n"

    @staticmethod
    def load_summary(path: Path | str) -> dict[str, Any]:
        """Read a ``summary.json`` written by :meth:`write` or ``ragpipe eval --json``; ConfigError if it is not one."""
        source = Path(path)
        if not source.is_file():
            raise ConfigError(f"summary file {str(source)!r} not found")
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: not a JSON summary: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
            raise ConfigError(f"{source}: not an eval summary (no 'metrics' object)")
        if not isinstance(data.get("per_query"), dict):
            raise ConfigError(f"{source}: eval summary without 'per_query' scores; re-run `ragpipe eval --json`")
        return data
