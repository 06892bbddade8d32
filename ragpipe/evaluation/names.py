"""Every metric name evaluation reports, in one place (loaders, scorers, summaries and sweeps import it).

- document metrics: ``<name>@<k>`` with name in :data:`DOCUMENT_METRICS` (see ``retrieval_metrics``);
- span metrics: ``<name>@<k>`` with name in :data:`SPAN_METRICS` (see ``span_metrics``);
- answer metrics (questions with a gold answer): :data:`ANSWER_METRIC_NAMES`;
- LLM-judged metrics (only with a configured endpoint): :data:`LLM_METRIC_NAMES`.
"""

from __future__ import annotations

DOCUMENT_METRICS = ("recall", "precision", "mrr", "ndcg", "map", "hit")
SPAN_METRICS = ("span_recall", "span_precision", "span_iou")
DEFAULT_METRICS = (
    "ndcg@10",
    "recall@10",
    "recall@100",
    "mrr@10",
    "map@10",
    "hit@10",
    "precision@10",
    "span_recall@5",
    "span_precision@5",
    "span_iou@5",
    "span_recall@10",
    "span_precision@10",
    "span_iou@10",
)
LEXICAL_ANSWER_METRICS = ("exact_match", "token_f1", "rouge_l", "bleu", "gold_phrase_presence")
RAGAS_ANSWER_METRICS = ("ragas_string_similarity", "ragas_rouge_l", "ragas_exact_match", "ragas_string_presence")
ANSWER_METRIC_NAMES = (*LEXICAL_ANSWER_METRICS, "semantic_similarity", *RAGAS_ANSWER_METRICS)
LLM_METRIC_NAMES = ("ragas_faithfulness", "ragas_llm_context_recall", "ragas_llm_context_precision")
