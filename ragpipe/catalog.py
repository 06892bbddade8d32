"""The catalog: a SQLite record of every indexed document and chunk.

It is the source of truth for what is indexed (content hashes, chunk ids), for rebuilding
in-process lexical indexes, and for fetching chunks by id. Writes for one document happen in
one transaction, so the catalog never holds half a document. A work generation's catalog is written in
WAL mode and switched back to a single self-contained file when it is published; a published catalog is
opened read-only and immutable, so queries need no write access to the data dir.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ragpipe.errors import IndexDamagedError
from ragpipe.types import Chunk, Document

REPEATS_META = "max_chunk_text_repeats"
"""Meta key: how often the most frequent chunk text occurs (recorded when a generation is published)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    version TEXT NOT NULL,  -- content sha256 + hash of config-attached metadata
    metadata TEXT NOT NULL,
    chunk_count INTEGER NOT NULL,
    indexed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL,
    parent_id TEXT
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks(doc_id, ord);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _row_to_chunk(row: sqlite3.Row) -> Chunk:
    return Chunk(
        id=row["id"],
        doc_id=row["doc_id"],
        text=row["text"],
        start=row["start"],
        end=row["end"],
        metadata=json.loads(row["metadata"]),
        parent_id=row["parent_id"],
    )


class Catalog:
    """Thread-safe access to ``<generation>/catalog.sqlite``; ``read_only`` for a published generation."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect_read_only() if self.read_only else self._connect_writable()
        return self._conn

    def _connect_writable(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        return conn

    def _connect_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            raise IndexDamagedError(str(self.path), "the catalog file is missing")
        uri = f"file:{self.path}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("SELECT 1 FROM documents LIMIT 1").fetchall()
        except sqlite3.DatabaseError as exc:
            raise IndexDamagedError(str(self.path), f"not a readable catalog ({exc})") from None
        return conn

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Hold the lock for a read; a catalog that cannot answer (corrupt pages, malformed rows) is damaged."""
        with self._lock:
            try:
                yield
            except (sqlite3.DatabaseError, ValueError) as exc:
                raise IndexDamagedError(str(self.path), f"the catalog cannot be read ({exc})") from None

    def seal(self) -> None:
        """Checkpoint the WAL into the file and leave WAL mode, so the file stands alone (before publishing)."""
        with self._lock:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.execute("PRAGMA journal_mode=DELETE")

    def document_versions(self) -> dict[str, str]:
        """Document id -> the version recorded when it was indexed (see IngestRunner._version)."""
        with self._reading():
            return {r["id"]: r["version"] for r in self.conn.execute("SELECT id, version FROM documents")}

    def document_sources(self) -> dict[str, str]:
        """Document id -> the path its text was read from (its ``source`` metadata)."""
        sql = "SELECT id, json_extract(metadata, '$.source') AS source FROM documents"
        with self._reading():
            return {r["id"]: str(r["source"] or "") for r in self.conn.execute(sql)}

    def replace_document(self, document: Document, version: str, chunks: Sequence[Chunk]) -> None:
        """Atomically record ``document`` with exactly ``chunks`` (old chunks are removed)."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                conn.execute("DELETE FROM chunks WHERE doc_id=?", (document.id,))
                conn.execute(
                    "INSERT OR REPLACE INTO documents VALUES (?,?,?,?,?)",
                    (document.id, version, json.dumps(document.metadata, default=str), len(chunks), time.time()),
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                    [
                        (c.id, c.doc_id, i, c.start, c.end, c.text, json.dumps(c.metadata, default=str), c.parent_id)
                        for i, c in enumerate(chunks)
                    ],
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def delete_documents(self, doc_ids: Iterable[str]) -> None:
        ids = [(d,) for d in doc_ids]
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                conn.executemany("DELETE FROM chunks WHERE doc_id=?", ids)
                conn.executemany("DELETE FROM documents WHERE id=?", ids)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def iter_chunks(self, page: int = 2000) -> Iterator[Chunk]:
        """Every chunk in a stable order (document id, then position), read ``page`` rows at a time."""
        after: tuple[str, int] = ("", -1)
        while True:
            with self._reading():
                rows = self.conn.execute(
                    "SELECT * FROM chunks WHERE (doc_id, ord) > (?, ?) ORDER BY doc_id, ord LIMIT ?", (*after, page)
                ).fetchall()
                chunks = [_row_to_chunk(row) for row in rows]
            if not rows:
                return
            yield from chunks
            after = (rows[-1]["doc_id"], rows[-1]["ord"])

    def get_chunks(self, ids: Sequence[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        with self._reading():
            for start in range(0, len(ids), 500):
                batch = list(ids[start : start + 500])
                marks = ",".join("?" * len(batch))
                for row in self.conn.execute(f"SELECT * FROM chunks WHERE id IN ({marks})", batch):
                    out[row["id"]] = _row_to_chunk(row)
        return out

    def count_documents(self) -> int:
        with self._reading():
            return int(self.conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def count_chunks(self) -> int:
        with self._reading():
            return int(self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def most_repeated_text(self) -> tuple[int, str | None]:
        """How often the most frequent chunk text occurs, and a document holding it ((0, None) if empty)."""
        with self._reading():
            row = self.conn.execute(
                "SELECT COUNT(*) AS n, MIN(doc_id) AS doc FROM chunks GROUP BY text ORDER BY n DESC LIMIT 1"
            ).fetchone()
        return (0, None) if row is None else (int(row["n"]), str(row["doc"]))

    def get_meta(self, key: str) -> str | None:
        with self._reading():
            row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
            return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str | None) -> None:
        """Store (or, with ``None``, remove) a small durable marker such as "lexical index is stale"."""
        with self._lock:
            if value is None:
                self.conn.execute("DELETE FROM meta WHERE key=?", (key,))
            else:
                self.conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
