"""What only the ``qdrant`` (qdrant-client) store does: collection naming, folder lock, server errors.

No Qdrant server can run here; the server path shares every call with local mode except the
client constructor, and an unreachable URL must fail with a clear error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import RagpipeError
from ragpipe.index_location import IndexLocation
from ragpipe.stores.qdrant_client import QdrantConfig, QdrantStore
from ragpipe.types import Chunk

CHUNKS = [Chunk(f"{i:032x}", f"d{i}", f"text {i}", 0, 6, {}) for i in range(3)]
DENSE = np.eye(3, 4, dtype=np.float32)


def _location(tmp_path: Path) -> IndexLocation:
    """Generation ``g1`` of the index of pipeline ``mypipe`` with fingerprint ``abc123``."""
    root = tmp_path / "mypipe" / "abc123"
    return IndexLocation(folder=root / "generations" / "g1", root=root, writable=True)


def _collections(path: Path) -> list[str]:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(path))
    try:
        return sorted(c.name for c in client.get_collections().collections)
    finally:
        client.close()


@pytest.mark.parametrize(("collection", "expected"), [(None, "mypipe-abc123"), ("shared_docs", "shared_docs")])
def test_collection_name(tmp_path: Path, collection: str | None, expected: str) -> None:
    loc = _location(tmp_path)
    assert loc.index_name == "mypipe-abc123"
    store = QdrantStore(QdrantConfig(collection=collection), loc, RuntimeSettings())
    assert store.collection == expected
    store.upsert(CHUNKS, DENSE)
    store.close()
    assert _collections(loc.folder / "qdrant-local") == [expected]


def test_collection_name_is_validated() -> None:
    with pytest.raises(ValidationError, match="collection"):
        QdrantConfig(collection="a/b")


def test_a_second_client_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    loc = _location(tmp_path)
    first = QdrantStore(QdrantConfig(), loc, RuntimeSettings())
    first.upsert(CHUNKS, DENSE)
    second = QdrantStore(QdrantConfig(), loc, RuntimeSettings())
    with pytest.raises(RagpipeError, match=r"qdrant local index at .* is already open"):
        second.count()
    first.close()
    assert second.count() == 3
    second.close()


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    loc = _location(tmp_path)
    store = QdrantStore(QdrantConfig(timeout=2), loc, RuntimeSettings(qdrant_url="http://127.0.0.1:9"))
    assert not store.is_local
    with pytest.raises(
        RagpipeError, match=r"cannot reach Qdrant \(http://127.0.0.1:9\) for collection 'mypipe-abc123'"
    ):
        store.count()
    assert not (loc.folder / "qdrant-local").exists()
    store.close()


def test_exact_search_against_a_server_follows_the_recorded_repeats(tmp_path: Path) -> None:
    """A server collection uses HNSW (Qdrant's default m = 16): 'auto' searches exactly when a chunk text of
    the published generation repeats more than 16 times; local mode is always brute force, so no reason."""
    server = RuntimeSettings(qdrant_url="http://127.0.0.1:9")
    loc = _location(tmp_path)

    def reason(settings: RuntimeSettings, repeats: int, mode: str = "auto") -> str | None:
        published = IndexLocation(loc.folder, loc.root, writable=False, max_text_repeats=repeats)
        return QdrantStore(QdrantConfig(exact_search=mode), published, settings).exact_search_reason()  # type: ignore[arg-type]

    assert reason(server, 16) is None and "occurs 17 times" in (reason(server, 17) or "")
    assert reason(server, 0, "always") == "store.exact_search is 'always'"
    assert reason(server, 1000, "never") is None
    assert reason(RuntimeSettings(), 1000) is None
