"""A tiny real corpus and pipeline settings isolated in a temporary data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragpipe.config.settings import RuntimeSettings

DOCS = {
    "ops/backups.md": (
        "---\ntitle: Database backups\nteam: platform\nyear: 2024\ntags: [postgres, backup]\n---\n"
        "# Database backups\n\nThe orders database is snapshotted every 15 minutes to cold storage.\n\n"
        "## Restore\n\nA full restore of the orders database takes about 40 minutes using the restore-orders tool.\n"
    ),
    "ops/oncall.txt": (
        "On-call rotation\n\nEach engineer is on call for one week, starting Monday at 10:00. "
        "Pages must be acknowledged within five minutes, otherwise they escalate to the secondary.\n"
    ),
    "security/keys.md": (
        "---\ntitle: Key rotation\nteam: security\nyear: 2022\nstatus: deprecated\n---\n"
        "# Key rotation\n\nSigning keys for the payments API are rotated every 90 days by the vault-rotate job.\n"
    ),
    "security/access.html": (
        "<html><head><title>Access reviews</title><meta name='team' content='security'>"
        "<meta name='year' content='2025'></head><body><h1>Access reviews</h1>"
        "<p>Quarterly access reviews remove dormant accounts after 60 days without a login.</p>"
        "<ul><li>Managers approve each review.</li><li>Reviews are filed in the audit tracker.</li></ul>"
        "</body></html>"
    ),
}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    for rel, text in DOCS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def settings(tmp_path: Path) -> RuntimeSettings:
    return RuntimeSettings(data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")


@pytest.fixture
def tiny_docs() -> dict[str, str]:
    return DOCS


@pytest.fixture
def config(corpus: Path) -> dict[str, object]:
    """A pipeline config over the tiny corpus."""
    return {"name": "test", "sources": [{"path": str(corpus), "metadata": {"collection": "tiny"}}]}
