"""`import ragpipe` (and the CLI module) must not import torch or other heavy libraries."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ragpipe.offline import OFFLINE_ENV

HEAVY = (
    "torch",
    "sentence_transformers",
    "llama_index",
    "unstructured",
    "qdrant_client",
    "qdrant_edge",
    "transformers",
)


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return {m.split(".")[0] for m in out}


def test_import_ragpipe_is_light() -> None:
    assert not _loaded_after("import ragpipe") & set(HEAVY)


def test_cli_and_registry_are_light() -> None:
    loaded = _loaded_after("import ragpipe.cli.app; from ragpipe import registry; registry.load_plugins()")
    assert not loaded & set(HEAVY)


def test_import_leaves_the_process_environment_alone() -> None:
    code = (
        "import os; before = dict(os.environ); import ragpipe, ragpipe.pipeline, ragpipe.cli.app; "
        "from ragpipe import registry; registry.load_plugins(); print(dict(os.environ) == before)"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "True"


@pytest.mark.slow
def test_offline_switches_are_set_where_a_model_loads(tmp_path: Path) -> None:
    """...and only those the user has not set: loading the bundled model applies them."""
    code = (
        "import os, ragpipe; from ragpipe.config.settings import RuntimeSettings; "
        "from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig, "
        "SentenceTransformersEmbedder as E; E(SentenceTransformersConfig()).embed_queries(['x']); "
        "print(os.environ['HF_HUB_OFFLINE'], os.environ['DO_NOT_TRACK'])"
    )
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_ENV}
    env["DO_NOT_TRACK"] = "0"  # the user's own choice is kept
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["1", "0"]
