"""The in-process engines (bm25s, rank-bm25) on a tiny real corpus: ranking, filters, their files in a generation."""

from __future__ import annotations

import json
import math
import shutil
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lexical_corpus import make_chunks, make_location

from ragpipe.errors import IndexDamagedError
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
        cls(cfg(), make_location(index_dir)).rebuild(iter(make_chunks()))
        dirs[name] = index_dir
    return dirs


def open_index(name: str, index_dir: Path, **fields: object) -> LexicalIndex:
    """A reader of the published generation ``index_dir``."""
    cls, cfg = ENGINES[name]
    return cls(cfg(**fields), make_location(index_dir, writable=False))


def writer(name: str, index_dir: Path) -> LexicalIndex:
    """The index of a work generation ``index_dir``."""
    cls, cfg = ENGINES[name]
    return cls(cfg(), make_location(index_dir))


def distinct_tokens(chunks: list[Chunk]) -> int:
    return len({t for tokens in Tokenizer().tokenize_many([c.text for c in chunks]) for t in tokens})


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
def test_a_rebuild_writes_the_files_directly_into_the_generation(name: str, tmp_path: Path) -> None:
    index = writer(name, tmp_path)
    index.rebuild(make_chunks()[:10])
    folder = tmp_path / ENGINES[name][0].folder
    assert all(p.parent == folder for p in tmp_path.rglob("*") if p.is_file())
    assert {"chunks.jsonl", "meta.json", *ENGINES[name][0].files} == {p.name for p in folder.iterdir()}
    assert not (folder / "CURRENT").exists() and [p.name for p in tmp_path.iterdir()] == [folder.name]
    assert index.search("kubernetes", 3) == []  # not among the first 10 chunks
    index.rebuild(make_chunks())  # a rebuild replaces the files and what this object serves
    assert index.search("kubernetes", 3)[0].chunk.id == "misc/kubernetes.md#0"
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]  # no staging folder left behind
    index.rebuild([])
    assert index.search("latency", 3) == []  # empty index: no results, no error
    reader = open_index(name, tmp_path)
    reader.open()
    assert reader.search("latency", 3) == []


@pytest.mark.parametrize("name", ENGINES)
def test_a_reader_loads_the_files_once(name: str, tmp_path: Path) -> None:
    writer(name, tmp_path).rebuild(make_chunks())
    reader = open_index(name, tmp_path)
    reader.open()
    shutil.rmtree(tmp_path / ENGINES[name][0].folder)  # never read again once loaded
    assert reader.search("kubernetes", 3)[0].chunk.id == "misc/kubernetes.md#0"
    with pytest.raises(IndexDamagedError):
        open_index(name, tmp_path).search("kubernetes", 3)  # a new reader loads on its first search


@pytest.mark.parametrize("name", ENGINES)
def test_a_missing_index_is_damaged_and_names_its_file(name: str, tmp_path: Path) -> None:
    reader = open_index(name, tmp_path)
    with pytest.raises(IndexDamagedError, match="run `ragpipe ingest`") as err:
        reader.open()
    assert err.value.path == str(tmp_path / ENGINES[name][0].folder / "meta.json")
    assert "missing" in err.value.reason


def _empty_engine_file(folder: Path, name: str) -> str:
    target = folder / ENGINES[name][0].files[-1]
    target.write_bytes(b"")
    return str(target)


def _garbage_meta(folder: Path, name: str) -> str:
    (folder / "meta.json").write_text("{not json", encoding="utf-8")
    return str(folder)


def _rows_mismatch(folder: Path, name: str) -> str:
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "rows": 19}))
    return str(folder / "chunks.jsonl")


def _vocabulary_mismatch(folder: Path, name: str) -> str:
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "vocabulary": meta["vocabulary"] + 1}))
    return str(folder / ENGINES[name][0].files[0])


def _missing_chunks(folder: Path, name: str) -> str:
    (folder / "chunks.jsonl").unlink()
    return str(folder / "chunks.jsonl")


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (_empty_engine_file, "file is empty"),
        (_garbage_meta, "cannot read"),
        (_rows_mismatch, "holds 20 chunks, but the index was built with 19"),
        (_vocabulary_mismatch, "terms, but the index was built with"),
        (_missing_chunks, "missing"),
    ],
)
def test_a_damaged_file_is_reported_on_open(name: str, damage: Any, reason: str, tmp_path: Path) -> None:
    writer(name, tmp_path).rebuild(make_chunks())
    path = damage(tmp_path / ENGINES[name][0].folder, name)
    with pytest.raises(IndexDamagedError) as err:
        open_index(name, tmp_path).open()
    assert err.value.path == path
    assert reason in err.value.reason


@pytest.mark.parametrize("name", ENGINES)
def test_an_index_built_with_other_settings_is_refused(name: str, built: dict[str, Path]) -> None:
    other = open_index(name, built[name], k1=2.0)
    with pytest.raises(IndexDamagedError, match=r"built with .*k1.: 1\.2.* but the config says .*k1.: 2\.0") as err:
        other.search("latency", 3)
    assert err.value.path == str(built[name] / ENGINES[name][0].folder / "meta.json")


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


@pytest.mark.parametrize("name", ENGINES)
def test_persisted_rows_and_meta_are_plain_json(name: str, built: dict[str, Path]) -> None:
    folder = built[name] / ENGINES[name][0].folder
    rows = [json.loads(line) for line in (folder / "chunks.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == [c.id for c in make_chunks()]
    assert rows[0]["metadata"] == {"team": "platform", "year": 2021, "tags": ["ops", "platform"]}
    meta = json.loads((folder / "meta.json").read_text())
    assert set(meta) == {"settings", "rows", "vocabulary"}
    assert meta["settings"] == ENGINES[name][1]().model_dump(mode="json") and meta["rows"] == 20
    # the corpus has 105 distinct tokens; bm25s adds one entry of its own, the empty token
    assert distinct_tokens(make_chunks()) == 105
    assert meta["vocabulary"] == (106 if name == "bm25s" else 105)


@pytest.mark.parametrize("name", ENGINES)
def test_equal_scores_rank_by_chunk_id_whatever_the_indexing_order(name: str, tmp_path: Path) -> None:
    """An index updated over time stores its chunks in another order than a fresh build of the same corpus:
    both must give the same ranking, including which of several equal scores survive the top-k cut."""
    text = "Rollback drill for the billing API."
    twins = [Chunk(f"twin-{i:02d}", f"twin-{i:02d}.txt", text, 0, len(text), {}) for i in range(8)]
    corpus = make_chunks() + twins
    rankings = []
    for order, chunks in {"forward": corpus, "reversed": corpus[::-1]}.items():
        index = writer(name, tmp_path / order)
        index.rebuild(iter(chunks))
        rankings.append([(h.chunk.id, h.score) for h in index.search("billing rollback drill", 5)])
    assert rankings[0] == rankings[1]
    assert [chunk_id for chunk_id, _ in rankings[0]] == [f"twin-{i:02d}" for i in range(5)]
