"""Offset alignment, chunk ids, chunk building (ragpipe.chunking.base) and the fixed tokenizer (.tokens)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ragpipe.chunking.base import (
    OffsetAligner,
    Span,
    align_pieces,
    build_chunks,
    make_chunk_id,
    span_id,
)
from ragpipe.chunking.tokens import cl100k_tokenizer
from ragpipe.errors import ParseError
from ragpipe.types import Document


def test_chunk_id_is_deterministic_hex_and_depends_on_every_part() -> None:
    base = make_chunk_id("a.md", 0, 5, "hello")
    # pinned: stored indexes, caches and eval sets name chunks by these ids, so they never change
    assert base == "b5906ea6630028ffbe44679e4b84584d"  # sha256("a.md\0" "0\0" "5\0" "hello")[:32]
    others = {
        make_chunk_id("b.md", 0, 5, "hello"),
        make_chunk_id("a.md", 1, 5, "hello"),
        make_chunk_id("a.md", 0, 6, "hello"),
        make_chunk_id("a.md", 0, 5, "hellO"),
    }
    assert base not in others and len(others) == 4


def test_aligner_finds_exact_pieces_in_order_with_overlap() -> None:
    text = "alpha beta. gamma delta. alpha beta. epsilon."
    aligner = OffsetAligner(text, "d")
    first = aligner.locate("alpha beta. gamma delta.")
    second = aligner.locate(" gamma delta. alpha beta. ")  # overlaps the first; surrounding spaces trimmed
    third = aligner.locate("alpha beta.")  # repeated text: the occurrence after the cursor, not the first one
    assert first == (0, 24)
    assert text[second[0] : second[1]] == "gamma delta. alpha beta."
    assert third == (25, 36)


def test_aligner_tolerates_whitespace_differences_and_returns_the_document_slice() -> None:
    text = "#\tDeploys\r\n\r\nShip   it\tcarefully.\n"
    start, end = OffsetAligner(text, "d").locate("# Deploys\n\nShip it carefully.")
    assert text[start:end] == "#\tDeploys\r\n\r\nShip   it\tcarefully."


def test_aligner_uses_a_correct_hint_and_ignores_a_wrong_one() -> None:
    text = "same words here. same words here. other."
    assert OffsetAligner(text, "d").locate("same words here.", (17, 33)) == (17, 33)
    # a hint pointing at other text is ignored and the piece is searched instead
    assert OffsetAligner(text, "d").locate("same words here.", (34, 40)) == (0, 16)
    assert OffsetAligner(text, "d").locate("same words here.", (None, None)) == (0, 16)


def test_aligner_rejects_text_that_is_not_in_the_document() -> None:
    with pytest.raises(ParseError, match="not found"):
        OffsetAligner("some document text", "doc.md").locate("invented words")
    with pytest.raises(ParseError, match="whitespace-only"):
        OffsetAligner("some document text", "doc.md").locate("  \n")


def test_align_pieces_skips_blank_pieces_and_applies_offset() -> None:
    assert align_pieces("ab cd", ["ab", "  ", "cd"], "d", offset=10) == [(10, 12), (13, 15)]


def test_tokenizer_is_llama_index_default_cl100k() -> None:
    from llama_index.core.utils import get_tokenizer

    text = "Zürich “Störung” 障害 🚒 <|endoftext|> don't stop 12345\n\n  x"
    assert cl100k_tokenizer()(text) == get_tokenizer()(text)
    assert len(cl100k_tokenizer()("hello world")) == 2


def test_build_chunks_merges_metadata_and_keeps_slices() -> None:
    doc = Document("d.md", "first part. second part.", {"team": "x", "chunk_index": "doc value"})
    chunks = build_chunks(doc, [Span(0, 11), Span(12, 24, {"section": "S"}, parent_id="p")])
    assert [c.text for c in chunks] == ["first part.", "second part."]
    assert chunks[0].metadata == {"team": "x", "chunk_index": 0}
    assert chunks[1].metadata == {"team": "x", "chunk_index": 1, "section": "S"}
    assert chunks[1].parent_id == "p" and chunks[0].parent_id is None
    assert chunks[1].id == span_id(doc, 12, 24) == make_chunk_id("d.md", 12, 24, "second part.")


def test_importing_chunkers_is_light() -> None:
    code = (
        "import sys, ragpipe.chunking.sentence, ragpipe.chunking.token, ragpipe.chunking.markdown, "
        "ragpipe.chunking.semantic, ragpipe.chunking.hierarchical\n"
        "heavy = [m for m in ('torch', 'llama_index', 'sentence_transformers', 'nltk') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_chunker_is_registered_and_selectable_from_a_pipeline_config() -> None:
    from pydantic import ValidationError

    from ragpipe import registry
    from ragpipe.config.models import pipeline_config_model

    assert registry.types_of("chunker") == ["hierarchical", "markdown", "semantic", "sentence", "token"]
    model = pipeline_config_model()
    config = model.model_validate({"chunking": {"type": "markdown", "chunk_size": 300}})
    assert (type(config.chunking).__name__, config.chunking.chunk_size, config.chunking.chunk_overlap) == (
        "MarkdownChunkerConfig",
        300,
        20,
    )
    assert model().chunking.type == "sentence"
    with pytest.raises(ValidationError, match="chunk_overlap"):
        model.model_validate({"chunking": {"type": "token", "chunk_size": 50, "chunk_overlap": 50}})
    with pytest.raises(ValidationError, match="index_levels"):
        model.model_validate({"chunking": {"type": "hierarchical", "index_levels": "some"}})
