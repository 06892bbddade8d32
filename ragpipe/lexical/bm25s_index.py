"""BM25 with bm25s (the default lexical engine): a sparse score matrix in process, saved as plain files.

Layout under ``<index_dir>/bm25s``: one folder per build ("generation") holding bm25s's arrays,
``chunks.jsonl`` (row -> chunk) and ``meta.json``; the file ``CURRENT`` names the live generation.
A build is written to a temporary folder, renamed into place and only then published by atomically
replacing ``CURRENT``, so a reader never sees half an index. The snapshot helpers here are shared
with the rank-bm25 engine.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ragpipe.context import BuildContext
from ragpipe.errors import IndexNotFoundError
from ragpipe.filters import FilterExpr, cache_key, matches
from ragpipe.lexical.tokenize import Tokenizer, TokenizerOptions
from ragpipe.registry import register
from ragpipe.types import Chunk, Hit

if TYPE_CHECKING:
    import numpy as np

CURRENT = "CURRENT"
CHUNKS_FILE = "chunks.jsonl"
META_FILE = "meta.json"
MASK_CACHE_SIZE = 64  # filter masks kept per loaded generation (one bool per row each)


# ---------------------------------------------------------------- snapshot helpers (shared)


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


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_chunks(path: Path, chunks: Sequence[Chunk]) -> None:
    """Row-ordered chunk records as JSON lines (no pickle)."""
    with path.open("w", encoding="utf-8") as out:
        for c in chunks:
            record = {"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": c.text}
            record |= {"metadata": c.metadata, "parent_id": c.parent_id}
            out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


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
    """The ``top_k`` rows with a positive score, best first (ties: lower row first)."""
    import numpy as np

    rows = np.flatnonzero(scores > 0)
    if len(rows) > top_k:
        rows = rows[np.argpartition(-scores[rows], top_k - 1)[:top_k]]
    rows = rows[np.lexsort((rows, -scores[rows]))]
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


# ---------------------------------------------------------------- the bm25s engine


class Bm25sConfig(TokenizerOptions):
    """BM25 scored by bm25s; the default lexical engine (~1 ms/query at 50k chunks)."""

    type: Literal["bm25s"] = "bm25s"
    k1: float = Field(default=1.2, ge=0)
    """Term-frequency saturation."""
    b: float = Field(default=0.75, ge=0, le=1)
    """Document-length normalization (0 = none, 1 = full)."""
    method: Literal["lucene", "robertson", "atire"] = "lucene"
    """BM25 variant (Kamphuis et al. 2020); "lucene" matches Lucene/Pyserini."""


@register("lexical", config=Bm25sConfig)
class Bm25sIndex:
    """In-process BM25 over every indexed chunk, rebuilt after each ingest."""

    def __init__(self, config: Bm25sConfig, context: BuildContext) -> None:
        self.config = config
        self.context = context
        self._tokenizer = Tokenizer.from_options(config)
        self._lock = threading.Lock()  # one rebuild at a time
        self._live = LiveSnapshot("bm25s", self._load)

    @property
    def root(self) -> Path:
        return self.context.index_dir / "bm25s"

    def _meta(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def encode(self, chunks: Sequence[Chunk]) -> None:
        """Nothing goes to the vector store: this index lives in process."""
        return None

    def rebuild(self, chunks: Iterable[Chunk]) -> None:
        """Index every chunk and publish the result as a new generation."""
        import bm25s

        rows = list(chunks)
        tokens = self._tokenizer.tokenize_many([c.text for c in rows])

        def write(folder: Path) -> None:
            if rows:
                cfg = self.config
                retriever = bm25s.BM25(k1=cfg.k1, b=cfg.b, method=cfg.method)
                retriever.index(tokens, show_progress=False)
                retriever.save(folder, show_progress=False)
            write_chunks(folder / CHUNKS_FILE, rows)
            (folder / META_FILE).write_text(json.dumps(self._meta()), encoding="utf-8")

        with self._lock:
            publish_generation(self.root, write)

    def _load(self, folder: Path) -> tuple[list[Chunk], Any]:
        import bm25s

        check_meta(folder, self._meta())
        chunks = read_chunks(folder / CHUNKS_FILE)
        retriever = bm25s.BM25.load(folder, show_progress=False) if chunks else None
        return chunks, retriever

    def search(self, query: str, top_k: int, flt: FilterExpr | None = None) -> list[Hit]:
        """Chunks matching ``flt`` ranked by BM25; rows with no query term are never returned."""
        loaded = self._live.get(self.root)
        if loaded.model is None:
            return []
        vocab = loaded.model.vocab_dict
        ids = [vocab[t] for t in self._tokenizer.tokenize(query) if t in vocab]
        if not ids:
            return []
        mask = None if flt is None else loaded.masks.get(flt)
        if mask is not None and not mask.any():
            return []
        scores = loaded.model.get_scores_from_ids(ids, weight_mask=mask)
        return top_hits(scores, loaded.chunks, top_k)
