"""The shared tokenizer: word splitting, stopwords, stemming, validation, stable term ids."""

from __future__ import annotations

import subprocess
import sys
from typing import Literal

import pytest
from pydantic import ValidationError

from ragpipe.lexical.qdrant_sparse import term_id
from ragpipe.lexical.tokenize import Tokenizer, TokenizerOptions


class _Options(TokenizerOptions):
    type: Literal["test"] = "test"


def test_lowercases_and_splits_on_punctuation_keeping_alphanumeric_tokens() -> None:
    tokens = Tokenizer(stemmer=None, stopwords=None).tokenize("P95 of API-v2, COVID-19; snake_case 3.14 ﬁle")
    assert tokens == ["p95", "of", "api", "v2", "covid", "19", "snake", "case", "3", "14", "file"]


def test_english_stemming_conflates_inflections() -> None:
    tok = Tokenizer(stemmer="english", stopwords=None)
    assert tok.tokenize("running runs run") == ["run", "run", "run"]
    assert tok.tokenize("alerts alerting") == ["alert", "alert"]
    assert Tokenizer(stemmer=None, stopwords=None).tokenize("running runs") == ["running", "runs"]


def test_stopwords_are_removed_before_stemming() -> None:
    assert Tokenizer(stemmer="english", stopwords="en").tokenize("The index of the documents") == ["index", "document"]
    assert Tokenizer(stemmer=None, stopwords=None).tokenize("The index of") == ["the", "index", "of"]
    # en_plus is the longer NLTK list: it also drops "about" and "our", which Lucene's 33 words keep
    assert Tokenizer(stopwords="en").tokenize("about our keys") == ["about", "our", "key"]
    assert Tokenizer(stopwords="en_plus").tokenize("about our keys") == ["key"]


def test_tokenize_many_equals_tokenize_per_text_and_is_deterministic() -> None:
    texts = ["Deploying services", "", "the the the", "Ranking latency p95"]
    tok = Tokenizer()
    many = tok.tokenize_many(texts)
    assert many == [tok.tokenize(t) for t in texts]
    assert many == [["deploy", "servic"], [], [], ["rank", "latenc", "p95"]]
    assert Tokenizer().tokenize_many(texts) == many


def test_options_reject_unknown_stemmer_and_stopwords_listing_valid_values() -> None:
    with pytest.raises(ValidationError, match=r"unknown stemmer 'klingon'.*english"):
        _Options(stemmer="klingon")
    with pytest.raises(ValidationError, match=r"unknown stopword list 'xx'.*en_plus"):
        _Options(stopwords="xx")
    opts = _Options(stemmer=None, stopwords=None)
    assert Tokenizer.from_options(opts).tokenize("The Runs") == ["the", "runs"]


def test_term_ids_are_stable_unsigned_32_bit_hashes() -> None:
    # fixed values: a salted hash() would differ between processes
    assert term_id("latenc") == 2868441105
    assert term_id("p95") == 1649739665
    assert all(0 <= term_id(t) < 2**32 for t in ["", "a", "ünïcode", "x" * 1000])


def test_importing_lexical_modules_loads_no_heavy_library() -> None:
    code = (
        "import sys, ragpipe.lexical.tokenize, ragpipe.lexical.bm25s_index, ragpipe.lexical.rank_bm25_index, "
        "ragpipe.lexical.qdrant_sparse, ragpipe.lexical.none, ragpipe.lexical.in_process\n"
        "heavy = [m for m in ('torch', 'bm25s', 'rank_bm25', 'qdrant_edge', 'Stemmer', 'numba') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
