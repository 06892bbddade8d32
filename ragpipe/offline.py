"""Offline and no-telemetry switches, applied where a library that would reach the network is loaded.

Hugging Face hub names would otherwise spend ~80 s in network retries before failing, and unstructured /
ragas phone home at import or use. ``import ragpipe`` changes nothing in the process environment: the
switches are set (each only if the user has not set it) the first time ragpipe loads a model, a parser
backed by unstructured, or ragas — before that library is imported. ragpipe also passes
``local_files_only=True`` wherever a library accepts it, so nothing downloads even when a host process
imported the library earlier with other settings.
"""

import os
import threading

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "RAGAS_DO_NOT_TRACK": "true",
    "UNSTRUCTURED_DISABLE_NOTICE": "1",
    "SCARF_NO_ANALYTICS": "true",
    "TOKENIZERS_PARALLELISM": "false",
}

_applied = False
_lock = threading.Lock()


def offline_environment() -> None:
    """Set the offline/telemetry variables that the user has not set (once per process)."""
    global _applied
    if _applied:
        return
    with _lock:
        for key, value in OFFLINE_ENV.items():
            os.environ.setdefault(key, value)
        _applied = True
