"""The in-process engines (bm25s, rank-bm25) on a tiny real corpus: ranking, filters, persistence."""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from pathlib import Path

import pytest
from lexical_corpus import make_chunks, make_context

from ragpipe.errors import IndexNotFoundError
from ragpipe.filters import matches, parse_filter
from ragpipe.lexical.bm25s_index import Bm25sConfig, Bm25sIndex
from ragpipe.lexical.rank_bm25_index import RankBm25Config, RankBm25Index
from ragpipe.lexical.tokenize import Tokenizer
from ragpipe.protocols import LexicalIndex
from ragpipe.types import Chunk

ENGINES = {
    "bm25s": (Bm25sIndex, Bm25sConfig),
    "rank-bm25": (RankBm25Index, RankBm25Config),
}
QUERIES = [
    "latency",
    "p95 latency alerts",
    "kubernetes nodes",
    "rotate keys",
    "failed run",
    "ranking documents latency",
    "v2 schema",
    "running pipeline",
]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One index folder per engine, built once from the corpus."""
    dirs = {}
    for name, (cls, cfg) in ENGINES.items():
        index_dir = tmp_path_factory.mktemp(name)
        cls(cfg(), make_context(index_dir)).rebuild(iter(make_chunks()))
        dirs[name] = index_dir
    return dirs


def open_index(name: str, index_dir: Path) -> LexicalIndex:
    cls, cfg = ENGINES[name]
    return cls(cfg(), make_context(index_dir))


@pytest.mark.parametrize("name", ENGINES)
def test_rare_term_ranks_its_chunk_first(name: str, built: dict[str, Path]) -> None:
    index = open_index(name, built[name])
    assert isinstance(index, LexicalIndex)
    assert index.encode(make_chunks()[:2]) is None
    assert index.search("kubernetes", 5)[0].chunk.id == "misc/kubernetes.md#0"
    hits = index.search("What is the p95 latency alert threshold?", 5)
    assert hits[0].chunk.id == "runbooks/latency.md#0"  # the only chunk with "p95"
    assert hits[0].score > hits[1].score > 0
    # stemming: "rotating" finds "Rotate" and "rotation"
    assert {h.chunk.id for h in index.search("rotating", 5)} == {"security/keys.md#0", "security/keys.md#1"}


@pytest.mark.parametrize("name", ENGINES)
def test_results_are_sorted_and_only_contain_query_terms(name: str, built: dict[str, Path]) -> None:
    index = open_index(name, built[name])
    tok = Tokenizer()
    for query in QUERIES:
        hits = index.search(query, 50)
        terms = set(tok.tokenize(query))
        assert hits, query
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        assert all(terms & set(tok.tokenize(h.chunk.text)) for h in hits), query
        # every chunk holding a query term is returned when top_k allows it
        expected = sum(1 for c in make_chunks() if terms & set(tok.tokenize(c.text)))
        assert len(hits) == expected, query
    assert index.search("zebra unicorn", 5) == []
    assert index.search("the of and", 5) == []  # only stopwords
    assert index.search("", 5) == []


def test_bm25s_and_rank_bm25_agree_on_the_top_3(built: dict[str, Path]) -> None:
    """Both use the same tokenizer but different BM25 variants (Lucene vs Okapi IDF, with or without
    the (k1+1) factor), so scores differ by a query-dependent factor; the rankings must agree."""
    fast, ref = open_index("bm25s", built["bm25s"]), open_index("rank-bm25", built["rank-bm25"])
    for query in QUERIES:
        a = [(h.chunk.id, round(h.score, 4)) for h in fast.search(query, 3)]
        b = [(h.chunk.id, round(h.score, 4)) for h in ref.search(query, 3)]
        assert [i for i, _ in a] == [i for i, _ in b], query
        assert all(x[1] < y[1] for x, y in zip(a, b, strict=True))  # Okapi carries (k1 + 1) > 1


def test_bm25s_scores_equal_a_hand_computed_lucene_bm25(built: dict[str, Path]) -> None:
    chunks = make_chunks()
    tok = Tokenizer()
    docs = [Counter(t) for t in tok.tokenize_many([c.text for c in chunks])]
    avg = sum(sum(d.values()) for d in docs) / len(docs)
    k1, b = 1.2, 0.75

    def lucene(query: str, doc: Counter[str]) -> float:
        score = 0.0
        for term in tok.tokenize(query):
            df = sum(1 for d in docs if term in d)
            idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
            tf = doc[term]
            score += idf * tf / (tf + k1 * (1 - b + b * sum(doc.values()) / avg))
        return score

    index = open_index("bm25s", built["bm25s"])
    for query in QUERIES:
        for hit in index.search(query, 50):
            row = next(i for i, c in enumerate(chunks) if c.id == hit.chunk.id)
            assert hit.score == pytest.approx(lucene(query, docs[row]), rel=1e-5)


@pytest.mark.parametrize("name", ENGINES)
def test_filters_apply_before_top_k(name: str, built: dict[str, Path]) -> None:
    index = open_index(name, built[name])
    unfiltered = index.search("latency", 10)
    assert unfiltered[0].chunk.metadata["team"] == "platform"
    flt = parse_filter({"team": "search"})
    hits = index.search("latency", 3, flt)
    # the best match is excluded, yet k matching chunks still come back, in unfiltered order
    assert len(hits) == 3
    assert all(h.chunk.metadata["team"] == "search" for h in hits)
    searched = [h.chunk.id for h in unfiltered if h.chunk.metadata["team"] == "search"]
    assert [h.chunk.id for h in hits] == searched[:3]
    # list-valued fields, ranges and boolean combinations follow ragpipe.filters.matches
    for spec in ({"tags": "ops"}, {"year": {"gte": 2023}}, {"or": [{"team": "data"}, {"year": {"lt": 2022}}]}):
        expr = parse_filter(spec)
        got = index.search("latency run keys schema", 50, expr)
        assert got and all(matches(expr, h.chunk.metadata) for h in got), spec
        everything = index.search("latency run keys schema", 50)
        assert [h.chunk.id for h in got] == [h.chunk.id for h in everything if matches(expr, h.chunk.metadata)]
    assert index.search("latency", 5, parse_filter({"team": "nobody"})) == []


@pytest.mark.parametrize("name", ENGINES)
def test_a_new_object_on_the_same_folder_returns_the_same_results(name: str, built: dict[str, Path]) -> None:
    first, second = open_index(name, built[name]), open_index(name, built[name])
    for query in QUERIES:
        a = [(h.chunk, h.score) for h in first.search(query, 5)]
        assert a == [(h.chunk, h.score) for h in second.search(query, 5)]
    chunk = next(h.chunk for h in second.search("v2", 1))
    assert chunk == next(c for c in make_chunks() if c.id == "data/schema.md#1")  # full chunk round-trips


@pytest.mark.parametrize("name", ENGINES)
def test_a_rebuild_is_seen_by_open_readers_and_old_generations_are_pruned(name: str, tmp_path: Path) -> None:
    chunks = make_chunks()
    writer, reader = open_index(name, tmp_path), open_index(name, tmp_path)
    with pytest.raises(IndexNotFoundError, match="run `ragpipe ingest`"):
        reader.search("latency", 3)
    writer.rebuild(chunks[:10])
    assert reader.search("kubernetes", 3) == []
    writer.rebuild(chunks)
    assert reader.search("kubernetes", 3)[0].chunk.id == "misc/kubernetes.md#0"
    writer.rebuild(chunks[:4])
    writer.rebuild([])
    assert reader.search("latency", 3) == []  # empty index: no results, no error
    root = next(p for p in tmp_path.iterdir() if p.is_dir())
    generations = [p for p in root.iterdir() if p.is_dir()]
    assert len(generations) == 2  # the live one and the previous one
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # no temp leftovers


@pytest.mark.parametrize("name", ENGINES)
def test_an_index_built_with_other_settings_is_refused(name: str, built: dict[str, Path]) -> None:
    cls, cfg = ENGINES[name]
    other = cls(cfg(k1=2.0), make_context(built[name]))
    with pytest.raises(IndexNotFoundError, match="was built with"):
        other.search("latency", 3)


@pytest.mark.parametrize("name", ENGINES)
def test_concurrent_first_searches_load_once_and_agree(name: str, built: dict[str, Path]) -> None:
    index = open_index(name, built[name])
    expected = [h.chunk.id for h in open_index(name, built[name]).search("latency ranking", 5)]
    results: list[list[str]] = []

    def run() -> None:  # every chunk has year >= 2020: the filter only exercises the mask path
        results.append([h.chunk.id for h in index.search("latency ranking", 5, parse_filter({"year": {"gte": 2020}}))])

    threads = [threading.Thread(target=run) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 8


def test_persisted_chunk_rows_are_plain_json(built: dict[str, Path]) -> None:
    root = built["bm25s"] / "bm25s"
    live = root / (root / "CURRENT").read_text()
    rows = [json.loads(line) for line in (live / "chunks.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [c.id for c in make_chunks()]
    assert rows[0]["metadata"] == {"team": "platform", "year": 2021, "tags": ["ops", "platform"]}


@pytest.mark.parametrize("name", ENGINES)
def test_equal_scores_rank_by_chunk_id_whatever_the_indexing_order(name: str, tmp_path: Path) -> None:
    """An index updated over time stores its chunks in another order than a fresh build of the same corpus:
    both must give the same ranking, including which of several equal scores survive the top-k cut."""
    text = "Rollback drill for the billing API."
    twins = [Chunk(f"twin-{i:02d}", f"twin-{i:02d}.txt", text, 0, len(text), {}) for i in range(8)]
    corpus = make_chunks() + twins
    rankings = []
    for order, chunks in {"forward": corpus, "reversed": corpus[::-1]}.items():
        cls, cfg = ENGINES[name]
        index = cls(cfg(), make_context(tmp_path / order))
        index.rebuild(iter(chunks))
        rankings.append([(h.chunk.id, h.score) for h in index.search("billing rollback drill", 5)])
    assert rankings[0] == rankings[1]
    assert [chunk_id for chunk_id, _ in rankings[0]] == [f"twin-{i:02d}" for i in range(5)]
