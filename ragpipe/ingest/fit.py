"""Fit chunks to the embedder: no chunk is cut silently in the dense leg.

Chunkers count chunk sizes in tiktoken cl100k tokens; the embedder reads at most ``max_input_tokens`` of
its own (word pieces, specials and the document prefix included). A chunk longer than that is, unless
``embedding.allow_truncation`` accepts the cut:

- split into consecutive sub-spans of the document that each fit, cut at the last whitespace before the
  limit (a sentence end when one lies in the last fifth of the window); each piece keeps the chunk's
  metadata and parent and is marked ``fitted_from`` (the original chunk's id);
- with ``allow_truncation``, left whole and counted (its end is missing from the dense vector).

Either way the ingest report says how many chunks of how many documents it concerned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ragpipe.chunking.base import make_chunk_id
from ragpipe.protocols import Embedder
from ragpipe.types import Chunk, Document, FileFailure

LENGTH_BATCH = 256
_SPACE = re.compile(r"\s")
_SENTENCE_GAP = re.compile(r"^[.?!]+[\"')\]]*\s")


@dataclass
class Fitting:
    """Fits the chunks of one ingest and counts what it did."""

    embedder: Embedder
    allow_truncation: bool
    split_chunks: int = 0
    cut_chunks: int = 0
    documents: list[str] = field(default_factory=list)
    _overhead: int | None = None

    @property
    def limit(self) -> int | None:
        return self.embedder.max_input_tokens

    def fit_batch(self, items: Sequence[tuple[Document, list[Chunk]]]) -> list[list[Chunk]]:
        """The chunks of each ``(document, chunks)``, fitted; lengths are measured for the whole batch at once
        (in slices of LENGTH_BATCH, so memory stays bounded for a document of 50k chunks)."""
        if self.limit is None:
            return [list(chunks) for _, chunks in items]
        texts = [c.text for _, chunks in items for c in chunks]
        lengths: list[int] = []
        for start in range(0, len(texts), LENGTH_BATCH):
            lengths += self.embedder.input_lengths(texts[start : start + LENGTH_BATCH])
        fitted, offset = [], 0
        for document, chunks in items:
            fitted.append(self._fit(document, chunks, lengths[offset : offset + len(chunks)]))
            offset += len(chunks)
        return fitted

    def fit(self, document: Document, chunks: Sequence[Chunk]) -> list[Chunk]:
        """``chunks``, with those longer than the embedder reads split (or counted, when allowed)."""
        return self.fit_batch([(document, list(chunks))])[0]

    def _fit(self, document: Document, chunks: Sequence[Chunk], lengths: Sequence[int]) -> list[Chunk]:
        limit = self.limit
        if limit is None or not chunks or max(lengths) <= limit:
            return list(chunks)
        if self.documents[-1:] != [document.id]:
            self.documents.append(document.id)
        if self.allow_truncation:
            self.cut_chunks += sum(1 for n in lengths if n > limit)
            return list(chunks)
        if self._overhead is None:
            self._overhead = self.embedder.input_lengths([""])[0]
        budget = max(limit - self._overhead, 1)
        fitted: list[Chunk] = []
        for chunk, length in zip(chunks, lengths, strict=True):
            if length <= limit:
                fitted.append(chunk)
                continue
            self.split_chunks += 1
            fitted.extend(self._split(document, chunk, budget))
        return fitted

    def _split(self, document: Document, chunk: Chunk, budget: int) -> list[Chunk]:
        spans = self.embedder.token_spans(chunk.text)
        cuts = [0]  # token index where each piece starts; a piece runs to the next piece's first character
        while cuts[-1] + budget < len(spans):
            cuts.append(_cut_before(chunk.text, spans, cuts[-1], cuts[-1] + budget - 1) + 1)
        starts = [0] + [spans[index][0] for index in cuts[1:]]
        pieces = list(zip(starts, [*starts[1:], len(chunk.text)], strict=True))
        out = []
        for start, end in pieces:
            text = chunk.text[start:end]
            lead = len(text) - len(text.lstrip())
            begin, stop = chunk.start + start + lead, chunk.start + start + len(text.rstrip())
            if stop <= begin:
                continue
            piece = document.text[begin:stop]
            metadata = {**chunk.metadata, "fitted_from": chunk.id}
            chunk_id = make_chunk_id(document.id, begin, stop, piece)
            out.append(Chunk(chunk_id, document.id, piece, begin, stop, metadata, chunk.parent_id))
        return out

    def note(self) -> FileFailure | None:
        """The ingest report's note, or None when every chunk fit."""
        if not self.documents:
            return None
        count = self.cut_chunks if self.allow_truncation else self.split_chunks
        if self.allow_truncation:
            what = "their ends are missing from the dense vectors (embedding.allow_truncation is true)"
        else:
            what = "each was split into pieces that fit, so nothing is cut from the dense vectors"
        reason = (
            f"{count} chunk(s) of {len(self.documents)} document(s) are longer than the embedder reads "
            f"({self.limit} of its tokens, embedding.max_length): {what}; a smaller chunking size avoids it"
        )
        return FileFailure(self.documents[0], reason)


def _cut_before(text: str, spans: Sequence[tuple[int, int]], first: int, last: int) -> int:
    """The token to end a piece at (``last`` at most): the last one ending a sentence or paragraph in the
    window's last fifth, else the last one followed by whitespace, else ``last`` itself (one long word)."""
    floor = first + (last - first) * 4 // 5
    whitespace = None
    for index in range(last, first - 1, -1):
        gap = text[spans[index][1] : spans[index + 1][0]]
        if not _SPACE.search(gap):
            continue  # inside a word: never cut here if there is another choice
        ends_sentence = "\n\n" in gap or _SENTENCE_GAP.match(gap) or text[spans[index][1] - 1] in ".?!"
        if index >= floor and ends_sentence:
            return index
        if whitespace is None:
            whitespace = index
    return whitespace if whitespace is not None else last
