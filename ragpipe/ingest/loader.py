"""Load one discovered file into a :class:`~ragpipe.types.Document` (bytes read once, hashed, parsed).

Every failure raises :class:`DocumentLoadError` with a reason meant for the ingest report;
``skipped=True`` marks an unsupported file type, which is not a failure.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragpipe import registry
from ragpipe.config.models import ParsingConfig
from ragpipe.errors import ConfigError, ParseError
from ragpipe.ingest.parsers import json_safe
from ragpipe.ingest.sources import FoundFile
from ragpipe.protocols import Parser
from ragpipe.types import Document

_HASH_BLOCK = 1 << 20


@dataclass(frozen=True)
class LoadedDocument:
    document: Document
    sha256: str


class DocumentLoadError(ParseError):
    """A file could not be loaded; ``skipped`` is True only for an unsupported file type."""

    def __init__(self, path: Path | str, reason: str, skipped: bool = False) -> None:
        self.path = str(path)
        self.reason = reason
        self.skipped = skipped
        super().__init__(f"{path}: {reason}")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def hash_file(path: Path) -> str:
    """:func:`sha256_of`, raising :class:`DocumentLoadError` with a report-ready reason if unreadable."""
    try:
        return sha256_of(path)
    except OSError as exc:
        raise read_error(path, exc) from None


def read_error(path: Path, exc: OSError) -> DocumentLoadError:
    """The load error for an OS error met while reading ``path``."""
    if isinstance(exc, FileNotFoundError):
        return DocumentLoadError(path, "file not found (deleted, or a broken symlink)")
    if isinstance(exc, PermissionError):
        return DocumentLoadError(path, "unreadable: permission denied")
    if isinstance(exc, IsADirectoryError):
        return DocumentLoadError(path, "is a directory, not a file")
    return DocumentLoadError(path, f"unreadable: {exc.strerror or exc}")


class ParserSet:
    """One instance of each registered parser, configured by the ``parsing`` section, looked up by extension.

    ``types`` restricts the set to some registered parser types (use it when two parsers claim
    the same extension). Parsers are built on first use, once, under a lock.
    """

    def __init__(self, parsing: ParsingConfig | None = None, types: Sequence[str] | None = None) -> None:
        self.parsing = parsing
        self.types = tuple(types) if types is not None else None
        self._by_extension: dict[str, Parser] | None = None
        self._lock = threading.Lock()

    def _parsers(self) -> dict[str, Parser]:
        if self._by_extension is not None:
            return self._by_extension
        with self._lock:
            if self._by_extension is None:
                self._by_extension = self._build()
        return self._by_extension

    def _build(self) -> dict[str, Parser]:
        by_extension: dict[str, Parser] = {}
        owner: dict[str, str] = {}
        for type_name in self.types if self.types is not None else registry.types_of("parser"):
            registration = registry.get("parser", type_name)
            config = self.parsing.for_type(type_name) if self.parsing is not None else registration.config_cls()
            parser = registry.build("parser", config)
            if not isinstance(parser, Parser):
                raise ConfigError(f"parser {type_name!r} lacks `extensions` or `parse(path, data)`")
            for extension in parser.extensions:
                ext = extension.lower()
                if ext in owner:
                    raise ConfigError(
                        f"parsers {owner[ext]!r} and {type_name!r} both handle {ext!r}; "
                        "build the ParserSet with `types=` naming only one of them"
                    )
                owner[ext] = type_name
                by_extension[ext] = parser
        return by_extension

    @property
    def extensions(self) -> tuple[str, ...]:
        """Supported extensions (lower-case, with dot), sorted."""
        return tuple(sorted(self._parsers()))

    def for_path(self, path: Path) -> Parser:
        """The parser for ``path``'s extension; DocumentLoadError(skipped=True) if none handles it."""
        extension = path.suffix.lower()
        parser = self._parsers().get(extension)
        if parser is None:
            kind = f"file type {extension}" if extension else "file type (no extension)"
            raise DocumentLoadError(path, f"unsupported {kind} (supported: {', '.join(self.extensions)})", skipped=True)
        return parser


_default_lock = threading.Lock()
_default_parsers: list[ParserSet] = []


def default_parsers() -> ParserSet:
    """A shared ParserSet of every registered parser (built once per process)."""
    with _default_lock:
        if not _default_parsers:
            _default_parsers.append(ParserSet())
        return _default_parsers[0]


def _read(path: Path, max_bytes: int) -> tuple[bytes, os.stat_result]:
    try:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            if stat.st_size == 0:
                raise DocumentLoadError(path, "empty file")
            if stat.st_size > max_bytes:
                raise DocumentLoadError(path, f"file too large: {stat.st_size} bytes > limit of {max_bytes} bytes")
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise read_error(path, exc) from None
    if not data:
        raise DocumentLoadError(path, "empty file")
    if len(data) > max_bytes:
        raise DocumentLoadError(path, f"file too large: more than the limit of {max_bytes} bytes")
    return data, stat


def load_document(
    found: FoundFile,
    static_metadata: Mapping[str, Any],
    max_bytes: int,
    parsers: ParserSet | None = None,
) -> LoadedDocument:
    """Read, hash and parse one file.

    Metadata precedence (later wins): ``static_metadata`` < the source's metadata < parser metadata
    < system fields (``doc_id``, ``source``, ``title``, ``mtime``, ``sha256``, ``file_type``,
    ``size_bytes``). Raises :class:`DocumentLoadError`.
    """
    if max_bytes < 1:
        raise ConfigError(f"max_bytes must be >= 1, got {max_bytes}")
    parser = (parsers or default_parsers()).for_path(found.path)
    data, stat = _read(found.path, max_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        text, parsed_metadata = parser.parse(found.path, data)
    except ParseError as exc:
        raise DocumentLoadError(found.path, _strip_path(str(exc), found.path)) from exc
    except Exception as exc:  # a parser bug must not abort a whole ingest run
        raise DocumentLoadError(
            found.path, f"parser {type(parser).__name__} failed: {type(exc).__name__}: {exc}"
        ) from exc
    if not text.strip():
        raise DocumentLoadError(found.path, "no text extracted")
    parsed = json_safe(dict(parsed_metadata))
    system = {
        "doc_id": found.doc_id,
        "source": str(found.path),
        "title": str(parsed.get("title") or found.path.stem),
        "mtime": float(stat.st_mtime),
        "sha256": sha256,
        "file_type": found.path.suffix.lower().lstrip("."),
        "size_bytes": len(data),
    }
    metadata = {**json_safe(dict(static_metadata)), **json_safe(found.metadata), **parsed, **system}
    return LoadedDocument(document=Document(id=found.doc_id, text=text, metadata=metadata), sha256=sha256)


def _strip_path(message: str, path: Path) -> str:
    prefix = f"{path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message
