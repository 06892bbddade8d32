"""RRF and convex fusion against hand-computed values."""

from __future__ import annotations

import math

import pytest

from ragpipe.retrieval.fusion import ConvexFusion, ConvexFusionConfig, RrfFusion, RrfFusionConfig
from ragpipe.types import Chunk, Hit


def hit(cid: str, score: float) -> Hit:
    return Hit(Chunk(id=cid, doc_id=f"doc-{cid}", text=cid, start=0, end=len(cid)), score)


DENSE = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.1)]
LEXICAL = [hit("c", 12.0), hit("a", 6.0), hit("d", 3.0)]


def test_rrf_scores_and_order() -> None:
    fused = RrfFusion(RrfFusionConfig(k=60)).fuse({"dense": DENSE, "lexical": LEXICAL}, top_k=10)
    scores = {s.chunk.id: s.score for s in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert [s.chunk.id for s in fused] == ["a", "c", "b", "d"]
    a = fused[0]
    assert a.leg_ranks == {"dense": 1, "lexical": 2} and a.leg_scores == {"dense": 0.9, "lexical": 6.0}


def test_rrf_leg_weights_and_top_k() -> None:
    fused = RrfFusion(RrfFusionConfig(k=1, weights={"dense": 0.0})).fuse({"dense": DENSE, "lexical": LEXICAL}, 2)
    assert [s.chunk.id for s in fused] == ["c", "a"]


def test_convex_minmax() -> None:
    fused = ConvexFusion(ConvexFusionConfig(weight=0.5)).fuse({"dense": DENSE, "lexical": LEXICAL}, 10)
    scores = {s.chunk.id: s.score for s in fused}
    # dense minmax: a=1, b=0.875, c=0 ; lexical minmax: c=1, a=1/3, d=0 ; absent -> 0
    assert scores["a"] == pytest.approx(0.5 * 1 + 0.5 * (3 / 9))
    assert scores["b"] == pytest.approx(0.5 * 0.875)
    assert scores["c"] == pytest.approx(0.5 * 1)
    assert scores["d"] == pytest.approx(0.0)


def test_convex_zscore_weight_extremes() -> None:
    dense_only = ConvexFusion(ConvexFusionConfig(weight=1.0, normalization="zscore"))
    fused = dense_only.fuse({"dense": DENSE, "lexical": LEXICAL}, 10)
    assert [s.chunk.id for s in fused][:3] == ["a", "b", "c"]
    values = [0.9, 0.8, 0.1]
    mean = sum(values) / 3
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / 3)
    assert fused[0].score == pytest.approx((0.9 - mean) / std)


def test_fusion_is_deterministic_on_ties() -> None:
    legs = {"dense": [hit("x", 1.0), hit("y", 1.0)], "lexical": [hit("y", 1.0), hit("x", 1.0)]}
    first = [s.chunk.id for s in RrfFusion(RrfFusionConfig()).fuse(legs, 2)]
    assert first == [s.chunk.id for s in RrfFusion(RrfFusionConfig()).fuse(legs, 2)] == ["x", "y"]


def test_fusions_are_built_from_their_config_alone() -> None:
    from ragpipe import registry
    from ragpipe.config.loading import load_config

    assert registry.types_of("fusion") == ["convex", "rrf"]
    for name in ("rrf", "convex"):
        assert registry.get("fusion", name).needs == ()
    fuser = registry.build("fusion", load_config({}, ["retrieval.fusion.type=convex"]).retrieval.fusion)
    assert isinstance(fuser, ConvexFusion)


def test_convex_fusion_names_the_legs_it_combines() -> None:
    with pytest.raises(ValueError, match="legs 'dense' and 'lexical', got 'sparse'"):
        ConvexFusion(ConvexFusionConfig()).fuse({"sparse": DENSE}, 3)


def test_empty_and_single_hit_legs() -> None:
    assert RrfFusion(RrfFusionConfig()).fuse({"dense": [], "lexical": []}, 5) == []
    (only,) = ConvexFusion(ConvexFusionConfig(weight=0.25)).fuse({"dense": [hit("a", 0.3)], "lexical": []}, 5)
    assert only.score == pytest.approx(0.25)  # min-max of one hit is 1; the empty lexical leg adds nothing
