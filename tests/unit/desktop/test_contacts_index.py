"""The contacts handler keeps the search index in step with the directory."""

from __future__ import annotations

from datetime import UTC, datetime

from core.profile_schema import config_from_dict
from core.profile_search import plan_query
from projections.memory import InMemoryTimelineStore
from projections.memory_profile_search import InMemoryProfileSearchIndex
from projections.memory_profiles import (
    InMemoryInteractionLinks,
    InMemoryPopCache,
    InMemoryProfileDirectory,
)
from schemas.records import ProfileUpserted
from streams.bootstrap import build_deps
from streams.contacts import handle_profile_upserted
from streams.directory import DirectoryDeps
from streams.settings import StreamSettings

SETTINGS = StreamSettings.from_env({"C360_ENV": "dev"})
SCHEMA = config_from_dict({"default": {"attributes": [{"name": "tier", "type": "text"}]}})


async def test_upserts_replace_terms_and_stale_ones_do_not() -> None:
    index = InMemoryProfileSearchIndex()
    directory = DirectoryDeps(SETTINGS, InMemoryProfileDirectory(), InMemoryInteractionLinks(),
                              InMemoryPopCache(), SCHEMA, search=index)
    deps = build_deps(SETTINGS, timeline=InMemoryTimelineStore(), directory=directory)

    async def apply(event: str, day: int, name: str, **extra: object) -> None:
        at = datetime(2025, 1, day, tzinfo=UTC)
        await handle_profile_upserted(ProfileUpserted(
            event, "acme", at, "p1", name, attributes={"tier": "gold"},
            crm_ids={"hubspot": "77"}, **extra), deps)  # type: ignore[arg-type]

    async def found(q: str) -> list[str]:
        plan = plan_query(q, "acme", SETTINGS.pii_pepper, "US", SCHEMA.for_tenant("acme"))
        return await index.search("acme", plan.groups, 20)

    await apply("e1", 1, "Alice Smith")
    assert await found("ali") == ["p1"] and await found("tier:gold") == ["p1"]
    await apply("e2", 3, "Carol Smith")
    await apply("e0", 2, "Alice Smith")  # older than the stored state: stale
    assert await found("ali") == [] and await found("car smi") == ["p1"]
    await apply("e3", 4, "Carol Smith", deleted=True)
    assert await found("carol") == [] and await found("gold") == []
