"""Answer metrics on hand-made cases, embedding similarity with the bundled model, ragas run offline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.evaluation.answer_metrics import (
    bleu,
    exact_match,
    gold_phrase_presence,
    normalize_answer,
    rouge_l,
    semantic_similarity,
    token_f1,
)


def test_normalize_answer_follows_squad() -> None:
    assert normalize_answer("  The Eiffel-Tower, in PARIS!  ") == "eiffeltower in paris"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("theory") == "theory"  # articles only as whole words


def test_exact_match() -> None:
    assert exact_match("The Eiffel Tower.", "eiffel tower") == 1.0
    assert exact_match("Eiffel Tower in Paris", "Eiffel Tower") == 0.0
    assert exact_match("", "") == 1.0


def test_token_f1_hand_computed() -> None:
    # prediction tokens: eiffel tower in paris (4); gold: eiffel tower (2); 2 shared
    assert token_f1("the Eiffel Tower in Paris", "Eiffel Tower") == pytest.approx(2 * 0.5 * 1.0 / 1.5)
    assert token_f1("paris paris", "paris") == pytest.approx(2 * 0.5 * 1.0 / 1.5)  # counts are clipped
    assert token_f1("London", "Paris") == 0.0
    assert token_f1("the", "Paris") == 0.0  # empty after normalisation
    assert token_f1("a", "the") == 1.0  # both empty


def test_gold_phrase_presence_matches_whole_words() -> None:
    assert gold_phrase_presence("It was built by Gustave Eiffel in 1889.", "gustave eiffel") == 1.0
    assert gold_phrase_presence("It opened in 1889", "1889.") == 1.0
    assert gold_phrase_presence("concatenate", "cat") == 0.0
    assert gold_phrase_presence("Eiffel, Gustave", "Gustave Eiffel") == 0.0
    with pytest.raises(ValueError, match="'The'"):
        gold_phrase_presence("anything", "The")


def test_rouge_l_uses_stemming_and_f_measure() -> None:
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    # LCS of "the cat runs" / "the cats are running" with stemming = the cat run: P = 3/3, R = 3/4
    assert rouge_l("the cat runs", "The cats are running") == pytest.approx(2 * 1.0 * 0.75 / 1.75)
    assert rouge_l("completely different", "nothing shared") == 0.0


def test_bleu_scores_multi_sentence_texts() -> None:
    text = "The cat sat on the mat. It was very happy there."
    assert bleu(text, text) == pytest.approx(1.0)
    partial = bleu("The cat sat on the mat. It was sad.", text)
    assert 0.1 < partial < 0.9
    assert bleu("zebra quantum", text) < 0.05


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformersEmbedder:
    return SentenceTransformersEmbedder(SentenceTransformersConfig(model="bundled"))


def test_semantic_similarity_with_the_bundled_model(embedder: SentenceTransformersEmbedder) -> None:
    same = semantic_similarity("Insulin lowers blood glucose.", "Insulin lowers blood glucose.", embedder)
    paraphrase = semantic_similarity("Insulin lowers blood sugar.", "Insulin reduces glucose in the blood.", embedder)
    unrelated = semantic_similarity("Insulin lowers blood sugar.", "The stock market fell on Tuesday.", embedder)
    assert same == pytest.approx(1.0, abs=1e-5)
    assert 0.6 < paraphrase < 0.99
    assert unrelated < 0.3
    vectors = embedder.embed_documents(["Insulin lowers blood sugar.", "The stock market fell on Tuesday."])
    assert unrelated == pytest.approx(float(np.dot(vectors[0], vectors[1])), abs=1e-5)


RAGAS_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys

    network = []
    def audit(event, args):
        if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
            network.append(f"{event} {args!r}")
    sys.addaudithook(audit)

    from ragpipe.evaluation.answer_metrics import ragas_nonllm_scores

    results = {
        "identical": ragas_nonllm_scores(
            "What lowers blood glucose?", "Insulin lowers blood glucose.", "Insulin lowers blood glucose."),
        "different": ragas_nonllm_scores(
            "What lowers blood glucose?", "Glucagon raises it.", "Insulin lowers blood glucose."),
        "partial": ragas_nonllm_scores("Capital of France?", "I think it is Paris, France.", "Paris"),
    }

    async def inside_a_running_loop():
        return ragas_nonllm_scores("q", "Paris", "Paris")
    results["in_loop"] = asyncio.run(inside_a_running_loop())
    import os
    print(json.dumps({"results": results, "network": network, "do_not_track": os.environ["RAGAS_DO_NOT_TRACK"]}))
    """
)


@pytest.fixture(scope="module")
def ragas_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the ragas metrics once in a fresh interpreter that records every network attempt."""
    script = Path(tmp_path_factory.mktemp("ragas")) / "ragas_offline.py"
    script.write_text(RAGAS_SCRIPT)
    env_without_keys = {k: v for k, v in __import__("os").environ.items() if "API_KEY" not in k}
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", str(script)], capture_output=True, text=True, env=env_without_keys
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_ragas_imports_and_scores_without_touching_the_network(ragas_run: dict) -> None:
    assert ragas_run["network"] == []
    assert ragas_run["do_not_track"] == "true"


def test_ragas_identical_strings_score_one(ragas_run: dict) -> None:
    scores = ragas_run["results"]["identical"]
    assert set(scores) == {
        "ragas_string_similarity",
        "ragas_rouge_l",
        "ragas_exact_match",
        "ragas_string_presence",
    }
    assert scores == pytest.approx(dict.fromkeys(scores, 1.0), abs=1e-6)


def test_ragas_unrelated_answer_and_contexts_score_low(ragas_run: dict) -> None:
    scores = ragas_run["results"]["different"]
    assert scores["ragas_exact_match"] == 0.0
    assert scores["ragas_string_presence"] == 0.0
    assert scores["ragas_string_similarity"] < 0.5
    assert scores["ragas_rouge_l"] < 0.3


def test_ragas_partial_answer_and_contexts(ragas_run: dict) -> None:
    scores = ragas_run["results"]["partial"]
    assert scores["ragas_exact_match"] == 0.0
    assert scores["ragas_string_presence"] == 1.0  # raw containment of "Paris"
    assert 0.0 < scores["ragas_rouge_l"] < 1.0


def test_ragas_works_when_called_inside_a_running_event_loop(ragas_run: dict) -> None:
    assert ragas_run["results"]["in_loop"]["ragas_exact_match"] == 1.0
