"""Decoding text that is not UTF-8: pick the legacy encoding whose text reads most like text.

Detectors (charset_normalizer) guess from byte statistics and misread short Western texts: a Latin-1
"Café crème" came back as cp1250 "Café crčme". Here every candidate decoding — cp1252 (Windows' superset of
Latin-1), latin-1 and each of the detector's guesses — is scored by how many characters look wrong in it:

- control characters and characters no text uses (C1 controls, halfwidth katakana, private use);
- a symbol squeezed between two letters ("Za¿ó³æ", what cp1250 Polish looks like read as cp1252);
- a word of 3+ letters that has no ASCII letter but is written in Latin letters ("Ïðèâåò", Cyrillic read as
  cp1252): real words of the Latin-script languages always hold some ASCII letter;
- a word that mixes scripts (Latin with Cyrillic, Greek or CJK).

The decoding with the fewest wrong-looking characters wins; ties go to cp1252, then latin-1, then the
detector's order.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W\d_]+(?:[^\s\w][^\W\d_]+)*")
_LETTERS_AROUND_SYMBOL = re.compile(r"(?<=[^\W\d_])([^\w\s'’\-‐‑.,;:!?)(\]\[/])(?=[^\W\d_])")
_FALLBACKS = ("cp1252", "latin-1")
SAMPLE_BYTES = 1 << 16  # candidates are scored on the first 64 KiB


def _script(char: str) -> str:
    name = unicodedata.name(char, "")
    for script in ("LATIN", "CYRILLIC", "GREEK", "CJK", "HIRAGANA", "KATAKANA", "HANGUL", "ARABIC", "HEBREW"):
        if name.startswith(script) or f" {script} " in f" {name} ":
            return script
    return "OTHER"


def oddities(text: str) -> int:
    """How many characters of ``text`` look like a wrong decoding (see the module doc)."""
    odd = 0
    for char in text:
        code = ord(char)
        category = unicodedata.category(char)
        if (category in ("Cc", "Co", "Cn") and char not in "\t\n\r\f") or 0xFF61 <= code <= 0xFF9F:
            odd += 1
    odd += len(_LETTERS_AROUND_SYMBOL.findall(text))
    for word in _WORD.findall(text):
        letters = [c for c in word if c.isalpha()]
        if len(letters) >= 3 and not any(c.isascii() for c in letters) and all(_script(c) == "LATIN" for c in letters):
            odd += len(letters)
        scripts = {_script(c) for c in letters} - {"OTHER"}
        if len(scripts) > 1:
            odd += len(letters)
    return odd


def decode_legacy(data: bytes) -> tuple[str, str]:
    """``(text, encoding)`` of bytes that are not UTF-8 (see the module doc); latin-1 never fails."""
    from charset_normalizer import from_bytes

    sample = data[:SAMPLE_BYTES]
    candidates: dict[str, str] = {}
    for encoding in _FALLBACKS:
        try:
            candidates[encoding] = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
    for match in from_bytes(data):
        if not match.encoding.startswith(("utf_16", "utf_32")):
            candidates.setdefault(match.encoding, sample.decode(match.encoding, errors="replace"))
    order = list(candidates)
    best = min(order, key=lambda encoding: (oddities(candidates[encoding]), order.index(encoding)))
    try:
        return data.decode(best), best
    except UnicodeDecodeError:  # the sample decoded, the rest does not: the one encoding that never fails
        return data.decode("latin-1"), "latin-1"
