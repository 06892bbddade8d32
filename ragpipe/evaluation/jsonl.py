"""Reading JSON Lines inputs line by line: a bad line becomes a :class:`LineError`, never an abort."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ragpipe.evaluation.questions import LineError


def iter_lines(path: Path) -> Iterator[tuple[str, int, str | LineError]]:
    """``(location, line number, text)`` per line (a BOM on the first dropped), or a LineError for a line that
    is not valid UTF-8."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            location = f"{path}:{number}"
            try:
                yield location, number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield location, number, LineError(f"not valid UTF-8 ({exc.reason} at byte {exc.start})")


def iter_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any] | LineError]]:
    """``(location, object)`` per non-blank line, or ``(location, LineError)`` for a line that is no object."""
    for location, _, line in iter_lines(path):
        if isinstance(line, LineError):
            yield location, line
            continue
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield location, LineError(f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield location, LineError(f"expected a JSON object, got {type(value).__name__}")
            continue
        yield location, value


def text_id(value: Any, key: str) -> str:
    """An id given as a non-empty string or an integer, as a string."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise LineError(f"{key!r} must be a string or an integer, got {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise LineError(f"{key!r} is empty")
    return text


def id_and_text(record: dict[str, Any], id_key: str, text_key: str, kind: str) -> tuple[str, str]:
    """A record's required id and non-empty text (as given); LineError naming the field otherwise."""
    if id_key not in record:
        raise LineError(f"missing field {id_key!r}")
    record_id = text_id(record[id_key], id_key)
    text = record.get(text_key)
    if not isinstance(text, str) or not text.strip():
        raise LineError(f"{kind} {record_id!r}: {text_key!r} must be a non-empty string, got {text!r}")
    return record_id, text
