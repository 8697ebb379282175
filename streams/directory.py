"""The profile-directory side of the streams deps: stores, tenant configs, pop hooks, metrics."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidIdentifier
from core.identity import normalize, party_token
from core.layouts import LayoutConfig, layout_from_json
from core.policies import SuppressionRules, rules_from_dict
from core.ports import (
    InteractionLinks,
    PopCache,
    ProfileDirectory,
    ProfileSearchIndex,
)
from core.profile_schema import ProfileConfig, ProfileSchemaError, config_from_json
from projections.null import (
    NullInteractionLinks,
    NullPopCache,
    NullProfileDirectory,
    NullProfileSearchIndex,
)
from streams.pop_metrics import PopMetrics
from streams.settings import ConfigError, StreamSettings

# Read-model hooks of the pop: insights(tenant, tokens, channel, now_ms) and
# related(tenant, interaction_id, profile_id). A deployment without them gets the Null
# hooks below (the pop goes out without them, with a note for the insights).
InsightsFn = Callable[[str, Sequence[str], str, int], Awaitable[dict[str, Any] | None]]
RelatedFn = Callable[[str, str, str | None], Awaitable[list[dict[str, Any]] | None]]
PREWARM_TTL_SECONDS = 600
NO_INSIGHTS = "insights: not available in this deployment"


async def no_insights(
    _tenant_id: str, _tokens: Sequence[str], _channel: str, _now_ms: int
) -> dict[str, Any] | None:
    """The Null insights hook: no insights in this deployment."""
    return None


async def no_related(
    _tenant_id: str, _interaction_id: str, _profile_id: str | None
) -> list[dict[str, Any]] | None:
    """The Null related-records hook: none in this deployment."""
    return None


@dataclass(frozen=True, slots=True)
class DirectoryDeps:
    """What the screen-pop, contacts and desktop-link handlers need beyond the timeline.

    Every port is present. `local_crm=False` is the "no local CRM" deployment (see
    disabled_directory): its ports are Null twins and pops use identifiers only.
    """

    settings: StreamSettings
    profiles: ProfileDirectory
    links: InteractionLinks
    pop_cache: PopCache
    profile_config: ProfileConfig = field(default_factory=ProfileConfig)
    layouts: LayoutConfig = field(default_factory=LayoutConfig)
    insights: InsightsFn = no_insights
    related: RelatedFn = no_related
    metrics: PopMetrics = field(default_factory=PopMetrics)
    prewarm_ttl_seconds: int = PREWARM_TTL_SECONDS
    local_crm: bool = True
    # Name/attribute search terms of the profiles (the desktop's search; docs/desktop.md).
    search: ProfileSearchIndex = field(default_factory=NullProfileSearchIndex)
    # Per-tenant suppression rules, built on first use (a cache: the dataclass stays frozen).
    _rules: dict[str, SuppressionRules] = field(default_factory=dict)

    @property
    def notes(self) -> tuple[str, ...]:
        """What every pop of this deployment says it lacks."""
        return (NO_INSIGHTS,) if self.insights is no_insights else ()

    def rules_for(self, tenant_id: str) -> SuppressionRules:
        """The tenant's suppression rules (directory numbers tokenized for that tenant)."""
        if tenant_id not in self._rules:
            doc = self.layouts.for_tenant(tenant_id).suppression
            self._rules[tenant_id] = rules_from_dict(doc, self._token_of(tenant_id))
        return self._rules[tenant_id]

    def _token_of(self, tenant_id: str) -> Callable[[str], str | None]:
        def token(raw: str) -> str | None:
            try:
                ident = normalize(raw, self.settings.region_for(tenant_id))
            except InvalidIdentifier:
                return None
            if ident.value is None or ident.kind == "anonymous":
                return None
            return party_token(self.settings.pii_pepper, tenant_id, ident)

        return token

    def validate(self) -> None:
        """Fail at start-up, not on the first call, when a tenant's rules are invalid."""
        for tenant in ("*default*", *self.layouts.tenants):
            try:
                self.rules_for(tenant)
            except ValueError as exc:
                raise ConfigError(f"layout tenant {tenant}: {exc}") from exc


def disabled_directory(
    settings: StreamSettings, pop_metrics: PopMetrics | None = None
) -> DirectoryDeps:
    """The "no local CRM" directory: Null ports, default configs, identifiers-only pops."""
    return DirectoryDeps(
        settings,
        profiles=NullProfileDirectory(),
        links=NullInteractionLinks(),
        pop_cache=NullPopCache(),
        local_crm=False,
        metrics=pop_metrics if pop_metrics is not None else PopMetrics(),
    )


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from exc


def load_configs(schema_file: str, layout_file: str) -> tuple[ProfileConfig, LayoutConfig]:
    """The profile schema (C360_PROFILE_SCHEMA_FILE) and layouts (C360_LAYOUT_FILE); defaults
    when "" (unset). Raises ConfigError for unreadable or invalid files."""
    try:
        schema = config_from_json(_read(schema_file, "profile schema")) if schema_file else None
        layouts = layout_from_json(_read(layout_file, "layout")) if layout_file else None
    except ProfileSchemaError as exc:
        raise ConfigError(str(exc)) from exc
    return schema or ProfileConfig(), layouts or LayoutConfig()
