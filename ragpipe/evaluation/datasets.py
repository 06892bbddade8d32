"""Eval sets: a BEIR folder (:mod:`ragpipe.evaluation.beir`) or a ragpipe QA ``.jsonl`` file
(:mod:`ragpipe.evaluation.qa`), loaded into :class:`~ragpipe.evaluation.questions.EvalSet`."""

from __future__ import annotations

from pathlib import Path

from ragpipe.config.settings import load_settings
from ragpipe.errors import ConfigError
from ragpipe.evaluation.beir import load_beir
from ragpipe.evaluation.qa import load_qa
from ragpipe.evaluation.questions import EvalQuestion, EvalSet, LineError

__all__ = ["EvalQuestion", "EvalSet", "LineError", "load_dataset"]


def load_dataset(
    path: Path | str, split: str = "test", corpus: Path | str | None = None, work_dir: Path | str | None = None
) -> EvalSet:
    """Load a BEIR folder (holding ``corpus.jsonl``) or a ragpipe QA ``.jsonl`` file.

    BEIR: ``split`` picks ``qrels/<split>.tsv``; the corpus is written once under ``work_dir`` (default:
    ``RuntimeSettings().data_dir``) as one ``<_id>.txt`` per document. QA: ``corpus`` is the folder to
    ingest (ids are paths relative to it); without it, ids and spans are checked later, against the index.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / "corpus.jsonl").is_file():
            raise ConfigError(
                f"dataset folder {str(path)!r} has no corpus.jsonl; expected a BEIR folder "
                "(corpus.jsonl, queries.jsonl, qrels/<split>.tsv) or a QA .jsonl file"
            )
        if work_dir is None:
            work_dir = load_settings().data_dir
        return load_beir(path, split, Path(work_dir))
    if not path.is_file():
        raise ConfigError(f"dataset {str(path)!r} not found: expected a BEIR folder or a QA .jsonl file")
    if path.suffix.lower() != ".jsonl":
        raise ConfigError(f"dataset {str(path)!r}: a QA dataset must be a .jsonl file (or give a BEIR folder)")
    corpus_dir = Path(corpus).resolve() if corpus is not None else None
    if corpus_dir is not None and not corpus_dir.is_dir():
        raise ConfigError(f"corpus {str(corpus)!r} is not a folder (it must hold the documents to ingest)")
    return load_qa(path, corpus_dir, split)
