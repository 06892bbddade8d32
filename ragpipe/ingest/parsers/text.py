"""Plain-text parser: UTF-8 first, then encoding detection; binary files are rejected."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ragpipe.config.stages import ParserConfig
from ragpipe.ingest.parsers import decode_text
from ragpipe.registry import register


class TextParserConfig(ParserConfig):
    type: Literal["text"] = "text"
    max_control_ratio: float = Field(default=0.1, ge=0.0, le=1.0)
    """Share of control bytes (other than tab/CR/LF/FF/ESC) above which a file counts as binary."""


@register("parser", config=TextParserConfig)
class TextParser:
    """``.txt`` / ``.text`` files; metadata: ``encoding`` (the one the text was decoded with)."""

    extensions: tuple[str, ...] = (".txt", ".text")

    def __init__(self, config: TextParserConfig) -> None:
        self.config = config

    def parse(self, path: Path, data: bytes) -> tuple[str, dict[str, Any]]:
        text, encoding = decode_text(path, data, self.config.max_control_ratio)
        return text, {"encoding": encoding}
