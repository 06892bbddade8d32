"""What every embedder reads from a model's files without loading it: where it is, who it is, its length limit,
and how long a text is in its tokens.

Nothing here imports torch; the token counter uses the ``tokenizers`` library on the model's tokenizer.json.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ragpipe.errors import ModelNotFoundError
from ragpipe.models import BUNDLED_ALIASES, BUNDLED_PACKAGE, describe_missing, resolve_model
from ragpipe.offline import offline_environment

if TYPE_CHECKING:
    from tokenizers import Tokenizer

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")
UNBOUNDED = 1_000_000  # tokenizer_config.json's "no limit" values are ~1e30


def package_version(distribution: str) -> str:
    """Installed version of ``distribution``; ModelNotFoundError if it is not installed."""
    try:
        return version(distribution)
    except PackageNotFoundError:
        raise ModelNotFoundError(
            f"model package {distribution!r} is not installed; install it with `pip install {distribution}`"
        ) from None


def folder_fingerprint(path: Path) -> str:
    """Short hash of a model folder's config files plus the names, sizes and mtimes of its weight files."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        rel = file.name if file == path else file.relative_to(path).as_posix()
        if file.suffix == ".json":
            digest.update(f"{rel}\0".encode() + file.read_bytes())
        elif file.suffix in WEIGHT_SUFFIXES:
            stat = file.stat()
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:12]


def locate_cached_model(name: str) -> Path:
    """The offline Hugging Face cache snapshot folder of ``name``; raises ModelNotFoundError if absent."""
    offline_environment()
    from huggingface_hub import snapshot_download

    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except (OSError, ValueError):  # not in the local cache, or not a valid repo id: try the next form
            continue
    raise describe_missing(name, kind="embedding model")


def model_source(reference: str) -> tuple[Path, str]:
    """``(local folder or file, identity)`` for a config's ``model``; the identity names version or content."""
    ref = reference.strip()
    if ref.lower() in BUNDLED_ALIASES:
        dist = BUNDLED_PACKAGE.replace("_", "-")
        return Path(resolve_model(ref)), f"{dist}=={package_version(dist)}"
    if ref.startswith("package:"):
        dist = ref.removeprefix("package:")
        return Path(resolve_model(ref)), f"{dist}=={package_version(dist)}"
    resolved = resolve_model(ref)
    path = resolved if isinstance(resolved, Path) else locate_cached_model(resolved)
    return path, f"{path}#{folder_fingerprint(path)}"


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def model_max_length(folder: Path) -> int | None:
    """The input limit a sentence-transformers model uses, read from its folder: ``max_seq_length`` of
    sentence_bert_config.json, else the tokenizer's ``model_max_length``, else ``max_position_embeddings``."""
    folder = folder if folder.is_dir() else folder.parent
    for file, key in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("tokenizer_config.json", "model_max_length"),
        ("config.json", "max_position_embeddings"),
    ):
        value = _json(folder / file).get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < UNBOUNDED:
            return int(value)
    return None


def position_limit(folder: Path) -> int | None:
    """``max_position_embeddings`` of the model's config.json: the most tokens it can read at all."""
    value = _json((folder if folder.is_dir() else folder.parent) / "config.json").get("max_position_embeddings")
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


class TokenCounter:
    """Lengths of texts in a model's tokens (special tokens included, nothing cut), from its tokenizer.json."""

    def __init__(self, tokenizer_json: Path) -> None:
        self.path = tokenizer_json
        self._lock = threading.Lock()
        self._tokenizer: Tokenizer | None = None

    def _get(self) -> Tokenizer:
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(self.path))
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._tokenizer = tokenizer
            return self._tokenizer

    def lengths(self, texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(encoding.ids) for encoding in self._get().encode_batch(list(texts))]

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text``, special tokens left out."""
        encoding = self._get().encode(text)
        return [
            span for span, special in zip(encoding.offsets, encoding.special_tokens_mask, strict=True) if not special
        ]
