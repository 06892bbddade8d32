"""Which metrics an evaluation reports, checked up front, and when a metric at k is capped by retrieval.

Retrieval depth never depends on the metric list: every question retrieves the config's full candidate list
(all fused hits of its legs, ``dense_top_k`` / ``lexical_top_k`` chunks each). A metric at k needs k
documents (or chunks, for span metrics); when a question's list is shorter than k *because a leg stopped
at its depth* (it returned exactly its ``top_k``), the value is what that depth allows, not the metric at
k: such metrics are reported as capped (with the number of questions), never silently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ragpipe.errors import ConfigError
from ragpipe.evaluation.names import DOCUMENT_METRICS, SPAN_METRICS
from ragpipe.evaluation.retrieval_metrics import parse_metric

_SPAN_PATTERN = re.compile(r"^(span_recall|span_precision|span_iou)@([0-9]+)$")


@dataclass(frozen=True)
class MetricPlan:
    """Validated metric names: document metrics as ``(name, k)``, span metrics as ``(name, metric, k)``."""

    document: tuple[tuple[str, int], ...]
    spans: tuple[tuple[str, str, int], ...]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.document] + [name for name, _, _ in self.spans]


def plan_metrics(metrics: Sequence[str]) -> MetricPlan:
    """Check every name (``ndcg@10``, ``span_iou@5``...); ConfigError lists the valid forms."""
    if isinstance(metrics, str) or not metrics:
        raise ConfigError(f"metrics must be a non-empty list of names such as 'ndcg@10', got {metrics!r}")
    document: list[tuple[str, int]] = []
    spans: list[tuple[str, str, int]] = []
    for name in dict.fromkeys(m.strip() for m in metrics):
        match = _SPAN_PATTERN.match(name)
        if match and int(match.group(2)) >= 1:
            spans.append((name, match.group(1), int(match.group(2))))
            continue
        try:
            document.append((name, parse_metric(name).k))
        except ConfigError:
            raise ConfigError(
                f"unknown metric {name!r}; valid: document metrics <name>@<k> with name one of "
                f"{', '.join(DOCUMENT_METRICS)} (e.g. ndcg@10, recall@100) and span metrics "
                f"{', '.join(f'{s}@<k>' for s in SPAN_METRICS)} (e.g. span_recall@5); k >= 1"
            ) from None
    return MetricPlan(tuple(document), tuple(spans))


def capped(plan: MetricPlan, documents: int, chunks: int, leg_exhausted: bool) -> list[str]:
    """The metrics of one question that its ranking cannot fill: fewer than k documents (chunks for span
    metrics) while a leg stopped at its depth (``leg_exhausted``)."""
    if not leg_exhausted:
        return []
    names = [name for name, k in plan.document if documents < k]
    return names + [name for name, _, k in plan.spans if chunks < k]
