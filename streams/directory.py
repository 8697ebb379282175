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
from core.ports import InteractionLinks, PopCache, ProfileDirectory
from core.profile_schema import ProfileConfig, ProfileSchemaError, config_from_json
from streams.pop_metrics import PopMetrics
from streams.settings import ConfigError, StreamSettings

# Optional read-model hooks (the insights and related-records modules plug in here when a
# deployment has them): insights(tenant, tokens, channel, now_ms) and
# related(tenant, interaction_id, profile_id). None = omitted, with a note in the pop.
InsightsFn = Callable[[str, Sequence[str], str, int], Awaitable[dict[str, Any] | None]]
RelatedFn = Callable[[str, str, str | None], Awaitable[list[dict[str, Any]] | None]]
PREWARM_TTL_SECONDS = 600


@dataclass(slots=True)
class DirectoryDeps:
    """What the screen-pop, contacts and desktop-link handlers need beyond the timeline.

    `profiles=None` is the "no local CRM" deployment: pops use identifiers only.
    """

    settings: StreamSettings
    profiles: ProfileDirectory | None = None
    links: InteractionLinks | None = None
    pop_cache: PopCache | None = None
    profile_config: ProfileConfig = field(default_factory=ProfileConfig)
    layouts: LayoutConfig = field(default_factory=LayoutConfig)
    insights: InsightsFn | None = None
    related: RelatedFn | None = None
    metrics: PopMetrics = field(default_factory=PopMetrics)
    prewarm_ttl_seconds: int = PREWARM_TTL_SECONDS
    _rules: dict[str, SuppressionRules] = field(default_factory=dict)

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
