"""A small rule-based sentence splitter that returns exact character spans.

Rules, in order:

- Blank lines and horizontal rules (``---``, ``***``, ``===``) end a block.
- A Markdown heading line (``# Title``) is one sentence of its own, ``#`` marks included.
- A bullet or numbered list line (``- item``, ``* item``, ``1. item``, ``2) item``) starts a new block;
  its marker is not part of the sentence. Following non-blank lines continue the item.
- Inside a block, a sentence ends after ``.``, ``!``, ``?`` or ``…`` (plus closing quotes/brackets)
  followed by whitespace and an upper-case letter, a digit or an opening quote/bracket. A period does
  not end a sentence after a known abbreviation (``Dr.``, ``e.g.``, ``et al.``, ``Fig. 3``...); decimals
  and version numbers (``3.5``, ``v1.2.3``) never do, as no whitespace follows their dots.
- A single line break inside a paragraph is treated as wrapped text, not a boundary.

Spans are trimmed of surrounding whitespace; spans without any letter or digit are dropped.
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?=\s|$)")
_BULLET = re.compile(r"[ \t]*(?:[-*+•◦‣▪]|\d{1,3}[.)])[ \t]+(?=\S)")
_RULE = re.compile(r"[ \t]*([-*_=])(?:[ \t]*\1){2,}[ \t]*")
_TERMINATOR = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)")
_INITIALISM = re.compile(r"(?:[a-z]\.)+[a-z]")  # e.g, i.e, u.s.a, a.m
_WORD_CHAR = re.compile(r"\w")
_OPENERS = "\"'“‘«([{"

ABBREVIATIONS = frozenset(
    {
        "al", "approx", "ca", "cf", "col", "dept", "dr", "est", "gen", "gov", "hon", "jr", "lt", "mr", "mrs",
        "ms", "mt", "prof", "rep", "resp", "rev", "sen", "sgt", "sr", "st", "univ", "viz", "vs",
    }
)  # fmt: skip
"""Words whose trailing period never ends a sentence (compared lower-case)."""

NUMBER_ABBREVIATIONS = frozenset(
    {"art", "ch", "eq", "eqs", "fig", "figs", "no", "nos", "p", "pp", "ref", "refs", "sec", "tab", "vol", "vols"}
)
"""Words whose trailing period does not end a sentence when a number follows (``Fig. 3``, ``No. 5``)."""


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` spans of the sentences of ``text``, in order, so ``text[start:end]`` is one sentence."""
    spans: list[tuple[int, int]] = []
    for start, end, heading in _blocks(text):
        pieces = [(start, end)] if heading else _split_block(text, start, end)
        for piece_start, piece_end in pieces:
            span = _trim(text, piece_start, piece_end)
            if span is not None:
                spans.append(span)
    return spans


def is_heading(sentence: str) -> bool:
    """True for a Markdown heading line such as ``## Installation``."""
    return _HEADING.match(sentence) is not None


def _lines(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every line, without its line break."""
    lines: list[tuple[int, int]] = []
    position = 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\r\n")
        lines.append((position, position + len(content)))
        position += len(line)
    return lines


def _blocks(text: str) -> list[tuple[int, int, bool]]:
    """Paragraph, list-item and heading blocks as ``(start, end, is_heading)``."""
    blocks: list[tuple[int, int, bool]] = []
    current: list[int] | None = None  # [start, end] of the open paragraph or list item

    def close() -> None:
        nonlocal current
        if current is not None:
            blocks.append((current[0], current[1], False))
            current = None

    for line_start, line_end in _lines(text):
        line = text[line_start:line_end]
        if not line.strip() or _RULE.fullmatch(line):
            close()
        elif _HEADING.match(line):
            close()
            blocks.append((line_start, line_end, True))
        elif bullet := _BULLET.match(line):
            close()
            current = [line_start + bullet.end(), line_end]
        elif current is None:
            current = [line_start, line_end]
        else:
            current[1] = line_end
    close()
    return blocks


def _split_block(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split one block at sentence-ending punctuation."""
    pieces: list[tuple[int, int]] = []
    piece_start = start
    for match in _TERMINATOR.finditer(text, start, end):
        following = _next_non_space(text, match.end(), end)
        if following is None:
            break
        next_char = text[following]
        if not (next_char.isupper() or next_char.isdigit() or next_char in _OPENERS):
            continue
        single_period = match.group().startswith(".") and not match.group().startswith("...")
        if single_period and _is_abbreviation(_word_before(text, piece_start, match.start()), next_char):
            continue
        pieces.append((piece_start, match.end()))
        piece_start = following
    pieces.append((piece_start, end))
    return pieces


def _next_non_space(text: str, position: int, end: int) -> int | None:
    while position < end and text[position].isspace():
        position += 1
    return position if position < end else None


def _word_before(text: str, start: int, position: int) -> str:
    """The word (letters, digits and inner dots) that ends right before ``position``."""
    first = position
    while first > start and (text[first - 1].isalnum() or text[first - 1] == "."):
        first -= 1
    return text[first:position].lstrip(".")


def _is_abbreviation(word: str, next_char: str) -> bool:
    lowered = word.lower()
    if lowered in ABBREVIATIONS or _INITIALISM.fullmatch(lowered):
        return True
    return lowered in NUMBER_ABBREVIATIONS and next_char.isdigit()


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start == end or not _WORD_CHAR.search(text, start, end):
        return None
    return start, end
