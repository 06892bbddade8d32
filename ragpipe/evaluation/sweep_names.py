"""How a sweep names things: variant names and value labels derived from dotted overrides, and the
``path=value`` override strings that rebuild a variant's config (:mod:`ragpipe.evaluation.sweep_spec`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def override_string(path: str, value: Any) -> str:
    """``path=value`` with the value as JSON (a YAML subset), so strings, lists and mappings survive intact."""
    return f"{path}={json.dumps(value, ensure_ascii=False)}"


def value_label(value: Any) -> str:
    """Compact text for a value in names and tables: ``256``, ``token``, ``{"type":"rrf"}``."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def flatten(path: str, value: Any) -> list[tuple[str, Any]]:
    """Leaf ``(dotted.path, value)`` pairs of a value that may be a (nested) mapping."""
    if isinstance(value, Mapping) and value:
        return [pair for key, sub in value.items() for pair in flatten(f"{path}.{key}", sub)]
    return [(path, value)]


def derive_name(settings: Sequence[tuple[str, Any]]) -> str:
    """``chunking.type=token,chunk_size=256``: a key under the same parent as the previous one drops the prefix."""
    if not settings:
        return "base"
    parts: list[str] = []
    previous_parent: str | None = None
    for path, value in (pair for p, v in settings for pair in flatten(p, v)):
        parent, _, leaf = path.rpartition(".")
        shown = leaf if parent and parent == previous_parent else path
        parts.append(f"{shown}={value_label(value)}")
        previous_parent = parent
    return ",".join(parts)
