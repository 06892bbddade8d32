"""Base classes for config models: strict (unknown keys rejected) and immutable."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

QUERY_TIME: dict[str, Any] = {"fingerprint": False}
"""``Field(json_schema_extra=QUERY_TIME)`` marks a setting that does not change what is stored in the index
(a search-time parameter, a permission such as ``allow_truncation``), so changing it does not move the index
to a new folder."""


class StrictModel(BaseModel):
    """A config section: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class StageConfig(StrictModel):
    """Config of one stage implementation; subclasses declare ``type: Literal["name"] = "name"``."""

    type: str

    def index_settings(self) -> dict[str, Any]:
        """The settings that determine stored content (every field but the QUERY_TIME ones)."""
        data = self.model_dump(mode="json")
        for name, info in type(self).model_fields.items():
            extra = info.json_schema_extra
            if isinstance(extra, dict) and extra.get("fingerprint") is False:
                data.pop(name, None)
        return data
