"""Process-wide offline and no-telemetry defaults, applied once when ragpipe is imported.

Hugging Face hub names would otherwise spend ~80 s in network retries before failing, and
unstructured / ragas phone home. Users may still override any of these explicitly.
"""

import os

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


def apply_offline_defaults() -> None:
    """Set offline/telemetry env vars unless the user already set them."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
