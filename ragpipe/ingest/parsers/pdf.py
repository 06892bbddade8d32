"""PDF parser (pypdf): page texts joined by a blank line, with page start offsets.

unstructured's PDF extra is deliberately not used: it pulls a CUDA torch build and is ~20x slower.
Scanned PDFs (no text layer) are rejected: OCR is not supported.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any, Literal

from ragpipe.config.stages import ParserConfig
from ragpipe.errors import ParseError
from ragpipe.ingest.parsers import json_safe, normalize_newlines, yaml_scalar
from ragpipe.registry import register

PAGE_SEPARATOR = "\n\n"
# Info-dict dates become ISO strings under the names the docx parser uses.
_DATE_KEYS = {"/CreationDate": "created", "/ModDate": "modified"}


class PdfParserConfig(ParserConfig):
    type: Literal["pdf"] = "pdf"


def info_metadata(reader: Any) -> dict[str, Any]:
    """Every document-info entry: key lower-cased without '/', value parsed as a YAML scalar."""
    from pypdf.generic import ByteStringObject

    info = reader.metadata
    if info is None:
        return {}
    metadata: dict[str, Any] = {}
    for key in info:
        value = info[key]
        if key in _DATE_KEYS:
            parsed = info.creation_date if key == "/CreationDate" else info.modification_date
            if parsed is not None:
                metadata[_DATE_KEYS[key]] = json_safe(parsed)
            continue
        if isinstance(value, ByteStringObject):
            try:
                value = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                continue  # binary blob, not metadata anyone can filter on
        text = str(value).strip()
        name = _snake_case(str(key).lstrip("/").strip())
        if text and name:
            metadata[name] = yaml_scalar(text)
    return metadata


def _snake_case(name: str) -> str:
    """``DocType`` -> ``doc_type``, ``Title`` -> ``title``: PDF info keys named like other formats' fields."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).replace(" ", "_").lower()


def _open(path: Path, data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ParseError(f"{path}: encrypted PDF: a password is required to read it")
    except (PyPdfError, DependencyError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ParseError(f"{path}: corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from None
    return reader


@register("parser", config=PdfParserConfig)
class PdfParser:
    """``.pdf`` files; metadata: ``pages``, ``page_starts``, title/author/... and custom info keys."""

    extensions: tuple[str, ...] = (".pdf",)

    def __init__(self, config: PdfParserConfig) -> None:
        self.config = config

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        reader = _open(path, data)
        pages: list[str] = []
        try:
            for number, page in enumerate(reader.pages, start=1):
                try:
                    pages.append(normalize_newlines(page.extract_text() or "").strip())
                except Exception as exc:
                    raise ParseError(f"{path}: text of page {number} could not be extracted: {exc}") from None
            metadata = info_metadata(reader)
        except ParseError:
            raise
        except Exception as exc:
            raise ParseError(f"{path}: corrupt or unreadable PDF: {type(exc).__name__}: {exc}") from None
        if not any(pages):
            raise ParseError(f"{path}: no extractable text (scanned PDF? OCR is not supported)")
        page_starts: list[int] = []
        offset = 0
        for text in pages:
            page_starts.append(offset)
            offset += len(text) + len(PAGE_SEPARATOR)
        metadata.update(pages=len(pages), page_starts=page_starts)
        return PAGE_SEPARATOR.join(pages), metadata
