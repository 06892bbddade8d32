"""What the in-process lexical engines (bm25s, rank-bm25) share: their files in a generation, loading, search.

An engine keeps its files in ``<generation>/<folder>``: the engine's own files, ``chunks.jsonl`` (row -> chunk)
and ``meta.json`` (the settings it was built with). A work generation rebuilds them before it is published
(:mod:`ragpipe.generations` publishes the whole generation atomically); a published generation loads them
once, in :meth:`InProcessLexicalIndex.open`, and never reads them again. Each engine supplies only how it
writes, loads and scores its model.
"""

from __future__ import annotations

import json
import shutil
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from ragpipe.errors import IndexDamagedError
from ragpipe.filters import FilterExpr, cache_key, matches
from ragpipe.generations import fsync_path
from ragpipe.index_location import IndexLocation
from ragpipe.lexical.tokenize import Tokenizer, TokenizerOptions
from ragpipe.types import Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

REBUILD_BATCH = 4096
CHUNKS_FILE = "chunks.jsonl"
META_FILE = "meta.json"
MASK_CACHE_SIZE = 64  # filter masks kept per loaded index (one bool per row each)


def chunk_record(chunk: Chunk) -> str:
    """One chunk as a JSON line (no pickle)."""
    record = {"id": chunk.id, "doc_id": chunk.doc_id, "start": chunk.start, "end": chunk.end, "text": chunk.text}
    record |= {"metadata": chunk.metadata, "parent_id": chunk.parent_id}
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


def read_chunks(path: Path) -> list[Chunk]:
    with path.open(encoding="utf-8") as lines:
        return [Chunk(**json.loads(line)) for line in lines]


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


@dataclass(frozen=True)
class Loaded:
    """A loaded index: row-ordered chunks, the engine's model (None when empty), filter masks."""

    chunks: list[Chunk]
    model: Any
    masks: MaskCache


ConfigT = TypeVar("ConfigT", bound=TokenizerOptions)


class InProcessLexicalIndex(ABC, Generic[ConfigT]):
    """In-process BM25 over every indexed chunk of one generation.

    A subclass names its ``folder`` (inside the generation), the ``files`` its engine writes and its ``label``
    (in messages), and implements how it writes, loads and scores its model.
    """

    folder: ClassVar[str]
    label: ClassVar[str]
    files: ClassVar[tuple[str, ...]]
    """The engine's own files, checked before loading (a missing or empty one means a damaged index); the
    first holds its vocabulary."""

    def __init__(self, config: ConfigT, location: IndexLocation) -> None:
        self.config = config
        self.location = location
        self.root = location.folder / self.folder
        self._tokenizer = Tokenizer.from_options(config)
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None

    def _settings(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def encode(self, chunks: Sequence[Chunk]) -> None:
        """Nothing goes to the vector store: this index lives in process."""
        return None

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Tokenize every chunk and write the engine's files, chunks and meta into the work generation.

        Streams: chunks are read, tokenized and written in batches; only token ids (one shared int per
        vocabulary entry) are kept for the whole corpus, never the chunks or their token strings."""
        staging = self.root.with_name(f".{self.folder}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        vocab: dict[str, int] = {}
        ids: list[list[int]] = []
        rows = iter(chunks)
        with (staging / CHUNKS_FILE).open("w", encoding="utf-8") as out:
            while batch := list(islice(rows, REBUILD_BATCH)):
                for tokens in self._tokenizer.tokenize_many([c.text for c in batch]):
                    ids.append([vocab.setdefault(t, len(vocab)) for t in tokens])
                out.writelines(chunk_record(c) for c in batch)
        vocabulary = self._write_model(staging, ids, vocab)
        meta = {"settings": self._settings(), "rows": len(ids), "vocabulary": vocabulary}
        (staging / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        for path in staging.iterdir():
            fsync_path(path)
        shutil.rmtree(self.root, ignore_errors=True)
        staging.rename(self.root)
        with self._lock:
            self._loaded = None

    def open(self) -> None:
        """Load the generation's files now; a missing, empty or unreadable one raises IndexDamagedError."""
        self._get()

    def _get(self) -> Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                chunks, model = self._load_checked()
                self._loaded = Loaded(chunks, model, MaskCache(chunks))
            return self._loaded

    def _load_checked(self) -> tuple[list[Chunk], Any]:
        meta_path, chunks_path = self.root / META_FILE, self.root / CHUNKS_FILE
        for path in (meta_path, chunks_path):
            if not path.is_file():
                raise IndexDamagedError(str(path), f"the {self.label} index file is missing")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            settings, rows, vocabulary = meta["settings"], int(meta["rows"]), int(meta["vocabulary"])
            chunks = read_chunks(chunks_path)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexDamagedError(str(self.root), f"cannot read the {self.label} index: {exc!r}") from None
        if settings != self._settings():
            raise IndexDamagedError(
                str(meta_path),
                f"built with {settings}, but the config says {self._settings()}: it does not belong here",
            )
        if rows != len(chunks):
            raise IndexDamagedError(
                str(chunks_path), f"holds {len(chunks)} chunks, but the index was built with {rows}"
            )
        if not chunks:
            return chunks, None
        for name in self.files:
            path = self.root / name
            if not path.is_file() or path.stat().st_size == 0:
                state = "empty" if path.is_file() else "missing"
                raise IndexDamagedError(str(path), f"the {self.label} file is {state}")
        try:
            model = self._load_model(self.root, chunks)
            loaded_vocabulary = self._vocabulary_size(model)
        except Exception as exc:  # engines raise their parsers' errors (orjson, numpy, ...)
            raise IndexDamagedError(str(self.root), f"cannot load the {self.label} index: {exc!r}") from None
        if loaded_vocabulary != vocabulary:
            raise IndexDamagedError(
                str(self.root / self.files[0]),
                f"holds {loaded_vocabulary} terms, but the index was built with {vocabulary}",
            )
        return chunks, model

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        """Chunks matching ``flt`` ranked by the engine; rows with no query term are never returned."""
        loaded = self._get()
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
    def _write_model(self, folder: Path, ids: list[list[int]], vocab: dict[str, int]) -> int:
        """Write the engine's files into ``folder`` for the rows' token ids (``ids`` may be empty; ``vocab``
        maps each token to its id); return the size of the engine's vocabulary (checked on load)."""

    @abstractmethod
    def _load_model(self, folder: Path, chunks: list[Chunk]) -> Any:
        """The engine's model from ``folder`` (``chunks`` is not empty)."""

    @abstractmethod
    def _vocabulary_size(self, model: Any) -> int:
        """How many terms a loaded model knows (what :meth:`_write_model` returned)."""

    @abstractmethod
    def _query_terms(self, model: Any, tokens: list[str]) -> list[Any]:
        """The query tokens in the engine's form, dropping those the model does not know."""

    @abstractmethod
    def _scores(self, model: Any, terms: list[Any], mask: np.ndarray | None) -> np.ndarray:
        """One score per row (0 where ``mask`` is False)."""
