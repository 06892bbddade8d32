"""Fixtures for the chunker tests (data and checks live in chunking_helpers.py)."""

from __future__ import annotations

import pytest
from chunking_helpers import RUNBOOK, make_context

from ragpipe.context import BuildContext
from ragpipe.types import Document


@pytest.fixture(scope="session")
def runbook() -> Document:
    return Document(id="docs/runbook.md", text=RUNBOOK, metadata={"team": "platform", "year": 2024})


@pytest.fixture(scope="session")
def context(tmp_path_factory: pytest.TempPathFactory) -> BuildContext:
    """A context without embedder or store (what every chunker but 'semantic' needs)."""
    return make_context(tmp_path_factory.mktemp("chunking"))
