"""The web process's sections: how many processes serve the port, and the read path's limits."""

from __future__ import annotations

from pydantic import Field, PositiveInt, ValidationInfo, field_validator

from infra.settings_base import Section


class WebSettings(Section):
    """How many web processes serve the port (docs/api.md, "Several processes")."""

    processes: PositiveInt = Field(default=1, validation_alias="C360_HTTP_PROCESSES")
    reuse_port: bool = Field(default=False, validation_alias="C360_HTTP_REUSE_PORT")

    @field_validator("reuse_port")
    @classmethod
    def _shared_by_siblings(cls, value: bool, info: ValidationInfo) -> bool:
        # Sibling processes can only bind one port together with SO_REUSEPORT.
        return value or info.data.get("processes", 1) > 1


class QuerySettings(Section):
    """Read-path limits of one web process (docs/api.md, "Load and overload")."""

    max_inflight: PositiveInt = Field(default=64, validation_alias="C360_HTTP_MAX_INFLIGHT")
    cache_entries: PositiveInt = Field(default=10_000, validation_alias="C360_READ_CACHE_ENTRIES")
