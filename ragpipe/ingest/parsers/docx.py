"""Word (.docx) parser: unstructured ``partition_docx`` rendered as Markdown-like text,
metadata from the document's core properties (python-docx)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Literal

from ragpipe.config.stages import ParserConfig
from ragpipe.errors import ParseError
from ragpipe.ingest.parsers import json_safe, render_elements
from ragpipe.ingest.parsers._unstructured_offline import ensure_unstructured_offline
from ragpipe.registry import register

CORE_PROPERTIES = ("title", "author", "subject", "keywords", "category", "content_status", "created", "modified")
RENAMED = {"content_status": "status"}  # Word's "Status" field, named like the other formats' `status`


class DocxParserConfig(ParserConfig):
    type: Literal["docx"] = "docx"


def core_properties(path: Path, data: bytes) -> dict[str, Any]:
    """Non-empty core properties (dates as ISO strings); ParseError if the file is not a .docx."""
    import docx

    try:
        properties = docx.Document(io.BytesIO(data)).core_properties
    except Exception as exc:
        raise ParseError(
            f"{path}: not a valid .docx file (corrupt, or not a Word 2007+ document): {type(exc).__name__}: {exc}"
        ) from None
    metadata: dict[str, Any] = {}
    for name in CORE_PROPERTIES:
        value = getattr(properties, name, None)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, ""):
            metadata[RENAMED.get(name, name)] = json_safe(value)
    return metadata


@register("parser", config=DocxParserConfig)
class DocxParser:
    """``.docx`` files; Word headings become ``#`` lines, list paragraphs ``- `` lines."""

    extensions: tuple[str, ...] = (".docx",)

    def __init__(self, config: DocxParserConfig) -> None:
        self.config = config

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        metadata = core_properties(path, data)
        ensure_unstructured_offline()
        from unstructured.partition.docx import partition_docx

        try:
            elements = partition_docx(file=io.BytesIO(data))
        except Exception as exc:
            raise ParseError(f"{path}: unstructured could not partition the .docx: {exc}") from exc
        return render_elements(elements), metadata
