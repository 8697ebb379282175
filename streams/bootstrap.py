"""The one place the streams process wires its dependencies (overrides for tests)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from core.activity_log import InMemoryInteractionActivities, InteractionActivities
from core.ports import InteractionParties, TimelineStore
from core.related import InMemoryRelatedRecords, RelatedRecordsStore
from core.timeline import Retention
from projections.entry_cache import EntryCache
from projections.keys import Keys
from projections.reads import ReadModel, TimelineReads, insights_hook
from projections.redis_activities import RedisInteractionActivities
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks, RedisPopCache
from projections.redis_parties import RedisInteractionParties
from projections.redis_profile_search import RedisProfileSearchIndex
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_related import RedisRelatedRecords
from projections.redis_timeline import RedisTimelineStore
from projections.redis_timeline_reads import CachedRedisTimeline
from projections.topic_config import TopicConfig
from streams.activities import related_hook
from streams.directory import (
    DirectoryDeps,
    InsightsFn,
    RelatedFn,
    disabled_directory,
    load_configs,
    no_insights,
    no_related,
)
from streams.handlers import Deps
from streams.pop_metrics import PopMetrics
from streams.rules_config import RulesSource
from streams.settings import StreamSettings

POP_READ_CACHE_ENTRIES = 5_000


def wall_clock_ms() -> int:
    """Milliseconds since the epoch, now."""
    return time.time_ns() // 1_000_000


def build_deps(
    settings: StreamSettings,
    *,
    timeline: TimelineStore | None = None,
    parties: InteractionParties | None = None,
    clock_ms: Callable[[], int] | None = None,
    directory: DirectoryDeps | None = None,
    rules: RulesSource | None = None,
    related: RelatedRecordsStore | None = None,
    pop_metrics: PopMetrics | None = None,
    activity_log: InteractionActivities | None = None,
) -> Deps:
    """Build the handlers' dependencies: Redis adapters, unless twins are passed in. With
    twins, the parts not passed are the "no local CRM" Null directory and an in-memory
    related-records store. On Redis, the related-records store also feeds the screen pops
    (DirectoryDeps.related). The pop metrics are the worker's (registered on its registry)
    when it passes them."""
    if timeline is None or parties is None:
        keys = Keys(settings.key_namespace)
        retention = Retention(
            max_entries=settings.timeline_max_entries,
            window_ms=settings.timeline_retention_days * 86_400_000,
        )
        # Pops of a batch render concurrently: their reads share round trips.
        client = redis_client(settings.redis_url, autopipeline=True)
        timeline = timeline or RedisTimelineStore(client, keys, retention)
        parties = parties or RedisInteractionParties(client, keys, settings.party_link_ttl_seconds)
        related = related or RedisRelatedRecords(client, keys)
        activity_log = activity_log or RedisInteractionActivities(
            client, keys, (settings.timeline_retention_days or 400) * 86_400)
        if directory is None:
            # Pop insights read every channel of the party: one script call, and the entries
            # decoded once per stored version (projections/entry_cache.py), not per pop.
            reads = CachedRedisTimeline(client, keys, retention, EntryCache(POP_READ_CACHE_ENTRIES))
            hook = related_hook(parties, timeline, related)
            directory = redis_directory(
                settings, client, keys, reads, retention, hook, pop_metrics
            )
    return Deps(
        settings=settings,
        timeline=timeline,
        parties=parties,
        clock_ms=clock_ms or wall_clock_ms,
        directory=directory or disabled_directory(settings, pop_metrics),
        rules=rules or rules_source(settings),
        related=related or InMemoryRelatedRecords(),
        confluent=_confluent(settings),
        activity_log=activity_log or InMemoryInteractionActivities(),
    )


def rules_source(settings: StreamSettings) -> RulesSource:
    """The tenant automation rules (C360_RULES_FILE), loaded now: a bad file raises
    ConfigError with the list of problems; later edits are re-read, a bad edit keeps the
    last good rules."""
    return RulesSource.loaded(settings.rules_file or None, settings.activity_min_call_seconds)


def _confluent(settings: StreamSettings) -> Any:
    if not settings.schema_registry_url:
        return None
    from infra.schema_registry import registry_codec  # noqa: PLC0415

    return registry_codec(settings.schema_registry_url)


def redis_directory(
    settings: StreamSettings,
    client: Any,
    keys: Keys,
    timeline: TimelineReads | None = None,
    retention: Retention | None = None,
    related: RelatedFn = no_related,
    pop_metrics: PopMetrics | None = None,
) -> DirectoryDeps:
    """Profile directory, links and pop cache on Redis; tenant configs from the settings
    (C360_PROFILE_SCHEMA_FILE, C360_LAYOUT_FILE, C360_TOPICS_FILE), validated now rather
    than on first use. With a timeline store, pops carry insights (the read model's hook)."""
    schema, layouts = load_configs(settings.profile_schema_file, settings.layout_file)
    profiles = RedisProfileDirectory(client, keys, schema.policy_for)
    links = RedisInteractionLinks(client, keys)
    insights: InsightsFn = no_insights
    if timeline is not None:
        read_model = ReadModel(
            timeline,
            retention or Retention(),
            profiles=profiles,
            links=links,
            topics=TopicConfig(settings.topics_file or None),
        )
        insights = insights_hook(read_model)
    directory = DirectoryDeps(
        settings,
        profiles=profiles,
        links=links,
        pop_cache=RedisPopCache(client, keys),
        search=RedisProfileSearchIndex(client, keys),
        profile_config=schema,
        layouts=layouts,
        insights=insights,
        related=related,
        metrics=pop_metrics if pop_metrics is not None else PopMetrics(),
    )
    directory.validate()
    return directory
