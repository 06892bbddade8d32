"""Base classes for config models: strict (unknown keys rejected) and immutable."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

QUERY_TIME: dict[str, Any] = {"fingerprint": False}
"""``Field(json_schema_extra=QUERY_TIME)`` marks a setting that does not change what is stored in
the index (e.g. a search-time parameter), so changing it does not move the index to a new folder."""


def index_settings(section: BaseModel) -> dict[str, Any]:
    """The section's settings that determine stored content (everything but QUERY_TIME fields)."""
    data = section.model_dump(mode="json")
    for name, info in type(section).model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get("fingerprint") is False:
            data.pop(name, None)
    return data


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class StageConfig(StrictModel):
    """Config of one stage implementation; subclasses declare ``type: Literal["name"] = "name"``."""

    type: str
