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
from ragpipe.context import BuildContext
from ragpipe.errors import RagpipeError
from ragpipe.stores.qdrant_client import QdrantConfig, QdrantStore
from ragpipe.types import Chunk

CHUNKS = [Chunk(f"{i:032x}", f"d{i}", f"text {i}", 0, 6, {}) for i in range(3)]
DENSE = np.eye(3, 4, dtype=np.float32)


def _ctx(tmp_path: Path, **settings: object) -> BuildContext:
    return BuildContext(
        settings=RuntimeSettings(**settings), index_dir=tmp_path / "mypipe" / "abc123", cache_dir=tmp_path / "c"
    )


def _collections(path: Path) -> list[str]:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(path))
    try:
        return sorted(c.name for c in client.get_collections().collections)
    finally:
        client.close()


@pytest.mark.parametrize(("collection", "expected"), [(None, "mypipe-abc123"), ("shared_docs", "shared_docs")])
def test_collection_name(tmp_path: Path, collection: str | None, expected: str) -> None:
    ctx = _ctx(tmp_path)
    store = QdrantStore(QdrantConfig(collection=collection), ctx)
    assert store.collection == expected
    store.upsert(CHUNKS, DENSE)
    store.close()
    assert _collections(ctx.index_dir / "qdrant-local") == [expected]


def test_collection_name_is_validated() -> None:
    with pytest.raises(ValidationError, match="collection"):
        QdrantConfig(collection="a/b")


def test_a_second_client_on_the_same_folder_is_refused(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    first = QdrantStore(QdrantConfig(), ctx)
    first.upsert(CHUNKS, DENSE)
    second = QdrantStore(QdrantConfig(), ctx)
    with pytest.raises(RagpipeError, match=r"qdrant local index at .* is already open"):
        second.count()
    first.close()
    assert second.count() == 3
    second.close()


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, qdrant_url="http://127.0.0.1:9")
    store = QdrantStore(QdrantConfig(timeout=2), ctx)
    assert not store.is_local
    with pytest.raises(
        RagpipeError, match=r"cannot reach Qdrant \(http://127.0.0.1:9\) for collection 'mypipe-abc123'"
    ):
        store.count()
    assert not (ctx.index_dir / "qdrant-local").exists()
    store.close()
