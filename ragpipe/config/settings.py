"""Runtime settings (paths, endpoints, secrets) from ``RAGPIPE_*`` environment variables.

Experiment choices never live here: they belong in the config file so that a saved config
reproduces its numbers. Runtime settings only say *where* things are.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragpipe.errors import ConfigError

ENV_PREFIX = "RAGPIPE_"


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=None, extra="ignore")

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

    @field_validator("data_dir", "cache_dir", "model_cache_dir")
    @classmethod
    def _folder(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError(f"{str(value)!r} is a file, not a folder; point it at a folder (it is created if missing)")
        return value

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.data_dir / "cache"

    @property
    def resolved_model_cache_dir(self) -> Path:
        if self.model_cache_dir is not None:
            return self.model_cache_dir
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ragpipe"


def load_settings(**values: object) -> RuntimeSettings:
    """:class:`RuntimeSettings` from the environment (and ``values``); ConfigError names the variable."""
    try:
        return RuntimeSettings(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid runtime settings: " + "; ".join(problems)) from None
