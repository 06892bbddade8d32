"""The ``hashing`` embedder: deterministic hashed word features, no model (the embedder of wiring tests)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig

SQRT3 = 1 / np.sqrt(3)


def make(**fields: object) -> HashingEmbedder:
    return HashingEmbedder(HashingEmbedderConfig(**fields))


def test_pinned_vectors_are_the_same_on_every_machine() -> None:
    """Slots and signs come from blake2b, not Python's per-process salted hash(): pinned here once."""
    vectors = make(dimension=256).embed_documents(["alpha", "Alpha BETA"])
    assert np.flatnonzero(vectors[0]).tolist() == [83] and vectors[0][83] == 1.0
    # "alpha beta": the words (slots 83 and 19, +1 each) and the pair "alpha beta" (slot 240, -1)
    assert np.flatnonzero(vectors[1]).tolist() == [19, 83, 240]
    np.testing.assert_allclose(vectors[1][[19, 83, 240]], [SQRT3, SQRT3, -SQRT3], rtol=1e-6)


def test_another_process_gives_the_same_vectors() -> None:
    code = (
        "import json\n"
        "from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig\n"
        "print(json.dumps(HashingEmbedder(HashingEmbedderConfig()).embed_queries(['alpha beta gamma']).tolist()))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    np.testing.assert_array_equal(
        np.asarray(json.loads(run.stdout), dtype=np.float32), make().embed_queries(["alpha beta gamma"])
    )


def test_shape_dtype_and_unit_length() -> None:
    vectors = make(dimension=64).embed_documents(["one", "two words", "a longer text with several words in it"])
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert make(dimension=64).dimension == 64


def test_text_without_words_is_the_zero_vector() -> None:
    vectors = make(dimension=16).embed_documents(["", "  ...  "])
    np.testing.assert_array_equal(vectors, np.zeros((2, 16), dtype=np.float32))


def test_case_and_punctuation_do_not_matter() -> None:
    embedder = make()
    a, b = embedder.embed_documents(["Insulin lowers glucose.", "insulin, LOWERS glucose"])
    np.testing.assert_array_equal(a, b)


def test_shared_words_make_texts_close() -> None:
    guitar, music, stocks = make().embed_documents(
        ["a man plays the guitar on stage", "the man plays guitar music", "stock markets fell on tuesday"]
    )
    assert guitar @ music > 0.3 > guitar @ stocks


def test_word_pairs_carry_order() -> None:
    forward, backward = make().embed_documents(["dog bites man", "man bites dog"])
    assert forward @ backward < 0.99  # same words, different pairs
    np.testing.assert_allclose(forward @ backward, 3 / 5, atol=1e-6)  # 3 words shared, the 2 pairs not
    plain = make(pairs=False)
    np.testing.assert_array_equal(*plain.embed_documents(["dog bites man", "man bites dog"]))


def test_prefixes_apply_to_their_role_only() -> None:
    embedder = make(query_prefix="query: ", document_prefix="passage: ")
    plain = make()
    np.testing.assert_array_equal(embedder.embed_queries(["alpha"]), plain.embed_documents(["query: alpha"]))
    np.testing.assert_array_equal(embedder.embed_documents(["alpha"]), plain.embed_documents(["passage: alpha"]))
    assert embedder.input_lengths(["alpha beta"]) == [3]  # "passage", "alpha", "beta"


def test_max_length_cuts_the_words() -> None:
    embedder = make(max_length=8)
    head = "one two three four five six seven eight"
    a, b = embedder.embed_documents([head + " proteins", head + " bonds"])
    np.testing.assert_array_equal(a, b)
    assert embedder.max_input_tokens == 8 and make().max_input_tokens is None
    assert embedder.input_lengths([head + " proteins"]) == [9]  # before any cut


def test_model_id_changes_with_what_changes_vectors() -> None:
    base = make().model_id
    variants = {
        make(dimension=128).model_id,
        make(pairs=False).model_id,
        make(query_prefix="q: ").model_id,
        make(document_prefix="d: ").model_id,
    }
    assert base not in variants and len(variants) == 4


def test_config_validation_and_registration() -> None:
    with pytest.raises(ValidationError, match="dimension"):
        HashingEmbedderConfig(dimension=4)
    with pytest.raises(ValidationError, match="extra"):
        HashingEmbedderConfig(size=8)  # type: ignore[call-arg]
    reg = registry.get("embedder", "hashing")
    assert reg.factory is HashingEmbedder and reg.needs == ()
    assert isinstance(registry.build("embedder", HashingEmbedderConfig()), HashingEmbedder)
