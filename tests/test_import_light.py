"""`import ragpipe` (and the CLI module) must not import torch or other heavy libraries."""

from __future__ import annotations

import subprocess
import sys

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


def test_offline_environment_is_set_on_import() -> None:
    code = "import os, ragpipe; print(os.environ['HF_HUB_OFFLINE'], os.environ['DO_NOT_TRACK'])"
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("HF_HUB_OFFLINE", "DO_NOT_TRACK")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["1", "1"]
