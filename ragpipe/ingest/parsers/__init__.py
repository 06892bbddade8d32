"""File parsers (registry kind ``parser``) and the small helpers they share.

Helpers here are pure functions: byte decoding with encoding detection, JSON-safe metadata,
YAML scalar parsing of metadata strings, and rendering of unstructured elements as
Markdown-like text (so headings survive for structure-aware chunking).
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ragpipe.errors import ParseError

# Control bytes that do not occur in ordinary text (tab, LF, FF, CR and ESC are allowed).
_ODD_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
_UNICODE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_MAX_HEADING_LEVEL = 6


def check_not_binary(path: Path, data: bytes, max_control_ratio: float) -> None:
    """Raise ParseError when ``data`` looks binary: a NUL byte or too many control bytes."""
    if b"\x00" in data:
        raise ParseError(f"{path}: binary content in a {path.suffix or 'text'} file (contains NUL bytes)")
    odd = len(data) - len(data.translate(None, _ODD_CONTROL_BYTES))
    if data and odd / len(data) > max_control_ratio:
        raise ParseError(
            f"{path}: binary content in a {path.suffix or 'text'} file "
            f"({odd / len(data):.0%} control bytes > {max_control_ratio:.0%})"
        )


def decode_text(path: Path, data: bytes, max_control_ratio: float = 0.1) -> tuple[str, str]:
    """Decode file bytes to ``(text, encoding)`` with LF line ends.

    UTF-8 (a BOM is stripped) and BOM-marked UTF-16/32 first; otherwise the legacy encoding whose
    decoding reads most like text (:mod:`ragpipe.ingest.parsers.legacy_encoding`: cp1252 unless another
    encoding is plainly better; latin-1 as the last resort, it never fails).
    """
    for bom, encoding in _UNICODE_BOMS:
        if data.startswith(bom):
            try:
                return normalize_newlines(data.decode(encoding)), encoding
            except UnicodeDecodeError as exc:
                raise ParseError(f"{path}: invalid {encoding} text after its byte-order mark: {exc}") from None
    check_not_binary(path, data, max_control_ratio)
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return normalize_newlines(data.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    from ragpipe.ingest.parsers.legacy_encoding import decode_legacy

    text, encoding = decode_legacy(data)
    return normalize_newlines(text), encoding


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def json_safe(value: Any) -> Any:
    """A JSON-compatible copy of ``value``: dates become ISO strings, containers lists/dicts."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [json_safe(v) for v in items]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def yaml_scalar(text: str) -> Any:
    """Parse a metadata string as a YAML scalar ("2023" -> 2023, "3.5" -> 3.5, "true" -> True).

    Anything that is not a plain scalar (lists, mappings, YAML errors) stays the original string,
    as do YAML 1.1 booleans other than true/false ("no", "off") and empty values.
    """
    import yaml

    stripped = text.strip()
    if not stripped:
        return text
    try:
        value = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return text
    if isinstance(value, bool):
        return value if stripped.lower() in ("true", "false") else text
    if isinstance(value, int | float | dt.date | dt.datetime):
        return json_safe(value)
    return text


def render_elements(elements: Iterable[Any]) -> str:
    """Render unstructured elements as Markdown-like text, blocks joined by a blank line.

    Title -> ``#`` * level + text, where level is ``category_depth + 1`` (unstructured's depth is
    0-based: ``<h1>`` and Word "Heading 1" have depth 0) capped at 6; ListItem -> ``- text``;
    anything else -> its text. Elements without text (page breaks, images) are dropped.
    """
    blocks: list[str] = []
    for element in elements:
        text = normalize_newlines(getattr(element, "text", "") or "").strip()
        if not text:
            continue
        category = getattr(element, "category", type(element).__name__)
        if category == "Title":
            depth = getattr(element.metadata, "category_depth", None)
            level = min(max((depth if isinstance(depth, int) else 0) + 1, 1), _MAX_HEADING_LEVEL)
            blocks.append(f"{'#' * level} {' '.join(text.split())}")
        elif category == "ListItem":
            blocks.append(f"- {text}")
        else:
            blocks.append(text)
    return "\n\n".join(blocks)


_HTML_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def declared_html_charset(data: bytes) -> str | None:
    """The charset named by a ``<meta charset>`` / http-equiv tag in the first 4 KiB, if valid."""
    match = _HTML_CHARSET.search(data[:4096])
    if not match:
        return None
    name = match.group(1).decode("ascii", errors="ignore")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None
