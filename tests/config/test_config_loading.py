"""Config loading: defaults, overrides, YAML/TOML, and errors that name the dotted path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragpipe.config.loading import apply_override, dump_config, load_config
from ragpipe.errors import ConfigError


def test_defaults_fill_every_stage() -> None:
    config = load_config({})
    assert config.chunking.type == "sentence"
    assert config.embedding.type == "onnx"
    assert config.store.type == "qdrant-edge"
    assert config.lexical.type == "bm25s"
    assert config.retrieval.fusion.type == "rrf"
    assert config.rerank.type == "none"
    assert config.answer.type == "extractive"


def test_yaml_and_toml_give_the_same_config(tmp_path: Path) -> None:
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("name: demo\nchunking:\n  type: token\n  chunk_size: 128\n  chunk_overlap: 16\n")
    toml_file = tmp_path / "p.toml"
    toml_file.write_text('name = "demo"\n[chunking]\ntype = "token"\nchunk_size = 128\nchunk_overlap = 16\n')
    a, b = load_config(yaml_file), load_config(toml_file)
    assert a.model_dump() == b.model_dump()
    assert a.chunking.chunk_size == 128
    assert a.base_dir == tmp_path.resolve()


def test_override_without_type_keeps_default_implementation() -> None:
    config = load_config({}, ["chunking.chunk_size=300", "retrieval.fusion.k=10", "retrieval.top_k=7"])
    assert config.chunking.type == "sentence" and config.chunking.chunk_size == 300
    assert config.retrieval.fusion.k == 10 and config.retrieval.top_k == 7


def test_override_switches_implementation() -> None:
    config = load_config({}, ["retrieval.fusion.type=convex", "retrieval.fusion.weight=0.3"])
    assert config.retrieval.fusion.type == "convex" and config.retrieval.fusion.weight == 0.3


def test_unknown_type_lists_registered_alternatives() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"chunking": {"type": "sentance"}})
    message = str(info.value)
    assert "chunking.type" in message and "'sentance'" in message
    for allowed in ("sentence", "token", "markdown", "semantic", "hierarchical"):
        assert allowed in message


def test_unknown_key_reports_dotted_path_and_valid_keys() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"chunking": {"type": "sentence", "chunk_sise": 100}})
    message = str(info.value)
    assert "chunking.chunk_sise" in message and "chunk_size" in message


def test_bad_value_names_path_and_value() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({}, ["retrieval.top_k=0"])
    assert "retrieval.top_k" in str(info.value) and "0" in str(info.value)


def test_bad_nested_list_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"sources": [{"path": "a", "includ": ["*.md"]}]})
    assert "sources[0].includ" in str(info.value)


def test_bad_mode_lists_allowed_values() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"retrieval": {"mode": "fuzzy"}})
    assert "retrieval.mode" in str(info.value) and "hybrid" in str(info.value)


def test_bad_filter_in_config_is_reported() -> None:
    with pytest.raises(ConfigError) as info:
        load_config({"retrieval": {"filters": {"year": {"gte": "recent"}}}})
    assert "year.gte" in str(info.value)


def test_override_syntax_errors() -> None:
    with pytest.raises(ConfigError, match=r"dotted\.path=value"):
        apply_override({}, "chunking.chunk_size")
    with pytest.raises(ConfigError, match="list index"):
        apply_override({"sources": [{"path": "a"}]}, "sources.3.path=b")


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("chunking: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_config(bad)


def test_dump_round_trips_and_fingerprint_tracks_index_settings() -> None:
    import yaml

    config = load_config({}, ["chunking.chunk_size=128"])
    again = load_config(yaml.safe_load(dump_config(config)))
    assert again.model_dump() == config.model_dump()
    assert again.fingerprint() == config.fingerprint()
    assert load_config({}, ["retrieval.top_k=9"]).fingerprint() == load_config({}).fingerprint()
    assert load_config({}, ["chunking.chunk_size=64"]).fingerprint() != load_config({}).fingerprint()


def test_runtime_settings_come_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ragpipe.config.settings import RuntimeSettings

    monkeypatch.setenv("RAGPIPE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("RAGPIPE_QDRANT_URL", "http://127.0.0.1:6333")
    settings = RuntimeSettings()
    assert settings.data_dir == tmp_path and settings.qdrant_url == "http://127.0.0.1:6333"
    assert settings.resolved_cache_dir == tmp_path / "cache"


def test_query_time_settings_do_not_move_the_index() -> None:
    base = load_config({}).fingerprint()
    assert load_config({}, ["store.search_ef=128", "store.optimize_on_flush=false"]).fingerprint() == base
    assert load_config({}, ["store.hnsw_m=32"]).fingerprint() != base
