"""Document-level ranking metrics for one query, with the definitions of ranx (and trec_eval).

Inputs: ``ranked``, document ids best first (already de-duplicated: chunk hits mapped to their document at
its best rank), and ``qrels``, graded relevance per document id (> 0 means relevant; 0 or less counts as
not relevant). Every metric is taken at a cutoff ``k`` (only the first ``k`` ranked documents count):

- ``recall@k``: relevant documents in the top k / all relevant documents;
- ``precision@k``: relevant documents in the top k / k (k, not the list length, as in trec_eval and ranx);
- ``mrr@k``: 1 / rank of the first relevant document in the top k (0 if none);
- ``ndcg@k``: DCG with linear graded gains ``rel / log2(rank + 1)`` over the top k, divided by the DCG of
  the ideal ranking built from the qrels (Järvelin & Kekäläinen; ranx ``ndcg``, trec_eval ``ndcg_cut``);
- ``map@k``: average precision cut at k: the sum of precision@r over the ranks r <= k holding a relevant
  document, divided by the number of *all* relevant documents (not min(R, k)); this is ranx ``map@k`` and
  trec_eval ``map_cut``;
- ``hit@k``: 1 if any relevant document is in the top k, else 0 (ranx ``hit_rate``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ragpipe.errors import ConfigError

MetricFunction = Callable[[Sequence[str], Mapping[str, int], int], float]

METRIC_FORM = "<name>@<k>"
_METRIC_PATTERN = re.compile(r"^([a-z]+)@([0-9]+)$")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """A parsed metric name such as ``ndcg@10``: the metric and its cutoff."""

    name: str
    k: int

    def __str__(self) -> str:
        return f"{self.name}@{self.k}"


def _relevant(qrels: Mapping[str, int]) -> dict[str, int]:
    return {doc_id: grade for doc_id, grade in qrels.items() if grade > 0}


def _hits(ranked: Sequence[str], relevant: Mapping[str, int], k: int) -> int:
    return sum(1 for doc_id in ranked[:k] if doc_id in relevant)


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the top ``k``."""
    relevant = _relevant(qrels)
    return _hits(ranked, relevant, k) / len(relevant)


def precision_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Relevant documents in the top ``k``, divided by ``k`` (even when fewer than k were ranked)."""
    return _hits(ranked, _relevant(qrels), k) / k


def mrr_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Reciprocal rank of the first relevant document within the top ``k`` (0 if there is none)."""
    relevant = _relevant(qrels)
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def _dcg(gains: Sequence[int]) -> float:
    return sum(gain / math.log2(rank + 1) for rank, gain in enumerate(gains, start=1))


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """nDCG with linear graded gains and a log2 discount; the ideal ranking comes from the qrels."""
    relevant = _relevant(qrels)
    dcg = _dcg([relevant.get(doc_id, 0) for doc_id in ranked[:k]])
    ideal = _dcg(sorted(relevant.values(), reverse=True)[:k])
    return dcg / ideal


def map_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Average precision cut at ``k``, normalised by the number of all relevant documents (ranx/trec_eval)."""
    relevant = _relevant(qrels)
    found = 0
    total = 0.0
    for rank, doc_id in enumerate(ranked[:k], start=1):
        if doc_id in relevant:
            found += 1
            total += found / rank
    return total / len(relevant)


def hit_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """1.0 if a relevant document is in the top ``k``, else 0.0."""
    return 1.0 if _hits(ranked, _relevant(qrels), k) else 0.0


METRICS: dict[str, MetricFunction] = {
    "recall": recall_at_k,
    "precision": precision_at_k,
    "mrr": mrr_at_k,
    "ndcg": ndcg_at_k,
    "map": map_at_k,
    "hit": hit_at_k,
}


def parse_metric(name: str) -> MetricSpec:
    """Parse ``"<name>@<k>"`` (e.g. ``"ndcg@10"``); ConfigError names the bad value and the valid forms."""
    match = _METRIC_PATTERN.match(name) if isinstance(name, str) else None
    if match is None or match.group(1) not in METRICS or int(match.group(2)) < 1:
        raise ConfigError(
            f"invalid retrieval metric {name!r}: expected the form {METRIC_FORM} with k a positive integer "
            f"and name one of {', '.join(METRICS)} (e.g. 'ndcg@10', 'recall@100')"
        )
    return MetricSpec(match.group(1), int(match.group(2)))


def _check_inputs(ranked: Sequence[str], qrels: Mapping[str, int]) -> None:
    if not any(grade > 0 for grade in qrels.values()):
        raise ValueError(
            "qrels hold no relevant document (no grade > 0); queries without relevant documents must be "
            "skipped by the caller, their metrics are undefined"
        )
    if isinstance(ranked, str):
        raise TypeError("ranked must be a sequence of document ids, not a single string")
    if len(set(ranked)) != len(ranked):
        duplicates = sorted({doc_id for doc_id in ranked if ranked.count(doc_id) > 1})
        raise ValueError(
            f"ranked holds duplicate document ids {duplicates[:5]}; keep each document once, at its best rank"
        )


def compute(ranked: Sequence[str], qrels: Mapping[str, int], metrics: Sequence[str]) -> dict[str, float]:
    """Each metric in ``metrics`` (e.g. ``["ndcg@10", "recall@100"]``) for one query, keyed by its name.

    Raises ConfigError for a malformed metric name and ValueError when ``qrels`` hold no relevant
    document or ``ranked`` repeats a document. An empty ``ranked`` list scores 0 everywhere.
    """
    specs = {name: parse_metric(name) for name in metrics}
    _check_inputs(ranked, qrels)
    return {name: METRICS[spec.name](ranked, qrels, spec.k) for name, spec in specs.items()}
