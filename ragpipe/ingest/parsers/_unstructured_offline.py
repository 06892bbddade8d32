"""Make unstructured's partitioners work offline.

unstructured 0.27.x loads the spaCy model ``en_core_web_sm`` on its first partition call and,
when it is missing, downloads and installs it from GitHub; offline that fails (for PDF the
failure is swallowed and yields no elements). Its only uses are sentence splitting and POS tags
for the "narrative text" heuristic, so a blank English pipeline with a rule-based sentencizer is
enough: headings and list items come from HTML tags and Word styles, not from the tagger.
"""

from __future__ import annotations

import threading
from typing import Any

from ragpipe.errors import MissingDependencyError
from ragpipe.offline import offline_environment

SUPPORTED_UNSTRUCTURED = "0.27.30"
# lru_cache'd functions in unstructured.nlp.tokenize that may hold results of an earlier model.
_CACHED_FUNCTIONS = ("_get_nlp", "_process_cached", "word_tokenize", "pos_tag", "_tokenize_for_cache")

_lock = threading.Lock()
_patched = False


def blank_english_pipeline() -> Any:
    """``spacy.blank("en")`` plus the ``sentencizer`` pipe: no model files, no network."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp


def ensure_unstructured_offline() -> None:
    """Replace unstructured's spaCy model loader with :func:`blank_english_pipeline` (idempotent).

    Thread-safe; call it before the first ``partition_*`` call.
    """
    global _patched
    if _patched:
        return
    with _lock:
        if _patched:
            return
        offline_environment()  # unstructured reads its telemetry switch at import
        try:
            from unstructured.nlp import tokenize
        except ImportError as exc:
            raise MissingDependencyError(
                f"the html/docx parsers need unstructured ({exc}); install it with `pip install 'ragpipe[docs]'`"
            ) from exc
        missing = [name for name in ("_load_spacy_model", "_get_nlp") if not hasattr(tokenize, name)]
        if missing:
            from unstructured.__version__ import __version__

            raise MissingDependencyError(
                f"unstructured {__version__} has no unstructured.nlp.tokenize.{', '.join(missing)}; "
                f"ragpipe's offline fix supports unstructured=={SUPPORTED_UNSTRUCTURED}"
            )
        tokenize._load_spacy_model = blank_english_pipeline
        for name in _CACHED_FUNCTIONS:
            cache_clear = getattr(getattr(tokenize, name, None), "cache_clear", None)
            if cache_clear is not None:
                cache_clear()
        _patched = True
