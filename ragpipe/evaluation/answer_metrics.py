"""Offline answer metrics for one (prediction, gold answer) pair; nothing calls an LLM or the network.

``exact_match``, ``token_f1`` and ``gold_phrase_presence`` use the SQuAD normalisation (lower case, no
punctuation, no articles a/an/the, single spaces). ``rouge_l`` and ``bleu`` use rouge-score and sacrebleu;
``semantic_similarity`` uses a ragpipe Embedder; ``ragas_nonllm_scores`` runs the ragas 0.4.3 metrics that
need no LLM and no API key.
"""

from __future__ import annotations

import asyncio
import re
import string
import threading
import warnings
from collections import Counter
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ragpipe.evaluation.names import RAGAS_ANSWER_METRICS
from ragpipe.offline import offline_environment

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer

    from ragpipe.protocols import Embedder

T = TypeVar("T")

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ragas_lock = threading.Lock()


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, drop punctuation and the articles a/an/the, collapse whitespace."""
    no_punctuation = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", no_punctuation).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 if both normalise to the same text, else 0.0 (SQuAD)."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 over normalised tokens; when either side is empty, 1.0 only if both are."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(expected)
    return 2 * precision * recall / (precision + recall)


def gold_phrase_presence(prediction: str, gold: str) -> float:
    """1.0 if the normalised gold answer occurs in the normalised prediction as whole words, else 0.0.

    Raises ValueError when the gold answer normalises to empty text (e.g. "The"): presence is undefined.
    """
    expected = normalize_answer(gold)
    if not expected:
        raise ValueError(f"gold answer {gold!r} is empty after normalisation; phrase presence is undefined")
    return float(f" {expected} " in f" {normalize_answer(prediction)} ")


@lru_cache(maxsize=1)
def _rouge_l_scorer() -> RougeScorer:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)


def rouge_l(prediction: str, gold: str) -> float:
    """ROUGE-L F-measure (rouge-score, Porter stemming; its tokenizer keeps only ASCII letters and digits)."""
    return float(_rouge_l_scorer().score(gold, prediction)["rougeL"].fmeasure)


def bleu(prediction: str, gold: str) -> float:
    """Sentence BLEU in [0, 1] (sacrebleu ``sentence_bleu``: 13a tokenizer, exp smoothing, effective order)."""
    from sacrebleu import sentence_bleu

    return min(1.0, max(0.0, sentence_bleu(prediction, [gold]).score / 100.0))


def semantic_similarity(prediction: str, gold: str, embedder: Embedder) -> float:
    """Cosine similarity of the L2-normalised embeddings of prediction and gold (both embedded as documents)."""
    vectors = np.asarray(embedder.embed_documents([prediction, gold]), dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    if vectors.shape[0] != 2 or not np.all(norms > 0):
        raise ValueError(
            f"embedder {embedder.model_id!r} returned no usable vectors for prediction {prediction[:40]!r} "
            f"and gold {gold[:40]!r} (shape {vectors.shape}, norms {norms.tolist()})"
        )
    unit = vectors / norms[:, None]
    return float(np.clip(unit[0] @ unit[1], -1.0, 1.0))


@lru_cache(maxsize=1)
def _ragas_metrics() -> dict[str, Any]:
    """The ragas metrics that run without an LLM, keyed by the name ragpipe reports them under."""
    with _ragas_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ragas 0.4 moves these to ragas.metrics.collections
        from ragas.metrics import ExactMatch, NonLLMStringSimilarity, RougeScore, StringPresence

        return {
            "ragas_string_similarity": NonLLMStringSimilarity(),
            "ragas_rouge_l": RougeScore(),
            "ragas_exact_match": ExactMatch(),
            "ragas_string_presence": StringPresence(),
        }


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also when the caller is itself inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def ragas_nonllm_scores(question: str, prediction: str, gold: str) -> dict[str, float]:
    """ragas 0.4.3 non-LLM answer metrics for one sample, keyed ``ragas_<metric>``:
    ``ragas_string_similarity`` (1 - normalised Levenshtein distance), ``ragas_rouge_l`` (ROUGE-L F, stemmed),
    ``ragas_exact_match`` and ``ragas_string_presence`` (raw, case-sensitive string equality / containment,
    unlike the SQuAD-normalised functions above).

    ragas' BleuScore is left out (it scores multi-sentence texts wrongly: use :func:`bleu`), and so are its
    non-LLM context precision/recall: they match a retrieved chunk to a gold evidence span by whole-string
    similarity >= 0.5, which a chunk several times longer than its one-sentence span never reaches (0 for
    every handbook question, even at span recall 1.0); the span metrics measure the same thing by token
    overlap. The first call imports ragas (~10 s).
    """
    offline_environment()
    from ragas import SingleTurnSample

    metrics = _ragas_metrics()
    sample = SingleTurnSample(user_input=question, response=prediction, reference=gold)

    async def score_all() -> list[float]:
        return list(await asyncio.gather(*(metrics[name].single_turn_ascore(sample) for name in RAGAS_ANSWER_METRICS)))

    return {name: float(value) for name, value in zip(RAGAS_ANSWER_METRICS, _run(score_all()), strict=True)}
