"""A configured stage whose optional dependency group is not installed fails on use, naming the extra.

Each case runs in a child interpreter where the group's package is made unimportable (``sys.modules[name] =
None``, Python's own way to hide a module), as on a service that installed ``ragpipe`` without that extra.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    for name in sys.argv[2].split(","):
        sys.modules[name] = None
    from pathlib import Path
    from ragpipe import Pipeline
    from ragpipe.config.settings import RuntimeSettings
    from ragpipe.errors import MissingDependencyError

    root = Path(sys.argv[1])
    settings = RuntimeSettings(data_dir=root / "data")
    case = sys.argv[3]
    try:
        if case == "torch":
            config = {"name": "x", "sources": [{"path": str(root / "docs")}],
                      "embedding": {"type": "sentence-transformers"}}
            with Pipeline.from_config(config, settings=settings) as rag:
                rag.ingest(progress=False)
        elif case == "docs":
            config = {"name": "x", "sources": [{"path": str(root / "docs")}], "embedding": {"type": "hashing"}}
            with Pipeline.from_config(config, settings=settings) as rag:
                report = rag.ingest(progress=False)
            print("|".join(f.reason for f in report.failures))
            print("indexed", report.documents_indexed)
        elif case == "eval":
            from ragpipe.evaluation.datasets import EvalQuestion, EvalSet
            from ragpipe.evaluation.runner import evaluate
            config = {"name": "x", "sources": [{"path": str(root / "docs")}], "embedding": {"type": "hashing"}}
            with Pipeline.from_config(config, settings=settings) as rag:
                rag.ingest(progress=False)
                questions = [EvalQuestion("a", "notes", "a note", {"a.txt": 1})]
                evaluate(rag, EvalSet("s", questions, None), ["ndcg@10"], answer_metrics=True, progress=False)
    except MissingDependencyError as exc:
        print("MISSING", exc)
    """
)


def run_without(tmp_path: Path, modules: str, case: str) -> str:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A plain text note about backups.\n", encoding="utf-8")
    (docs / "b.html").write_text("<html><body><h1>Page</h1><p>An HTML page.</p></body></html>", encoding="utf-8")
    script = tmp_path / "script.py"
    script.write_text(SCRIPT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(tmp_path), modules, case], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_the_torch_embedder_names_the_torch_extra(tmp_path: Path) -> None:
    out = run_without(tmp_path, "sentence_transformers", "torch")
    assert out.startswith("MISSING embedding.type 'sentence-transformers' needs the Python package")
    assert "pip install 'ragpipe[torch]'" in out


def test_html_files_without_the_docs_extra_fail_naming_it_and_the_rest_is_indexed(tmp_path: Path) -> None:
    out = run_without(tmp_path, "unstructured", "docs")
    assert "pip install 'ragpipe[docs]'" in out and "indexed 1" in out


def test_answer_metrics_without_the_eval_extra_name_it(tmp_path: Path) -> None:
    out = run_without(tmp_path, "ragas,rouge_score,sacrebleu", "eval")
    assert out.startswith("MISSING answer metrics") and "pip install 'ragpipe[eval]'" in out
