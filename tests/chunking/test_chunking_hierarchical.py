"""The 'hierarchical' chunker: nested levels with parent links and exact offsets."""

from __future__ import annotations

import pytest
from chunking_helpers import RUNBOOK, assert_exact_slices, uncovered
from llama_index.core.utils import get_tokenizer
from pydantic import ValidationError

from ragpipe.chunking.base import span_id
from ragpipe.chunking.hierarchical import HierarchicalChunker, HierarchicalChunkerConfig
from ragpipe.types import Document

LONG = Document("runbook-x3.md", "\n\n".join([RUNBOOK] * 3), {"team": "platform"})


def tokens(text: str) -> int:
    return len(get_tokenizer()(text))


def chunk(document: Document, **fields) -> list:
    return HierarchicalChunker(HierarchicalChunkerConfig(**fields)).chunk(document)


def test_defaults() -> None:
    config = HierarchicalChunkerConfig()
    assert (config.chunk_sizes, config.chunk_overlap, config.index_levels) == ([800, 200], 20, "leaves")
    assert config.longest_chunk_tokens() == 200  # only the leaves are embedded
    assert HierarchicalChunkerConfig(index_levels="all").longest_chunk_tokens() == 800


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"chunk_sizes": [200, 800]}, "strictly decreasing"),
        ({"chunk_sizes": [200, 200]}, "strictly decreasing"),
        ({"chunk_sizes": []}, "chunk_sizes"),
        ({"chunk_sizes": [400, 30], "chunk_overlap": 30}, "chunk_overlap"),
        ({"index_levels": "roots"}, "index_levels"),
    ],
)
def test_invalid_config(fields: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        HierarchicalChunkerConfig(**fields)


def test_all_levels_link_children_to_enclosing_parents() -> None:
    chunks = chunk(LONG, chunk_sizes=[400, 100, 40], index_levels="all")
    assert_exact_slices(LONG, chunks)
    by_id = {c.id: c for c in chunks}
    assert len(by_id) == len(chunks)
    levels = [c.metadata["chunk_level"] for c in chunks]
    assert levels == sorted(levels) and set(levels) == {0, 1, 2}
    has_children = {c.parent_id for c in chunks}
    for size, level in zip([400, 100, 40], range(3), strict=True):
        same_level = [c for c in chunks if c.metadata["chunk_level"] == level]
        assert max(tokens(c.text) for c in same_level) <= size + 2
        assert [c.start for c in same_level] == sorted(c.start for c in same_level)
        # each level covers the document, with childless chunks of upper levels standing in for their
        # (identical, hence merged) descendants
        stand_ins = [c for c in chunks if c.metadata["chunk_level"] < level and c.id not in has_children]
        assert uncovered(LONG, same_level + stand_ins) == ""
    for c in chunks:
        if c.metadata["chunk_level"] == 0:
            assert c.parent_id is None
            continue
        parent = by_id[c.parent_id]
        assert parent.metadata["chunk_level"] < c.metadata["chunk_level"]
        assert parent.start <= c.start and c.end <= parent.end
        assert parent.id == span_id(LONG, parent.start, parent.end)
    assert all(c.metadata["team"] == "platform" for c in chunks)
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))


def test_leaves_carry_their_parent_span() -> None:
    every = chunk(LONG, chunk_sizes=[400, 100], index_levels="all")
    leaves = chunk(LONG, chunk_sizes=[400, 100])
    assert_exact_slices(LONG, leaves)
    parents = {c.id: c for c in every if c.metadata["chunk_level"] == 0}
    assert {c.id for c in leaves} == {c.id for c in every if c.metadata["chunk_level"] == 1}
    assert all(c.id not in parents for c in leaves)
    for leaf in leaves:
        parent = parents[leaf.parent_id]
        assert (leaf.metadata["parent_start"], leaf.metadata["parent_end"]) == (parent.start, parent.end)
        assert parent.start <= leaf.start < leaf.end <= parent.end
    assert [c.start for c in leaves] == sorted(c.start for c in leaves)
    assert uncovered(LONG, leaves) == ""
    assert chunk(LONG, chunk_sizes=[400, 100]) == leaves  # deterministic


def test_default_sizes_on_the_runbook(runbook: Document) -> None:
    leaves = chunk(runbook)
    assert_exact_slices(runbook, leaves)
    assert len(leaves) >= 4 and max(tokens(c.text) for c in leaves) <= 202
    assert uncovered(runbook, leaves) == ""


def test_short_document_is_a_single_top_level_chunk() -> None:
    doc = Document("note.md", "  A single short note.  ")
    (leaf,) = chunk(doc)
    assert (leaf.text, leaf.parent_id, leaf.metadata["chunk_level"]) == ("A single short note.", None, 0)
    assert (leaf.metadata["parent_start"], leaf.metadata["parent_end"]) == (leaf.start, leaf.end)
    assert chunk(doc, index_levels="all") == [
        type(leaf)(leaf.id, leaf.doc_id, leaf.text, leaf.start, leaf.end, {"chunk_index": 0, "chunk_level": 0})
    ]


@pytest.mark.parametrize("levels", ["leaves", "all"])
def test_blank_document_gives_no_chunks(levels: str) -> None:
    assert chunk(Document("blank.md", "\n \n"), index_levels=levels) == []
