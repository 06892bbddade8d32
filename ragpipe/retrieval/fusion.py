"""Fusion of ranked legs (dense, lexical) into one ranking.

- ``rrf``: reciprocal rank fusion, ``score = sum_leg 1 / (k + rank)`` (ranks start at 1).
- ``convex``: ``score = w * norm(dense) + (1 - w) * norm(lexical)`` with min-max or z-score
  normalisation per leg; a chunk missing from a leg gets that leg's minimum normalised score
  (min-max: 0), so one strong leg cannot be outvoted by absence alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import Field

from ragpipe.config.stages import FusionConfig
from ragpipe.registry import register
from ragpipe.types import Chunk, Hit, ScoredChunk


class RrfFusionConfig(FusionConfig):
    type: Literal["rrf"] = "rrf"
    k: int = Field(default=60, ge=1)
    """RRF constant: larger values flatten the contribution of top ranks."""
    weights: dict[str, float] = Field(default_factory=dict)
    """Optional per-leg multipliers (e.g. ``{dense: 1.0, lexical: 0.5}``); missing legs weigh 1."""


class ConvexFusionConfig(FusionConfig):
    type: Literal["convex"] = "convex"
    weight: float = Field(default=0.5, ge=0.0, le=1.0)
    """Weight of the dense leg; the lexical leg gets ``1 - weight``."""
    normalization: Literal["minmax", "zscore"] = "minmax"


def _ranks(
    legs: Mapping[str, Sequence[Hit]],
) -> tuple[dict[str, Chunk], dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    chunks: dict[str, Chunk] = {}
    ranks: dict[str, dict[str, int]] = {}
    scores: dict[str, dict[str, float]] = {}
    for leg, hits in legs.items():
        for rank, hit in enumerate(hits, start=1):
            cid = hit.chunk.id
            chunks.setdefault(cid, hit.chunk)
            if leg not in ranks.setdefault(cid, {}):
                ranks[cid][leg] = rank
                scores.setdefault(cid, {})[leg] = hit.score
    return chunks, ranks, scores


def _ordered(
    fused: dict[str, float], chunks: dict[str, Chunk], ranks: dict, scores: dict, top_k: int
) -> list[ScoredChunk]:
    # Ties broken by best rank in any leg, then chunk id, so results are deterministic.
    order = sorted(fused, key=lambda c: (-fused[c], min(ranks[c].values()), c))
    return [ScoredChunk(chunks[c], fused[c], scores[c], ranks[c]) for c in order[:top_k]]


@register("fusion", config=RrfFusionConfig)
class RrfFusion:
    def __init__(self, config: RrfFusionConfig) -> None:
        self.config = config

    def fuse(self, legs: Mapping[str, Sequence[Hit]], top_k: int) -> list[ScoredChunk]:
        chunks, ranks, scores = _ranks(legs)
        k = self.config.k
        fused = {
            cid: sum(self.config.weights.get(leg, 1.0) / (k + r) for leg, r in leg_ranks.items())
            for cid, leg_ranks in ranks.items()
        }
        return _ordered(fused, chunks, ranks, scores, top_k)


def _normalise(values: dict[str, float], method: str) -> tuple[dict[str, float], float]:
    """Normalised scores and the value given to chunks absent from the leg."""
    if not values:
        return {}, 0.0
    vals = list(values.values())
    if method == "minmax":
        lo, hi = min(vals), max(vals)
        span = hi - lo
        return {c: (v - lo) / span if span > 0 else 1.0 for c, v in values.items()}, 0.0
    mean = sum(vals) / len(vals)
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / len(vals))
    normed = {c: (v - mean) / std if std > 0 else 0.0 for c, v in values.items()}
    return normed, min(normed.values())


@register("fusion", config=ConvexFusionConfig)
class ConvexFusion:
    def __init__(self, config: ConvexFusionConfig) -> None:
        self.config = config

    def fuse(self, legs: Mapping[str, Sequence[Hit]], top_k: int) -> list[ScoredChunk]:
        chunks, ranks, scores = _ranks(legs)
        weights = {"dense": self.config.weight, "lexical": 1.0 - self.config.weight}
        fused = dict.fromkeys(chunks, 0.0)
        for leg, hits in legs.items():
            if leg not in weights:
                raise ValueError(f"convex fusion combines legs 'dense' and 'lexical', got {leg!r}")
            raw: dict[str, float] = {}
            for hit in hits:
                raw.setdefault(hit.chunk.id, hit.score)
            normed, missing = _normalise(raw, self.config.normalization)
            for cid in fused:
                fused[cid] += weights[leg] * normed.get(cid, missing)
        return _ordered(fused, chunks, ranks, scores, top_k)
