"""Generation snapshots shared by the in-process lexical engines (bm25s, rank-bm25).

Layout under an engine's root folder: one folder per build ("generation") holding the engine's own
files, ``chunks.jsonl`` (row -> chunk) and ``meta.json``; the file ``CURRENT`` names the live
generation. A build is written to a temporary folder, renamed into place and only then published by
atomically replacing ``CURRENT``, so a reader never sees half an index. :class:`SnapshotLexicalIndex`
is the lexical stage both engines share; each supplies only how it writes, loads and scores its model.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ragpipe.context import BuildContext
from ragpipe.errors import IndexNotFoundError
from ragpipe.filters import FilterExpr, cache_key, matches
from ragpipe.generations import fsync_path as _fsync
from ragpipe.lexical.tokenize import Tokenizer, TokenizerOptions
from ragpipe.types import Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

CURRENT = "CURRENT"
REBUILD_BATCH = 4096
CHUNKS_FILE = "chunks.jsonl"
META_FILE = "meta.json"
MASK_CACHE_SIZE = 64  # filter masks kept per loaded generation (one bool per row each)


# ---------------------------------------------------------------- generations on disk


def current_generation(root: Path) -> str | None:
    """Name of the live generation under ``root``, or None if nothing was ever published."""
    try:
        return (root / CURRENT).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def publish_generation(root: Path, write: Callable[[Path], None], keep: int = 2) -> str:
    """Write a new generation with ``write(folder)``, publish it atomically and prune old ones."""
    root.mkdir(parents=True, exist_ok=True)
    generation = f"{time.time_ns():020d}-{secrets.token_hex(4)}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        write(tmp)
        for path in tmp.iterdir():
            _fsync(path)
        os.rename(tmp, root / generation)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = root / f".{CURRENT}.{generation}"
    pointer.write_text(generation, encoding="utf-8")
    _fsync(pointer)
    os.replace(pointer, root / CURRENT)
    _fsync(root)
    # Keep the previous generation too: a reader may still be loading it.
    old = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for path in old[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    return generation


def chunk_record(chunk: Chunk) -> str:
    """One chunk as a JSON line (no pickle)."""
    record = {"id": chunk.id, "doc_id": chunk.doc_id, "start": chunk.start, "end": chunk.end, "text": chunk.text}
    record |= {"metadata": chunk.metadata, "parent_id": chunk.parent_id}
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as lines:
        return [Chunk(**json.loads(line)) for line in lines]


def check_meta(folder: Path, expected: dict[str, Any]) -> None:
    """Refuse an index built with other settings than this config (its scores would not match it)."""
    saved = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    if saved != expected:
        raise IndexNotFoundError(
            f"lexical index {folder} was built with {saved}, but the config says {expected}; "
            "re-run ingest to rebuild it"
        )


@dataclass
class MaskCache:
    """Per-filter boolean row masks (``filters.matches`` over row metadata), LRU-bounded and thread-safe."""

    chunks: Sequence[Chunk]
    masks: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, flt: FilterExpr) -> np.ndarray:
        import numpy as np

        key = cache_key(flt)
        with self.lock:
            if key in self.masks:
                self.masks.move_to_end(key)
                return self.masks[key]
        mask = np.fromiter((matches(flt, c.metadata) for c in self.chunks), dtype=bool, count=len(self.chunks))
        with self.lock:
            self.masks[key] = mask
            while len(self.masks) > MASK_CACHE_SIZE:
                self.masks.popitem(last=False)
        return mask


def top_hits(scores: np.ndarray, chunks: Sequence[Chunk], top_k: int) -> list[Hit]:
    """The ``top_k`` rows with a positive score, best first; equal scores in chunk-id order, so the result does
    not depend on the order the chunks were indexed in (an updated index ranks like a fresh build)."""
    import numpy as np

    rows = np.flatnonzero(scores > 0)
    if len(rows) > top_k:
        kth_best = -np.partition(-scores[rows], top_k - 1)[top_k - 1]
        rows = rows[scores[rows] >= kth_best]  # ties at the cut stay in, to be ordered by id
    ids = np.array([chunks[r].id for r in rows], dtype=str)
    rows = rows[np.lexsort((ids, -scores[rows]))][:top_k]
    return [Hit(chunk=chunks[r], score=float(scores[r])) for r in rows]


@dataclass
class Loaded:
    """One loaded generation: row-ordered chunks, the engine's model (None when empty), filter masks."""

    generation: str
    chunks: list[Chunk]
    model: Any
    masks: MaskCache


class LiveSnapshot:
    """The live generation under ``root``, loaded on first use and reloaded after a rebuild publishes."""

    def __init__(self, label: str, load: Callable[[Path], tuple[list[Chunk], Any]]) -> None:
        self.label = label
        self._load = load  # folder -> (chunks, model)
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None

    def get(self, root: Path) -> Loaded:
        for attempt in range(3):
            generation = current_generation(root)
            if generation is None:
                raise IndexNotFoundError(f"no {self.label} index at {root}; run `ragpipe ingest` first")
            loaded = self._loaded
            if loaded is not None and loaded.generation == generation:
                return loaded
            with self._lock:
                try:
                    if self._loaded is None or self._loaded.generation != generation:
                        chunks, model = self._load(root / generation)
                        self._loaded = Loaded(generation, chunks, model, MaskCache(chunks))
                    return self._loaded
                except FileNotFoundError:  # pruned by a concurrent rebuild: read CURRENT again
                    if attempt == 2:
                        raise
        raise AssertionError("unreachable")


# ---------------------------------------------------------------- the lexical stage both engines share

ConfigT = TypeVar("ConfigT", bound=TokenizerOptions)


class SnapshotLexicalIndex(ABC, Generic[ConfigT]):
    """In-process BM25 over every indexed chunk, rebuilt after each ingest and kept as generations.

    A subclass names its ``folder`` (under the index dir) and ``label`` (in messages) and implements
    how it writes, loads and scores its model.
    """

    folder: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, config: ConfigT, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._tokenizer = Tokenizer.from_options(config)
        self._lock = threading.Lock()  # one rebuild at a time
        self._live = LiveSnapshot(self.label, self._load)

    @property
    def root(self) -> Path:
        return self.context.index_dir / self.folder

    def _meta(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def encode(self, chunks: Sequence[Chunk]) -> None:
        """Nothing goes to the vector store: this index lives in process."""
        return None

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Tokenize every chunk and publish the engine's files, chunks and meta as a new generation.

        Streams: chunks are read, tokenized and written in batches; only token ids (one shared int per
        vocabulary entry) are kept for the whole corpus, never the chunks or their token strings."""

        def write(folder: Path) -> None:
            vocab: dict[str, int] = {}
            ids: list[list[int]] = []
            rows = iter(chunks)
            with (folder / CHUNKS_FILE).open("w", encoding="utf-8") as out:
                while batch := list(islice(rows, REBUILD_BATCH)):
                    for tokens in self._tokenizer.tokenize_many([c.text for c in batch]):
                        ids.append([vocab.setdefault(t, len(vocab)) for t in tokens])
                    out.writelines(chunk_record(c) for c in batch)
            self._write_model(folder, ids, vocab)
            (folder / META_FILE).write_text(json.dumps(self._meta()), encoding="utf-8")

        with self._lock:
            publish_generation(self.root, write)

    def _load(self, folder: Path) -> tuple[list[Chunk], Any]:
        check_meta(folder, self._meta())
        chunks = read_chunks(folder / CHUNKS_FILE)
        return chunks, self._load_model(folder, chunks)

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        """Chunks matching ``flt`` ranked by the engine; rows with no query term are never returned."""
        loaded = self._live.get(self.root)
        if loaded.model is None:
            return []
        terms = self._query_terms(loaded.model, self._tokenizer.tokenize(query))
        if not terms:
            return []
        mask = None if flt is None else loaded.masks.get(flt)
        if mask is not None and not mask.any():
            return []
        return top_hits(self._scores(loaded.model, terms, mask), loaded.chunks, top_k)

    @abstractmethod
    def _write_model(self, folder: Path, ids: list[list[int]], vocab: dict[str, int]) -> None:
        """Write the engine's files into ``folder`` for the rows' token ids (``ids`` may be empty;
        ``vocab`` maps each token to its id)."""

    @abstractmethod
    def _load_model(self, folder: Path, chunks: list[Chunk]) -> Any:
        """The engine's model from ``folder``; None when there are no chunks."""

    @abstractmethod
    def _query_terms(self, model: Any, tokens: list[str]) -> list[Any]:
        """The query tokens in the engine's form, dropping those the model does not know."""

    @abstractmethod
    def _scores(self, model: Any, terms: list[Any], mask: np.ndarray | None) -> np.ndarray:
        """One score per row (0 where ``mask`` is False)."""
