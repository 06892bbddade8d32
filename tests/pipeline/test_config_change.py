"""A chunker change builds a second index (own fingerprint folder) reusing cached embeddings; until it is
complete, queries under the new config are served by the previous index, then switch to the new one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragpipe import Pipeline
from ragpipe.config.settings import RuntimeSettings
from ragpipe.errors import IndexNotFoundError

SHORT = {f"note-{i}.txt": f"Note {i}: the courier depot {i} opens at {6 + i} in the morning." for i in range(6)}
LONG = {
    f"manual-{i}.txt": " ".join(
        f"Section {j} of manual {i} explains how the conveyor belt {j} is inspected and greased." for j in range(30)
    )
    for i in range(3)
}


def config_for(corpus: Path, chunk_size: int) -> dict[str, object]:
    return {
        "name": "depot",
        "sources": [{"path": str(corpus)}],
        "chunking": {"type": "sentence", "chunk_size": chunk_size, "chunk_overlap": 0},
    }


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    for name, text in {**SHORT, **LONG}.items():
        (root / name).write_text(text + "\n", encoding="utf-8")
    return root


def test_new_chunker_gets_its_own_index_and_queries_switch_when_it_is_complete(
    corpus: Path, settings: RuntimeSettings
) -> None:
    question = "when does courier depot 3 open"
    with Pipeline.from_config(config_for(corpus, 200), settings=settings) as old:
        first = old.ingest(progress=False)
        old_answer = old.query(question, top_k=3, answer=False)
        old_fingerprint = old.config.fingerprint()
    with Pipeline.from_config(config_for(corpus, 40), settings=settings) as new:
        new_fingerprint = new.config.fingerprint()
        assert new_fingerprint != old_fingerprint and new.index_dir.parent == settings.data_dir / "depot"
        served = new.query(question, top_k=3, answer=False)
        assert served.index.startswith(f"{old_fingerprint}/")
        assert [c.chunk.id for c in served.chunks] == [c.chunk.id for c in old_answer.chunks]
        with new.index() as own:  # its own index: still empty
            assert own.generation is None and own.facts.empty
        with Pipeline.from_config(config_for(corpus, 40), settings=settings) as strict:
            strict.serve_previous_index = False
            with pytest.raises(IndexNotFoundError, match="is empty"):
                strict.query(question)

        second = new.ingest(progress=False)
        switched = new.query(question, top_k=3, answer=False)
        assert switched.index.startswith(f"{new_fingerprint}/")
        assert switched.chunks[0].chunk.doc_id == "note-3.txt"
        # short notes are one identical chunk under both chunkers: their embeddings come from the cache
        assert second.chunks_indexed > first.chunks_indexed
        assert 0 < second.chunks_embedded <= second.chunks_indexed - len(SHORT)
        with new.index() as own:
            assert own.store is not None and own.catalog is not None
            assert own.store.count() == own.catalog.count_chunks() == own.facts.chunks == second.chunks_indexed

    with Pipeline.from_config(config_for(corpus, 200), settings=settings) as old_again:
        with old_again.index() as state:
            # the first index is untouched: no vector of the second configuration was written into it
            assert state.store is not None and state.catalog is not None
            assert state.store.count() == state.catalog.count_chunks() == first.chunks_indexed
        assert old_again.query(question, top_k=3, answer=False).index.startswith(f"{old_fingerprint}/")
