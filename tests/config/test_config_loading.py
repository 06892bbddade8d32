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


def test_switching_a_slots_type_keeps_only_the_fields_the_new_type_has() -> None:
    base = {"chunking": {"type": "markdown", "chunk_size": 100, "chunk_overlap": 10}}
    config = load_config(base, ["chunking.type=semantic"])
    assert config.chunking.type == "semantic"
    assert (config.chunking.max_chunk_size, config.chunking.chunk_overlap) == (256, 10)  # chunk_size dropped
    fusion = load_config({"retrieval": {"fusion": {"k": 10}}}, ["retrieval.fusion.type=convex"]).retrieval.fusion
    assert fusion.model_dump() == {"type": "convex", "weight": 0.5, "normalization": "minmax"}
    with pytest.raises(ConfigError, match=r"chunking\.chunk_sise"):  # a typo is still reported, not dropped
        load_config({"chunking": {"type": "token", "chunk_sise": 5}})


def test_parsing_section_configures_each_parser_and_defines_the_index() -> None:
    config = load_config({"parsing": {"text": {"max_control_ratio": 0.5}}})
    assert config.parsing.for_type("text").max_control_ratio == 0.5
    assert config.parsing.for_type("markdown").title_from_heading is True  # the others keep their defaults
    assert config.fingerprint() != load_config({}).fingerprint()
    with pytest.raises(ConfigError, match=r"parsing\.nope: unknown key .*allowed keys: docx, html, markdown"):
        load_config({"parsing": {"nope": {}}})
    with pytest.raises(ConfigError, match=r"parsing\.text\.max_control_ratio"):
        load_config({"parsing": {"text": {"max_control_ratio": 2}}})


def test_index_definition_holds_the_index_defining_slots_without_query_time_fields() -> None:
    definition = load_config({}).index_definition()
    assert sorted(definition) == ["chunking", "embedding", "lexical", "parsing", "store"]
    assert "allow_truncation" not in definition["embedding"]  # a permission, not stored content
    assert "search_ef" not in definition["store"] and "hnsw_m" in definition["store"]
    assert definition["parsing"]["text"] == {"type": "text", "max_control_ratio": 0.1}
    base = load_config({}).fingerprint()
    assert load_config({}, ["embedding.allow_truncation=true"]).fingerprint() == base
    assert load_config({}, ["rerank.type=none", "answer.max_sentences=1", "retrieval.fusion.k=5"]).fingerprint() == base
    assert load_config({}, ["embedding.max_length=128"]).fingerprint() != base


def test_sentence_transformers_accepts_the_old_max_seq_length_name() -> None:
    old = load_config({"embedding": {"type": "sentence-transformers", "max_seq_length": 128}})
    new = load_config({"embedding": {"type": "sentence-transformers", "max_length": 128}})
    assert old.embedding.max_length == 128 and old.fingerprint() == new.fingerprint()


def test_onnx_defaults_to_the_models_own_length() -> None:
    embedding = load_config({}).embedding
    assert (embedding.max_length, embedding.query_prefix, embedding.document_prefix) == (None, "", "")
    assert load_config({}, ["embedding.query_prefix='query: '"]).embedding.query_prefix == "query: "


def test_chunks_longer_than_the_embedder_reads_are_refused_unless_allowed() -> None:
    from ragpipe.embedding.hashing import HashingEmbedder, HashingEmbedderConfig
    from ragpipe.factory import check_stages

    embedder = HashingEmbedder(HashingEmbedderConfig(max_length=256))
    data = {"chunking": {"type": "token", "chunk_size": 512}, "embedding": {"type": "hashing", "max_length": 256}}
    with pytest.raises(ConfigError, match=r"chunks of up to 512 tokens .* \(256 of its own tokens") as info:
        check_stages(load_config(data), embedder)
    assert "chunking.chunk_size: 256" in str(info.value) and "embedding.allow_truncation: true" in str(info.value)
    notes = check_stages(load_config(data, ["embedding.allow_truncation=true"]), embedder)
    assert len(notes) == 1 and "accepted: embedding.allow_truncation is true" in notes[0]
    assert check_stages(load_config(data, ["chunking.chunk_size=256"]), embedder) == []
    semantic = load_config({"chunking": {"type": "semantic", "max_chunk_size": 300}, "embedding": {"type": "hashing"}})
    with pytest.raises(ConfigError, match=r"chunking\.max_chunk_size: 256"):
        check_stages(semantic, embedder)
    assert check_stages(semantic, HashingEmbedder(HashingEmbedderConfig())) == []  # no limit: nothing to check


def test_settings_name_the_variable_of_a_bad_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ragpipe.config.settings import load_settings

    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    monkeypatch.setenv("RAGPIPE_CACHE_DIR", str(a_file))
    with pytest.raises(ConfigError, match=r"RAGPIPE_CACHE_DIR: '.*a-file' is a file, not a folder"):
        load_settings()
    monkeypatch.delenv("RAGPIPE_CACHE_DIR")
    with pytest.raises(ConfigError, match="RAGPIPE_DATA_DIR"):
        load_settings(data_dir=a_file)
    assert load_settings(data_dir=tmp_path / "missing").data_dir == tmp_path / "missing"  # created when used
