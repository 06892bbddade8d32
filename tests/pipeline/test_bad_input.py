"""Bad input tried as a new user would: each gets a clear error naming the value, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragpipe import Pipeline
from ragpipe.config.loading import load_config
from ragpipe.config.settings import RuntimeSettings, load_settings
from ragpipe.errors import ConfigError

QUESTION = "How long does a full restore of the orders database take?"


@pytest.mark.parametrize("name", ["..", ".", ".hidden", "a/b", "../escape"])
def test_a_pipeline_name_that_would_leave_the_data_dir_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"name: String should match pattern"):
        load_config({"name": name})


def test_switching_a_stage_type_by_set_keeps_only_the_fields_of_the_new_type() -> None:
    config = load_config(Path("configs/default.yaml"), ["retrieval.fusion.type=convex"])
    assert config.retrieval.fusion.type == "convex" and not hasattr(config.retrieval.fusion, "k")
    tuned = load_config(Path("configs/default.yaml"), ["retrieval.fusion.type=convex", "retrieval.fusion.weight=0.3"])
    assert tuned.retrieval.fusion.weight == 0.3  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"retrieval\.fusion\.k: unknown key"):  # an explicit bad key still fails
        load_config({"retrieval": {"fusion": {"type": "convex", "k": 5}}})


def test_parser_settings_are_reachable_from_the_config_and_define_the_index(tmp_path: Path) -> None:
    base = load_config({})
    tuned = load_config({"parsing": {"text": {"max_control_ratio": 0.5}}})
    assert tuned.parsing.for_type("text").max_control_ratio == 0.5  # type: ignore[attr-defined]
    assert tuned.fingerprint() != base.fingerprint()
    with pytest.raises(ConfigError, match=r"parsing\.text\.max_control_ratio"):
        load_config({"parsing": {"text": {"max_control_ratio": 2}}})
    with pytest.raises(ConfigError, match=r"parsing\.excel: unknown key"):
        load_config({"parsing": {"excel": {}}})


def test_index_definition_comes_from_each_stages_own_declared_settings() -> None:
    base = load_config({})
    assert set(base.index_definition()) == {"parsing", "chunking", "embedding", "store", "lexical"}
    # query-time settings of an index-defining stage do not move the index
    assert load_config({"store": {"search_ef": 64}}).fingerprint() == base.fingerprint()
    assert load_config({"embedding": {"allow_truncation": True}}).fingerprint() == base.fingerprint()
    assert load_config({"retrieval": {"top_k": 9}}).fingerprint() == base.fingerprint()
    assert load_config({"chunking": {"chunk_size": 100}}).fingerprint() != base.fingerprint()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"top_k": 0}, "top_k must be >= 1, got 0"),
        ({"top_k": "3"}, "top_k must be a whole number >= 1, got '3' (str)"),
        ({"top_k": 2.5}, "top_k must be a whole number >= 1, got 2.5 (float)"),
        ({"top_k": True}, "top_k must be a whole number >= 1, got True (bool)"),
        ({"mode": "fuzzy"}, "retrieval mode 'fuzzy' is not valid; allowed: hybrid, dense, lexical"),
        ({"filters": {"year": {"after": 1}}}, "unknown operator"),
    ],
)
def test_bad_query_arguments_are_clear_errors(
    config: dict, settings: RuntimeSettings, hashing_embedding: dict, kwargs: dict, message: str
) -> None:
    with Pipeline.from_config({**config, "embedding": hashing_embedding}, settings=settings) as rag:
        rag.ingest(progress=False)
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            rag.query(QUESTION, **kwargs)


@pytest.mark.parametrize(
    ("text", "message"),
    [(None, "query text must be a string, got NoneType"), ("   ", "query text is empty"), (b"bytes", "got bytes")],
)
def test_bad_query_texts_are_clear_errors(
    config: dict, settings: RuntimeSettings, hashing_embedding: dict, text: object, message: str
) -> None:
    with Pipeline.from_config({**config, "embedding": hashing_embedding}, settings=settings) as rag:
        rag.ingest(progress=False)
        with pytest.raises(ConfigError, match=message):
            rag.query(text)  # type: ignore[arg-type]


def test_undecodable_bytes_on_the_command_line_are_a_clear_error(tmp_path: Path) -> None:
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(tmp_path / "data")}
    query = os.fsencode("caf") + b"\xe9 cr\xe8me"  # Latin-1 bytes in a UTF-8 locale
    proc = subprocess.run(
        [sys.executable.encode(), b"-m", b"ragpipe.cli.app", b"query", query, b"-c", b"configs/default.yaml"],
        capture_output=True,
        env=env,
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, stderr
    assert stderr.startswith("error: query text is not valid UTF-8") and "Traceback" not in stderr


def test_a_settings_folder_that_is_a_file_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = tmp_path / "cache-file"
    taken.write_text("not a folder")
    monkeypatch.setenv("RAGPIPE_CACHE_DIR", str(taken))
    with pytest.raises(ConfigError, match=rf"RAGPIPE_CACHE_DIR: '{taken}' is a file, not a folder"):
        load_settings()
    env = {**os.environ, "RAGPIPE_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "ragpipe.cli.app", "status"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "RAGPIPE_CACHE_DIR" in proc.stderr and "Traceback" not in proc.stderr
