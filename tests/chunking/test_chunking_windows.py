"""The 'sentence' and 'token' chunkers on a real ~3-page Markdown runbook."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import pytest
from chunking_helpers import RUNBOOK, assert_exact_slices, uncovered
from pydantic import ValidationError

from ragpipe.chunking.base import SEGMENT_CHARS, segments
from ragpipe.chunking.sentence import SentenceChunker, SentenceChunkerConfig
from ragpipe.chunking.token import TokenChunker, TokenChunkerConfig
from ragpipe.types import Document

KINDS = {"sentence": (SentenceChunker, SentenceChunkerConfig), "token": (TokenChunker, TokenChunkerConfig)}


def tokens(text: str) -> int:
    from llama_index.core.utils import get_tokenizer

    return len(get_tokenizer()(text))


def make(kind: str, **fields: int) -> SentenceChunker | TokenChunker:
    chunker_cls, config_cls = KINDS[kind]
    return chunker_cls(config_cls(**fields))


@pytest.mark.parametrize("kind", KINDS)
def test_defaults(kind: str) -> None:
    config = KINDS[kind][1]()
    assert (config.type, config.chunk_size, config.chunk_overlap) == (kind, 200, 20)
    assert config.longest_chunk_tokens() == 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("size", "overlap"), [(200, 20), (64, 16), (40, 0)])
def test_slices_order_coverage_and_size(kind: str, size: int, overlap: int, runbook: Document) -> None:
    chunks = make(kind, chunk_size=size, chunk_overlap=overlap).chunk(runbook)
    assert len(chunks) >= max(3, tokens(RUNBOOK) // size)
    assert_exact_slices(runbook, chunks)
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert all(a.start < b.start and a.end < b.end for a, b in itertools.pairwise(chunks))
    assert uncovered(runbook, chunks) == ""
    assert max(tokens(c.text) for c in chunks) <= size + 2
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize("kind", KINDS)
def test_overlap_only_when_configured(kind: str, runbook: Document) -> None:
    def overlapping_pairs(overlap: int) -> int:
        chunks = make(kind, chunk_size=64, chunk_overlap=overlap).chunk(runbook)
        return sum(b.start < a.end for a, b in itertools.pairwise(chunks))

    assert overlapping_pairs(16) >= 3
    assert overlapping_pairs(0) == 0


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_metadata_propagated(kind: str, runbook: Document) -> None:
    first = make(kind).chunk(runbook)
    again = make(kind).chunk(runbook)
    assert first == again
    assert len({c.id for c in first}) == len(first)
    assert all(c.metadata["team"] == "platform" and c.metadata["year"] == 2024 for c in first)
    assert all(c.parent_id is None for c in first)


@pytest.mark.parametrize("kind", KINDS)
def test_repeated_text_maps_to_increasing_offsets(kind: str) -> None:
    doc = Document("twice.md", RUNBOOK + "\n" + RUNBOOK)
    chunks = make(kind, chunk_size=100, chunk_overlap=10).chunk(doc)
    assert_exact_slices(doc, chunks)
    assert all(a.start < b.start for a, b in itertools.pairwise(chunks))
    assert chunks[-1].end == len(doc.text.rstrip())
    assert uncovered(doc, chunks) == ""


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("text", ["", "   \n\t \n"])
def test_blank_document_gives_no_chunks(kind: str, text: str) -> None:
    assert make(kind).chunk(Document("blank.txt", text)) == []


@pytest.mark.parametrize("kind", KINDS)
def test_short_document_is_one_chunk_without_surrounding_whitespace(kind: str) -> None:
    doc = Document("short.txt", "\n\n  One short line, nothing more.  \n")
    (chunk,) = make(kind).chunk(doc)
    assert (chunk.start, chunk.end, chunk.text) == (4, 33, "One short line, nothing more.")


@pytest.mark.parametrize("kind", KINDS)
def test_concurrent_first_use_is_safe(kind: str, runbook: Document) -> None:
    chunker = make(kind, chunk_size=64, chunk_overlap=8)
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: chunker.chunk(runbook), range(6)))
    assert all(r == results[0] for r in results) and results[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"chunk_size": 100, "chunk_overlap": 100}, "chunk_overlap"),
        ({"chunk_size": 4}, "chunk_size"),
        ({"chunk_overlap": -1}, "chunk_overlap"),
        ({"chunk_sizes": [100]}, "chunk_sizes"),
    ],
)
def test_invalid_config_is_rejected_naming_the_field(kind: str, fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        KINDS[kind][1](**fields)


@pytest.mark.parametrize(
    ("text", "cuts"),
    [
        ("a" * 40 + "\n\n" + "b" * 30 + "\n" + "c" * 40, [42, 73]),  # paragraph break first, then a line break
        ("word " * 30, [50, 100]),  # whitespace when there is no line break
        ("x" * 130, [50, 100]),  # a hard cut when there is nothing better
        ("short", []),
    ],
)
def test_segments_cover_the_text_and_cut_at_the_best_break(text: str, cuts: list[int]) -> None:
    spans = segments(text, limit=50)
    assert [end for _, end in spans[:-1]] == cuts
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(end - start <= 50 and start < end for start, end in spans)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


@pytest.mark.parametrize("kind", ["sentence", "token"])
def test_a_document_longer_than_a_segment_is_chunked_segment_by_segment(kind: str, runbook: Document) -> None:
    paragraphs = "\n\n".join(f"Paragraph {i}: {runbook.text}" for i in range(60))
    long_doc = Document(id="long.md", text=paragraphs, metadata={})
    assert len(long_doc.text) > SEGMENT_CHARS
    chunks = make(kind, chunk_size=64, chunk_overlap=0).chunk(long_doc)
    assert_exact_slices(long_doc, chunks)
    assert uncovered(long_doc, chunks) == ""
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    cut = segments(long_doc.text)[0][1]
    assert not any(c.start < cut < c.end for c in chunks)  # no chunk spans a segment cut
