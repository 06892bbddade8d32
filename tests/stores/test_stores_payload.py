"""Point ids, Chunk <-> payload conversion and filter compilation shared by the Qdrant stores."""

from __future__ import annotations

import datetime
import subprocess
import sys
import uuid

import pytest

from ragpipe.errors import ConfigError, RagpipeError
from ragpipe.filters import parse_filter
from ragpipe.stores._payload import (
    Clause,
    IsEmptyCond,
    MatchAnyCond,
    MatchCond,
    RangeCond,
    chunk_to_payload,
    compile_filter,
    metadata_key,
    parse_payload_index,
    payload_to_chunk,
    point_id,
)
from ragpipe.stores.qdrant_client import QdrantConfig
from ragpipe.stores.qdrant_edge import QdrantEdgeConfig
from ragpipe.types import Chunk


def test_point_id_is_the_chunk_hex_or_a_stable_uuid5() -> None:
    hex_id = "0123456789abcdef0123456789abcdef"
    assert point_id(hex_id) == uuid.UUID(hex_id)
    assert point_id("not-hex-" + "z" * 24) == point_id("not-hex-" + "z" * 24)
    assert point_id("short") != point_id("shorter")
    assert point_id("z" * 32).version == 5
    # pinned: points of a stored index (or a server collection) are found again by these ids
    assert str(point_id("docs/a.md#0")) == "315b70d1-f7b9-538f-973b-99dec766f055"


def test_payload_has_the_documented_keys_and_round_trips() -> None:
    chunk = Chunk("a" * 32, "docs/x.md", "héllo ✓", 3, 10, {"n": 1, "tags": ["a"], "d": {"k": None}}, "b" * 32)
    payload = chunk_to_payload(chunk)
    assert set(payload) == {"doc_id", "chunk_id", "text", "start", "end", "parent_id", "metadata"}
    assert payload_to_chunk(payload) == chunk


def test_float_metadata_keeps_an_exact_json_copy() -> None:
    chunk = Chunk("a" * 32, "d", "t", 0, 1, {"score": 0.9504636963259353, "n": 2})
    payload = chunk_to_payload(chunk)
    assert payload["metadata_json"] == '{"score": 0.9504636963259353, "n": 2}'
    payload["metadata"]["score"] = 0.9504636963259352  # what qdrant-edge-py may hand back
    assert repr(payload_to_chunk(payload)) == repr(chunk)


def test_metadata_is_made_json_safe() -> None:
    chunk = Chunk("a" * 32, "d", "t", 0, 1, {"day": datetime.date(2024, 1, 2), "pair": (1, 2)})
    assert chunk_to_payload(chunk)["metadata"] == {"day": "2024-01-02", "pair": [1, 2]}
    with pytest.raises(RagpipeError, match=r"chunk a+ of 'd'.*NaN"):
        chunk_to_payload(Chunk("a" * 32, "d", "t", 0, 1, {"x": float("nan")}))


def test_payload_without_chunk_fields_is_an_error() -> None:
    with pytest.raises(RagpipeError, match="no ragpipe chunk payload"):
        payload_to_chunk({"foo": 1})


def test_metadata_keys_are_qdrant_paths() -> None:
    assert metadata_key("team") == "metadata.team"
    assert metadata_key("a.b_c-d") == "metadata.a.b_c-d"
    assert metadata_key("my field.x") == 'metadata."my field".x'
    for bad in ("", "a..b", 'say"hi'):
        with pytest.raises(ConfigError, match="cannot be a Qdrant path"):
            metadata_key(bad)


def test_compilation_keeps_python_value_types_apart() -> None:
    clause = compile_filter(parse_filter({"x": {"in": [True, 1, 1.0, "a", "b", "a"]}}))
    assert clause == Clause(
        should=(
            MatchAnyCond("metadata.x", ("a", "b")),
            MatchCond("metadata.x", True),
            RangeCond("metadata.x", gte=1.0, lte=1.0),
            RangeCond("metadata.x", gte=1.0, lte=1.0),
        )
    )
    assert compile_filter(parse_filter({"x": 2**60})) == Clause(must=(MatchCond("metadata.x", 2**60),))
    assert compile_filter(parse_filter({"x": {"exists": True}})) == Clause(must_not=(IsEmptyCond("metadata.x"),))
    assert compile_filter(None) is None


def test_payload_index_specs_are_validated() -> None:
    assert parse_payload_index("team", "w") == ("metadata.team", "keyword")
    assert parse_payload_index("year:integer", "w") == ("metadata.year", "integer")
    for config_cls in (QdrantEdgeConfig, QdrantConfig):
        with pytest.raises(ConfigError, match=r"store.payload_indexes\[1\].*'date'.*keyword, integer, float, bool"):
            config_cls(payload_indexes=["team", "when:date"])


def test_store_modules_import_no_engine() -> None:
    code = (
        "import sys, ragpipe.stores.qdrant_edge, ragpipe.stores.qdrant_client\n"
        "heavy = [m for m in ('torch', 'qdrant_edge', 'qdrant_client') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_stores_are_registered_and_built_from_a_pipeline_config(tmp_path) -> None:
    from ragpipe import registry
    from ragpipe.config.loading import load_config
    from ragpipe.config.settings import RuntimeSettings
    from ragpipe.index_location import IndexLocation
    from ragpipe.stores.qdrant_client import QdrantStore
    from ragpipe.stores.qdrant_edge import QdrantEdgeStore

    resources = {
        "location": IndexLocation(folder=tmp_path / "p" / "f", root=tmp_path / "p", writable=True),
        "settings": RuntimeSettings(),
    }
    default = load_config({})
    assert isinstance(registry.build("store", default.store, resources), QdrantEdgeStore)
    assert registry.get("store", "qdrant-edge").needs == ("location",)
    assert registry.get("store", "qdrant").needs == ("location", "settings")
    config = load_config({"store": {"type": "qdrant", "location": "memory"}}, ["store.payload_indexes=[team]"])
    store = registry.build("store", config.store, resources)
    assert isinstance(store, QdrantStore) and store.config.payload_indexes == ["team"]
    with pytest.raises(ConfigError, match=r"store.payload_indexes\[0\].*'when:date'"):
        load_config({"store": {"type": "qdrant-edge", "payload_indexes": ["when:date"]}})
    with pytest.raises(ConfigError, match="hnsw_m"):
        load_config({"store": {"type": "qdrant-edge", "hnsw_m": 1}})
