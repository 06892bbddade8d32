"""The unstructured offline fix: partitioning never touches the network.

The check runs in a fresh interpreter (the fix is process-wide and idempotent) with every socket
connection refused and recorded. Its control step shows the guard does catch unstructured's
spaCy model download when the fix is not applied.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

NETWORK_GUARD = """
import json, socket, sys, time
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args)[:200])
    raise OSError("network disabled by test")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""

SCRIPT = """
from pathlib import Path
from unstructured.nlp import tokenize
from unstructured.partition.html import partition_html
# Control: without the fix unstructured tries to download en_core_web_sm.
try:
    partition_html(text="<html><body><p>Parsing needs a spaCy model.</p></body></html>")
    error = None
except Exception as exc:
    error = f"{type(exc).__name__}: {exc}"
attempts_without_fix = list(attempts)
attempts.clear()
from ragpipe.ingest.parsers.docx import DocxParser, DocxParserConfig
from ragpipe.ingest.parsers.html import HtmlParser, HtmlParserConfig
started = time.perf_counter()
html = b"<html><body><h1>Offline</h1><p>Parsing works without any network access.</p></body></html>"
html_text, _ = HtmlParser(HtmlParserConfig()).parse(Path("a.html"), html)
docx_path = Path(sys.argv[1])
docx_text, _ = DocxParser(DocxParserConfig()).parse(docx_path, docx_path.read_bytes())
print(json.dumps({
    "attempts_without_fix": attempts_without_fix, "error_without_fix": error,
    "attempts": attempts, "seconds": time.perf_counter() - started, "html": html_text, "docx": docx_text,
    "pipes": tokenize._get_nlp().pipe_names, "loader": tokenize._load_spacy_model.__module__,
}))
"""


def run_guarded(script: str, *args: str) -> dict:
    env = {**os.environ, "DO_NOT_TRACK": "1", "UNSTRUCTURED_DISABLE_NOTICE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", NETWORK_GUARD + script, *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh interpreter importing unstructured and spaCy: ~4 s
def test_partition_is_offline_with_the_fix(tmp_path: Path, make_docx: Callable[[Path], Path]) -> None:
    docx_path = make_docx(tmp_path / "offline.docx")
    result = run_guarded(SCRIPT, str(docx_path))
    # The guard works: the unpatched library does try to download the spaCy model.
    assert result["attempts_without_fix"], "unstructured no longer downloads en_core_web_sm: revisit the fix"
    assert "spaCy" in result["error_without_fix"]
    # With the fix (applied after that failed first call) nothing touches the network.
    assert result["attempts"] == []
    assert result["html"] == "# Offline\n\nParsing works without any network access."
    assert result["docx"].startswith("# Overview\n\nThe budget was approved")
    assert result["pipes"] == ["sentencizer"]
    assert result["loader"] == "ragpipe.ingest.parsers._unstructured_offline"
    assert result["seconds"] < 30  # a download attempt with retries would take far longer


def test_ensure_offline_is_idempotent_and_thread_safe() -> None:
    from unstructured.nlp import tokenize

    from ragpipe.ingest.parsers._unstructured_offline import blank_english_pipeline, ensure_unstructured_offline

    errors: list[BaseException] = []

    def call() -> None:
        try:
            ensure_unstructured_offline()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ensure_unstructured_offline()
    assert errors == []
    assert tokenize._load_spacy_model is blank_english_pipeline
    assert tokenize._get_nlp().pipe_names == ["sentencizer"]
    assert tokenize.sent_tokenize("One sentence. Another one.") == ["One sentence.", "Another one."]


@pytest.mark.parametrize("module", ["ragpipe.ingest.loader", "ragpipe.ingest.sources", "ragpipe.ingest.parsers.html"])
def test_ingest_modules_import_light(module: str) -> None:
    heavy = "('torch', 'unstructured', 'spacy', 'pypdf', 'docx')"
    code = f"import sys, {module}; print(sorted(m for m in {heavy} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == "[]"
