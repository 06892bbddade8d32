"""Base classes for config models: strict (unknown keys rejected) and immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class StageConfig(StrictModel):
    """Config of one stage implementation; subclasses declare ``type: Literal["name"] = "name"``."""

    type: str
