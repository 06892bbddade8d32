"""Lexical engines through the registry and the pipeline config; the `none` engine."""

from __future__ import annotations

from pathlib import Path

import pytest
from lexical_corpus import make_chunks, make_location
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.config.loading import load_config
from ragpipe.config.models import pipeline_config_model
from ragpipe.config.stages import StoreConfig
from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig
from ragpipe.errors import ConfigError
from ragpipe.factory import check_stages
from ragpipe.lexical.bm25s_index import Bm25sConfig, Bm25sIndex
from ragpipe.lexical.none import NoLexicalConfig, NoLexicalIndex
from ragpipe.lexical.qdrant_sparse import QdrantSparseConfig, QdrantSparseIndex
from ragpipe.lexical.rank_bm25_index import RankBm25Config, RankBm25Index
from ragpipe.protocols import LexicalIndex


def test_every_engine_is_registered_and_built_from_its_config(tmp_path: Path) -> None:
    assert registry.types_of("lexical") == ["bm25s", "none", "qdrant-sparse", "rank-bm25"]
    location = make_location(tmp_path)
    store = registry.build("store", registry.get("store", "qdrant-edge").config_cls(), {"location": location})
    resources = {"location": location, "store": store}
    pairs = [
        (Bm25sConfig(), Bm25sIndex),
        (RankBm25Config(), RankBm25Index),
        (QdrantSparseConfig(), QdrantSparseIndex),
        (NoLexicalConfig(), NoLexicalIndex),
    ]
    for config, cls in pairs:
        index = registry.build("lexical", config, resources)
        assert type(index) is cls and isinstance(index, LexicalIndex)
    assert registry.get("lexical", "bm25s").needs == registry.get("lexical", "rank-bm25").needs == ("location",)
    assert registry.get("lexical", "qdrant-sparse").needs == ("location", "store")
    assert registry.get("lexical", "none").needs == ()
    assert not list(tmp_path.iterdir())  # constructors only store their arguments


def test_pipeline_config_defaults_to_bm25s_and_reports_bad_fields_by_path() -> None:
    model = pipeline_config_model()
    assert model().lexical == Bm25sConfig(k1=1.2, b=0.75, method="lucene", stemmer="english", stopwords="en")
    assert model(lexical={"type": "rank-bm25", "k1": 1.5}).lexical == RankBm25Config(k1=1.5)
    with pytest.raises(ValidationError) as err:
        model(lexical={"type": "bm25s", "b": 1.5})
    assert err.value.errors()[0]["loc"] == ("lexical", "bm25s", "b")
    with pytest.raises(ValidationError, match="unknown stemmer 'klingon'"):
        model(lexical={"type": "qdrant-sparse", "stemmer": "klingon"})
    with pytest.raises(ValidationError, match="extra"):
        model(lexical={"type": "none", "k1": 1.0})


def test_none_engine_stores_and_finds_nothing(tmp_path: Path) -> None:
    index = registry.build("lexical", NoLexicalConfig())
    chunks = make_chunks()
    index.open()
    assert index.encode(chunks) is None
    index.rebuild(iter(chunks))
    assert index.search("latency", 5) == []
    assert not list(tmp_path.iterdir())


class NoSparseStoreConfig(StoreConfig):
    """A store config without sparse vectors (a plugin's, say); never registered."""

    type: str = "dense-only"


def test_qdrant_sparse_needs_a_store_with_sparse_vectors() -> None:
    config = load_config({"embedding": {"type": "hashing"}, "lexical": {"type": "qdrant-sparse"}})
    embedder = HashingEmbedder(HashingEmbedderConfig())
    assert QdrantSparseConfig.needs_sparse_store and not Bm25sConfig.needs_sparse_store
    assert check_stages(config, embedder) == []  # qdrant-edge keeps sparse vectors
    dense_only = config.model_copy(update={"store": NoSparseStoreConfig()})
    with pytest.raises(ConfigError, match=r"lexical\.type: 'qdrant-sparse' .* store\.type 'dense-only' has no sparse"):
        check_stages(dense_only, embedder)
    assert check_stages(dense_only.model_copy(update={"lexical": Bm25sConfig()}), embedder) == []
