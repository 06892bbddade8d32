"""HTML parser: unstructured ``partition_html`` rendered as Markdown-like text, plus head metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ragpipe.config.stages import ParserConfig
from ragpipe.errors import ParseError
from ragpipe.ingest.parsers import (
    check_not_binary,
    declared_html_charset,
    decode_text,
    normalize_newlines,
    render_elements,
    yaml_scalar,
)
from ragpipe.ingest.parsers._unstructured_offline import ensure_unstructured_offline
from ragpipe.registry import register


class HtmlParserConfig(ParserConfig):
    type: Literal["html"] = "html"
    max_control_ratio: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of control bytes above which the file counts as binary."""


def head_metadata(path: Path, text: str) -> dict[str, Any]:
    """``title`` from ``<title>`` and every ``<meta name=X content=Y>`` (Y as a YAML scalar)."""
    import lxml.html
    from lxml import etree

    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"{path}: HTML could not be parsed: {exc}") from None
    metadata: dict[str, Any] = {}
    for meta in root.iter("meta"):
        name, content = meta.get("name"), meta.get("content")
        if name and name.strip() and content is not None:
            metadata[name.strip().lower()] = yaml_scalar(content)
    title = root.findtext(".//title")
    if title and title.strip():
        metadata["title"] = " ".join(title.split())
    return metadata


@register("parser", config=HtmlParserConfig)
class HtmlParser:
    """``.html`` / ``.htm`` files; headings become ``#`` lines, list items ``- `` lines."""

    extensions: tuple[str, ...] = (".html", ".htm")

    def __init__(self, config: HtmlParserConfig) -> None:
        self.config = config

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        html, encoding = self._decode(path, data)
        metadata = head_metadata(path, html)
        ensure_unstructured_offline()
        from unstructured.partition.html import partition_html

        try:
            elements = partition_html(text=html)
        except Exception as exc:
            raise ParseError(f"{path}: unstructured could not partition the HTML: {exc}") from exc
        metadata["encoding"] = encoding
        if "title" not in metadata:
            heading = next((e.text for e in elements if e.category == "Title" and e.text.strip()), None)
            if heading:
                metadata["title"] = " ".join(heading.split())
        return render_elements(elements), metadata

    def _decode(self, path: Path, data: bytes) -> tuple[str, str]:
        declared = declared_html_charset(data)
        if declared is not None and declared != "utf-8":
            check_not_binary(path, data, self.config.max_control_ratio)
            try:
                return normalize_newlines(data.decode(declared)), declared
            except UnicodeDecodeError:
                pass  # the declaration is wrong: detect instead
        return decode_text(path, data, self.config.max_control_ratio)
