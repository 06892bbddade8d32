"""The 'semantic' chunker with the real bundled MiniLM model behind the pipeline's Embedder."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pytest
from chunking_helpers import assert_exact_slices, make_context, uncovered
from llama_index.core.utils import get_tokenizer
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.chunking.semantic import SemanticChunker, SemanticChunkerConfig
from ragpipe.context import BuildContext
from ragpipe.embedding.sentence_transformers import SentenceTransformersConfig
from ragpipe.errors import ConfigError
from ragpipe.protocols import Embedder
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


class CountingEmbedder:
    """A real Embedder that delegates to another and counts the texts it embeds."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.documents_embedded = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def dimension(self) -> int:
        return self.inner.dimension

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_queries(texts)


@pytest.fixture(scope="module")
def semantic_context(tmp_path_factory: pytest.TempPathFactory) -> BuildContext:
    context = make_context(tmp_path_factory.mktemp("semantic"))
    context.embedder = CountingEmbedder(registry.build("embedder", SentenceTransformersConfig(), context))
    return context


def build(context: BuildContext, **fields: int) -> SemanticChunker:
    return registry.build("chunker", SemanticChunkerConfig(**fields), context)


def test_defaults_and_validation() -> None:
    config = SemanticChunkerConfig()
    assert (config.buffer_size, config.breakpoint_percentile_threshold, config.max_chunk_size) == (1, 95, 400)
    with pytest.raises(ValidationError, match="chunk_overlap"):
        SemanticChunkerConfig(max_chunk_size=30, chunk_overlap=30)
    with pytest.raises(ValidationError, match="breakpoint_percentile_threshold"):
        SemanticChunkerConfig(breakpoint_percentile_threshold=100)


def test_boundaries_fall_between_topics(semantic_context: BuildContext) -> None:
    embedded_before = semantic_context.embedder.documents_embedded
    chunks = build(semantic_context, buffer_size=0, breakpoint_percentile_threshold=80).chunk(TOPICS)
    assert semantic_context.embedder.documents_embedded >= embedded_before + 12  # one per sentence
    assert_exact_slices(TOPICS, chunks)
    assert [c.text.split(".")[0] for c in chunks] == [
        "Preheat the oven to 220 degrees before you bake the bread",
        "The telescope collects light from distant galaxies",
        "The tax return is due on the thirtieth of April",
    ]
    assert [c.metadata["semantic_group"] for c in chunks] == [0, 1, 2]
    assert all(c.metadata["source"] == "test" for c in chunks)
    assert uncovered(TOPICS, chunks) == ""


def test_runbook_with_default_settings(runbook: Document, semantic_context: BuildContext) -> None:
    chunks = build(semantic_context).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert len(chunks) >= 2
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))  # semantic groups do not overlap
    assert uncovered(runbook, chunks) == ""
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 402
    assert build(semantic_context).chunk(runbook) == chunks  # deterministic
    assert [c.metadata["chunk_index"] for c in chunks] == list(range(len(chunks)))


def test_long_semantic_chunks_are_split_to_max_chunk_size(runbook: Document, semantic_context: BuildContext) -> None:
    chunks = build(semantic_context, max_chunk_size=40, chunk_overlap=8).chunk(runbook)
    assert_exact_slices(runbook, chunks)
    assert max(len(get_tokenizer()(c.text)) for c in chunks) <= 42
    groups = [c.metadata["semantic_group"] for c in chunks]
    assert groups == sorted(groups) and len(set(groups)) < len(groups)  # some groups were split again
    assert uncovered(runbook, chunks) == ""


def test_blank_document_embeds_nothing(semantic_context: BuildContext) -> None:
    before = semantic_context.embedder.documents_embedded
    assert build(semantic_context).chunk(Document("blank.txt", " \n ")) == []
    assert semantic_context.embedder.documents_embedded == before


def test_missing_embedder_is_a_config_error_on_use(context: BuildContext) -> None:
    chunker = build(context)  # constructing stores the config only
    with pytest.raises(ConfigError, match="needs an embedder"):
        chunker.chunk(TOPICS)
