"""Runtime settings (paths, endpoints, secrets) from ``RAGPIPE_*`` environment variables.

Experiment choices never live here: they belong in the config file so that a saved config
reproduces its numbers. Runtime settings only say *where* things are.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAGPIPE_", env_file=None, extra="ignore")

    config: Path = Path("configs/default.yaml")
    """Config file used when a command gets no ``-c``."""
    data_dir: Path = Path(".ragpipe")
    """Where indexes live (one folder per pipeline name and index fingerprint)."""
    cache_dir: Path | None = None
    """Embedding cache; defaults to ``<data_dir>/cache``."""
    model_cache_dir: Path | None = None
    """Models derived here from installed ones (the ONNX exports); shared by every project of this user.
    Defaults to ``$XDG_CACHE_HOME/ragpipe`` (``~/.cache/ragpipe``)."""
    qdrant_url: str | None = None
    """Qdrant server/cluster URL used by the ``qdrant`` store (else its local mode)."""
    qdrant_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    """OpenAI-compatible endpoint for LLM generators/metrics; nothing calls an LLM unless set."""
    llm_api_key: SecretStr | None = None

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"

    @property
    def resolved_model_cache_dir(self) -> Path:
        if self.model_cache_dir is not None:
            return self.model_cache_dir
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragpipe"
