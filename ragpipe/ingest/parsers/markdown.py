"""Markdown parser: YAML front matter becomes metadata; the body is kept verbatim.

The body is not rendered or cleaned, so structure-aware chunkers still see the ``#`` headings
and chunk offsets index the real text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ragpipe.config.stages import ParserConfig
from ragpipe.errors import ParseError
from ragpipe.ingest.parsers import decode_text, json_safe
from ragpipe.registry import register

_FRONT_MATTER_OPEN = re.compile(r"---[ \t]*\n")
_FRONT_MATTER_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*$\n?", re.MULTILINE)
_ATX_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


class MarkdownParserConfig(ParserConfig):
    type: Literal["markdown"] = "markdown"
    title_from_heading: bool = True
    """Without a front matter ``title``, use the first level-1 heading as the title."""
    max_control_ratio: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of control bytes above which the file counts as binary."""


def split_front_matter(path: Path, text: str) -> tuple[dict[str, Any], str]:
    """``(front matter mapping, body)``; a text without leading ``---`` has empty front matter."""
    import yaml

    opening = _FRONT_MATTER_OPEN.match(text)
    if opening is None:
        return {}, text
    closing = _FRONT_MATTER_CLOSE.search(text, opening.end())
    if closing is None:
        raise ParseError(f"{path}: front matter opened by '---' on line 1 has no closing '---' line")
    block = text[opening.end() : closing.start()]
    try:
        loaded = yaml.safe_load(block)
    except yaml.YAMLError as exc:
        raise ParseError(f"{path}: malformed YAML front matter: {' '.join(str(exc).split())}") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise ParseError(f"{path}: front matter must be a YAML mapping (key: value), got {type(loaded).__name__}")
    return json_safe(loaded), text[closing.end() :]


def first_h1(body: str) -> str | None:
    """Text of the first level-1 heading (ATX ``# x`` or setext ``x\\n===``) outside code fences."""
    in_fence = False
    previous = ""
    for line in body.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
            previous = ""
            continue
        if in_fence:
            continue
        atx = _ATX_H1.match(line)
        if atx:
            return atx.group(1).strip()
        if previous.strip() and _SETEXT_H1.match(line):
            return previous.strip()
        previous = line
    return None


@register("parser", config=MarkdownParserConfig)
class MarkdownParser:
    """``.md`` / ``.markdown`` files; metadata: front matter keys, ``title``, ``encoding``."""

    extensions: tuple[str, ...] = (".md", ".markdown")

    def __init__(self, config: MarkdownParserConfig) -> None:
        self.config = config

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        text, encoding = decode_text(path, data, self.config.max_control_ratio)
        front_matter, body = split_front_matter(path, text)
        metadata: dict[str, Any] = {**front_matter, "encoding": encoding}
        title = front_matter.get("title")
        if title is None and self.config.title_from_heading:
            title = first_h1(body)
        if title is not None:
            metadata["title"] = str(title)
        return body, metadata
