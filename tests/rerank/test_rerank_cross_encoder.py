"""The cross-encoder reranker, run on a real cross-encoder built locally from the bundled MiniLM weights.

No pretrained cross-encoder can be installed offline here, so the model's classification head is
randomly initialised (seeded): its scores say nothing about relevance. Judging reranking *quality*
needs a real reranker model; these tests check the wiring: which pairs are scored, how the output is
ordered and annotated, batching, determinism, thread-safe lazy loading and the offline errors.

Building and loading the model needs torch (~5 s here), so the tests that run it are marked slow.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.errors import ConfigError, ModelNotFoundError
from ragpipe.models import bundled_model_path
from ragpipe.rerank.cross_encoder import CrossEncoderReranker, CrossEncoderRerankerConfig
from ragpipe.types import Chunk, ScoredChunk

QUERY = "how do cats regulate their body temperature"
TEXTS = [
    "Paris is the capital and most populous city of France.",
    "Cats pant rarely; they mostly cool down by grooming and resting in the shade.",
    "The stock market closed higher on Tuesday after a volatile session.",
    "Domestic cats keep a body temperature between 38 and 39 degrees Celsius.",
    "Photosynthesis converts light energy into chemical energy in plants.",
    "A thermostat switches the heating on when the room gets too cold.",
    "Sweat glands in a cat's paws help release a little heat.",
    "Large language models are trained on text from the web.",
]


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CrossEncoder (MiniLM body + seeded random 1-label head) saved to a local folder."""
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(1234)
    model = CrossEncoder(str(bundled_model_path()), num_labels=1)
    folder = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(folder))
    return folder


@pytest.fixture(scope="module")
def reference_scores(cross_encoder_dir: Path) -> list[float]:
    """The model's own ``predict`` scores for (QUERY, text) pairs, loaded independently of ragpipe."""
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(str(cross_encoder_dir), max_length=512)
    return [float(s) for s in model.predict([(QUERY, t) for t in TEXTS], batch_size=32, show_progress_bar=False)]


@pytest.fixture(scope="module")
def reranker(cross_encoder_dir: Path) -> CrossEncoderReranker:
    return make_reranker(cross_encoder_dir)


def make_reranker(model: Path | str, **fields: int) -> CrossEncoderReranker:
    """Built as the pipeline builds it: through the registry, from its config alone."""
    reranker: CrossEncoderReranker = registry.build("reranker", CrossEncoderRerankerConfig(model=str(model), **fields))
    return reranker


def candidates() -> list[ScoredChunk]:
    """Retrieval output: TEXTS in order, with a fused score and one dense leg each."""
    out = []
    for i, text in enumerate(TEXTS):
        chunk = Chunk(id=f"c{i}", doc_id=f"doc{i}.txt", text=text, start=0, end=len(text))
        out.append(
            ScoredChunk(chunk, score=1.0 / (i + 1), leg_scores={"dense": 0.9 - i / 100}, leg_ranks={"dense": i + 1})
        )
    return out


def ids(chunks: list[ScoredChunk]) -> list[str]:
    return [c.chunk.id for c in chunks]


def order_by(scores: list[float], labels: list[str]) -> list[str]:
    return [labels[i] for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i))]


def test_registered_under_reranker_kind() -> None:
    assert registry.get("reranker", "cross-encoder").factory is CrossEncoderReranker


@pytest.mark.slow
def test_order_and_scores_follow_the_models_own_predict(
    reranker: CrossEncoderReranker, reference_scores: list[float]
) -> None:
    inputs = candidates()
    out = reranker.rerank(QUERY, inputs)
    expected = order_by(reference_scores, ids(inputs))
    assert ids(out) == expected
    assert ids(out) != ids(inputs), "the seeded head must reorder these inputs, or this test proves nothing"
    by_id = dict(zip(ids(inputs), reference_scores, strict=True))
    for rank, scored in enumerate(out, start=1):
        assert scored.score == pytest.approx(by_id[scored.chunk.id], abs=1e-6)
        assert scored.leg_scores["rerank"] == scored.score
        assert scored.leg_ranks["rerank"] == rank
        original = next(c for c in inputs if c.chunk.id == scored.chunk.id)
        assert scored.leg_scores["dense"] == original.leg_scores["dense"]
        assert scored.leg_ranks["dense"] == original.leg_ranks["dense"]
        assert scored.chunk is original.chunk
    assert all("rerank" not in c.leg_scores for c in inputs), "inputs must not be mutated"


@pytest.mark.slow
def test_only_top_n_are_rescored_and_the_rest_keep_their_order(cross_encoder_dir: Path) -> None:
    from sentence_transformers import CrossEncoder

    top_n = 3
    inputs = candidates()
    out = make_reranker(cross_encoder_dir, top_n=top_n).rerank(QUERY, inputs)
    head_scores = CrossEncoder(str(cross_encoder_dir)).predict([(QUERY, t) for t in TEXTS[:top_n]])
    assert ids(out[:top_n]) == order_by([float(s) for s in head_scores], ids(inputs[:top_n]))
    assert out[top_n:] == inputs[top_n:]
    assert all("rerank" not in c.leg_scores and "rerank" not in c.leg_ranks for c in out[top_n:])
    assert [c.leg_ranks["rerank"] for c in out[:top_n]] == [1, 2, 3]


@pytest.mark.slow
def test_batch_size_does_not_change_the_result(cross_encoder_dir: Path) -> None:
    one = make_reranker(cross_encoder_dir, batch_size=1).rerank(QUERY, candidates())
    many = make_reranker(cross_encoder_dir, batch_size=64).rerank(QUERY, candidates())
    assert ids(one) == ids(many)
    assert [c.score for c in one] == pytest.approx([c.score for c in many], abs=1e-5)


@pytest.mark.slow
def test_repeated_runs_and_fresh_instances_are_deterministic(
    reranker: CrossEncoderReranker, cross_encoder_dir: Path
) -> None:
    first = reranker.rerank(QUERY, candidates())
    again = reranker.rerank(QUERY, candidates())
    fresh = make_reranker(cross_encoder_dir).rerank(QUERY, candidates())
    assert [(c.chunk.id, c.score) for c in first] == [(c.chunk.id, c.score) for c in again]
    assert [(c.chunk.id, c.score) for c in first] == [(c.chunk.id, c.score) for c in fresh]


@pytest.mark.slow
def test_concurrent_first_calls_succeed_and_agree(cross_encoder_dir: Path) -> None:
    shared = make_reranker(cross_encoder_dir)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: shared.rerank(QUERY, candidates()), range(6)))
    assert len({tuple(ids(r)) for r in results}) == 1
    assert results[0] == results[-1]


def test_empty_input_returns_empty_without_loading() -> None:
    # A model that does not exist: loading it would raise, so this also shows nothing was loaded.
    assert make_reranker("no-such-org/no-such-cross-encoder").rerank(QUERY, []) == []


@pytest.mark.slow
def test_missing_named_model_fails_fast_and_names_it() -> None:
    import sentence_transformers  # noqa: F401  # import cost is not what this test times

    name = "cross-encoder/ms-marco-MiniLM-L6-v2"
    reranker = make_reranker(name)
    started = time.perf_counter()
    with pytest.raises(ModelNotFoundError, match="ms-marco-MiniLM-L6-v2") as info:
        reranker.rerank(QUERY, candidates())
    assert time.perf_counter() - started < 5.0, "must not spend time in network retries"
    assert "cross-encoder" in str(info.value)


def test_missing_local_path_is_reported(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cross-encoder"
    with pytest.raises(ModelNotFoundError, match="nowhere"):
        make_reranker(missing).rerank(QUERY, candidates())


@pytest.mark.slow
def test_folder_that_is_not_a_model_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    with pytest.raises(ModelNotFoundError, match="not-a-model"):
        make_reranker(folder).rerank(QUERY, candidates())


def test_bundled_embedding_model_is_rejected_as_cross_encoder() -> None:
    with pytest.raises(ConfigError, match="bi-encoder"):
        make_reranker("bundled").rerank(QUERY, candidates())


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="model"):
        CrossEncoderRerankerConfig()
    with pytest.raises(ValidationError, match="top_n"):
        CrossEncoderRerankerConfig(model="x", top_n=0)
    with pytest.raises(ValidationError, match="batch_size"):
        CrossEncoderRerankerConfig(model="x", batch_size=0)
    with pytest.raises(ValidationError, match="unknown"):
        CrossEncoderRerankerConfig(model="x", unknown=1)
    config = CrossEncoderRerankerConfig(model="x")
    assert (config.top_n, config.batch_size, config.max_length) == (20, 32, 512)


def test_candidates_cover_top_n() -> None:
    """Retrieval hands the reranker enough fused chunks: at least ``top_n``, at least ``top_k``."""
    config = CrossEncoderRerankerConfig(model="x", top_n=20)
    assert (config.candidates(5), config.candidates(20), config.candidates(50)) == (20, 20, 50)
