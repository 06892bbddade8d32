"""Every offline answer metric of one (prediction, gold answer) pair, keyed as reported in summaries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ragpipe.evaluation import answer_metrics

if TYPE_CHECKING:
    from ragpipe.protocols import Embedder


@dataclass
class AnswerScores:
    """Scores that could be computed, and why the others could not (metric -> reason)."""

    scores: dict[str, float] = field(default_factory=dict)
    undefined: dict[str, str] = field(default_factory=dict)


def score_answer(question: str, prediction: str, gold: str, embedder: Embedder) -> AnswerScores:
    """SQuAD exact match and F1, ROUGE-L, BLEU, gold-phrase presence, embedding similarity and ragas'
    non-LLM answer metrics."""
    result = AnswerScores()
    functions = {
        "exact_match": answer_metrics.exact_match,
        "token_f1": answer_metrics.token_f1,
        "rouge_l": answer_metrics.rouge_l,
        "bleu": answer_metrics.bleu,
        "gold_phrase_presence": answer_metrics.gold_phrase_presence,
    }
    for name, function in functions.items():
        try:
            result.scores[name] = function(prediction, gold)
        except ValueError as exc:  # e.g. a gold answer that normalises to nothing
            result.undefined[name] = str(exc)
    result.scores["semantic_similarity"] = answer_metrics.semantic_similarity(prediction, gold, embedder)
    result.scores.update(answer_metrics.ragas_nonllm_scores(question, prediction, gold))
    return result
