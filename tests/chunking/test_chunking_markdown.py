"""The 'markdown' chunker: one chunk per heading section, with the heading path as metadata."""

from __future__ import annotations

import itertools

import pytest
from chunking_helpers import assert_exact_slices, uncovered
from llama_index.core.utils import get_tokenizer
from pydantic import ValidationError

from ragpipe.chunking.markdown import MarkdownChunker, MarkdownChunkerConfig, heading_of
from ragpipe.types import Document


def sections_of(chunks: list) -> list[str]:
    return [section for section, _ in itertools.groupby(c.metadata["section"] for c in chunks)]


def test_defaults() -> None:
    config = MarkdownChunkerConfig()
    assert (config.type, config.chunk_size, config.chunk_overlap) == ("markdown", 256, 20)
    assert config.longest_chunk_tokens() == 256  # what the bundled model reads
    with pytest.raises(ValidationError, match="chunk_overlap"):
        MarkdownChunkerConfig(chunk_size=50, chunk_overlap=60)


def test_one_chunk_per_section_with_heading_paths(runbook: Document) -> None:
    chunks = MarkdownChunker(MarkdownChunkerConfig()).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert sections_of(chunks) == [
        "",
        "Deploys",
        "Deploys > Rollback",
        "Deploys > Canary releases",
        "Incidents",
        "Incidents > Roles",
        "Incidents > Postmortems",
        "Data > Backups",
        "Data > Retention",
        "Data > Retention > Exceptions",
    ]
    assert len(chunks) == 10  # every section fits in the default 256 tokens
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 256
    by_section = {c.metadata["section"]: c for c in chunks}
    assert by_section["Deploys > Rollback"].text.startswith("## Rollback\n")
    assert "- keep the faulty release pinned" in by_section["Deploys > Rollback"].text
    assert by_section["Incidents > Postmortems"].text.endswith("(🚒) are allowed but discouraged.")
    # '# Data' has no body: it is joined to its first subsection rather than becoming a chunk of its own
    assert by_section["Data > Backups"].text.startswith("# Data\n\n## Backups\n")
    # a '#' line inside a fenced code block is not a heading
    assert "# this line is a comment" in by_section["Data > Backups"].text
    assert uncovered(runbook, chunks) == ""
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    assert all(c.metadata["team"] == "platform" for c in chunks)
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(10))


def test_long_sections_are_split_within_the_section(runbook: Document) -> None:
    chunks = MarkdownChunker(MarkdownChunkerConfig(chunk_size=48, chunk_overlap=12)).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert len(chunks) > 20
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 48 + 2
    assert uncovered(runbook, chunks) == ""
    assert "Deploys > Rollback" in sections_of(chunks)
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))  # overlap inside long sections
    rollback = [c for c in chunks if c.metadata["section"] == "Deploys > Rollback"]
    section_start = runbook.text.index("## Rollback")
    section_end = runbook.text.index("## Canary releases")
    assert len(rollback) > 1 and all(section_start <= c.start and c.end < section_end for c in rollback)
    assert MarkdownChunker(MarkdownChunkerConfig(chunk_size=48, chunk_overlap=12)).chunk(runbook) == chunks


def test_rebuilt_heading_whitespace_and_crlf_still_map_to_exact_slices() -> None:
    text = "#\tSetup\r\n\r\nInstall the tool.\r\n\r\n##  Config ##\r\nEdit the file.\r\n# Empty\r\n# Last\r\nBye."
    doc = Document("win.md", text)
    chunks = MarkdownChunker(MarkdownChunkerConfig()).chunk(doc)
    assert_exact_slices(doc, chunks)
    assert [c.metadata["section"] for c in chunks] == ["Setup", "Setup > Config", "Empty", "Last"]
    assert chunks[0].text == "#\tSetup\r\n\r\nInstall the tool."
    assert chunks[2].text == "# Empty"  # a bare heading followed by a sibling stays a chunk of its own
    assert uncovered(doc, chunks) == ""


def test_text_without_headings_is_one_section() -> None:
    doc = Document("plain.txt", "Just a paragraph.\n\nAnd another one.\n")
    (chunk,) = MarkdownChunker(MarkdownChunkerConfig()).chunk(doc)
    assert (chunk.start, chunk.end, chunk.metadata["section"]) == (0, len(doc.text) - 1, "")


@pytest.mark.parametrize("text", ["", " \n\n "])
def test_blank_document_gives_no_chunks(text: str) -> None:
    assert MarkdownChunker(MarkdownChunkerConfig()).chunk(Document("blank.md", text)) == []


@pytest.mark.parametrize(
    ("section", "expected"),
    [("## Rollback\nbody", (2, "Rollback")), ("# Title ##\r\nx", (1, "Title")), ("#hashtag", None), ("text", None)],
)
def test_heading_of(section: str, expected: tuple[int, str] | None) -> None:
    assert heading_of(section) == expected
