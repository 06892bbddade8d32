"""Suite-wide test settings.

- Tests never write outside a temporary folder: the ONNX export of the bundled model (the default
  embedder) goes to a model cache in the session's temporary folder, not the user's ``~/.cache/ragpipe``.
- ``hashing_config`` gives wiring tests the deterministic ``hashing`` embedder (no model to load); tests
  where the model is the point use the real bundled one.
- ``slow`` marks the tests that the fast tier (``pytest -m "not slow"``) leaves out; the README's test command
  runs everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

MODEL_CACHE = "RAGPIPE_MODEL_CACHE_DIR"


@pytest.fixture(scope="session", autouse=True)
def isolated_model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Point the model cache (ONNX exports) at the session's temporary folder, for this process and its
    children (CLI subprocesses inherit the environment)."""
    folder = tmp_path_factory.mktemp("model-cache")
    previous = os.environ.get(MODEL_CACHE)
    os.environ[MODEL_CACHE] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(MODEL_CACHE, None)
    else:
        os.environ[MODEL_CACHE] = previous


HASHING_EMBEDDING = {"type": "hashing", "dimension": 256}
"""A config's ``embedding`` section for wiring tests: deterministic, instant, no model."""


@pytest.fixture
def hashing_embedding() -> dict[str, object]:
    return dict(HASHING_EMBEDDING)
