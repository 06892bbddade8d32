"""Fixtures for the chunker tests (data and checks live in chunking_helpers.py)."""

from __future__ import annotations

import pytest
from chunking_helpers import RUNBOOK

from ragpipe.types import Document


@pytest.fixture(scope="session")
def runbook() -> Document:
    return Document(id="docs/runbook.md", text=RUNBOOK, metadata={"team": "platform", "year": 2024})
