"""The fixed chunking tokenizer (tiktoken cl100k_base, llama-index's default) and :class:`Lazy`.

Chunk sizes are counted in cl100k tokens. The encoding is built from the BPE file bundled with
llama-index-core, once, on first use, so llama-index's global tokenizer is never read and nothing is
downloaded. :class:`Lazy` builds a value on first use, once across threads.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from ragpipe.errors import ConfigError

T = TypeVar("T")
Tokenizer = Callable[[str], list[int]]

# llama-index's default tokenizer is tiktoken cl100k_base ("gpt-3.5-turbo"); its BPE file ships inside
# llama-index-core under the name tiktoken's cache gives this URL. These constants mirror tiktoken_ext.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]"""
    r"""|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


class Lazy(Generic[T]):
    """A value built by ``factory`` on first :meth:`get`; concurrent first calls build it once."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._factory()
        return self._value


def cl100k_tokenizer() -> Tokenizer:
    """tiktoken cl100k_base from llama-index's bundled file: its default, immune to its global tokenizer."""
    return _CL100K.get()


def _load_cl100k() -> Tokenizer:
    import llama_index.core
    import tiktoken

    name = hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    path = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache" / name
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != _CL100K_SHA256:
        raise ConfigError(f"tiktoken file {path} bundled with llama-index-core is corrupt (sha256 mismatch)")
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in data.splitlines() if line)}
    encoding = tiktoken.Encoding(
        name="cl100k_base", pat_str=_CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=_CL100K_SPECIAL
    )

    def encode(text: str) -> list[int]:
        return encoding.encode(text, allowed_special="all")

    return encode


_CL100K: Lazy[Tokenizer] = Lazy(_load_cl100k)  # loaded once (~0.7 s), on first use
