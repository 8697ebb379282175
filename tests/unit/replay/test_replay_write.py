"""Replay writes a batch through store.merge_many when the store has it, else merge_entry."""

from __future__ import annotations

from collections.abc import Sequence

from c360.replay import _write
from c360.replay_offsets import Limits
from core.timeline import InteractionEntry, entry_of
from tests.factories import voice_call

ITEMS = [("acme", f"tok{i}", entry_of(voice_call(f"ix-{i}")[0])) for i in range(10)]


class OneByOne:
    """A store with only merge_entry (before merge_many existed)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, int]] = []

    async def merge_entry(
        self, tenant_id: str, token: str, partial: InteractionEntry, now_ms: int
    ) -> InteractionEntry | None:
        self.calls.append((tenant_id, token, partial.interaction_id, now_ms))
        return partial


class Batched(OneByOne):
    """A store with merge_many as well."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[tuple[str, str, InteractionEntry]]] = []

    async def merge_many(
        self, items: Sequence[tuple[str, str, InteractionEntry]], now_ms: int
    ) -> list[InteractionEntry | None]:
        self.batches.append(list(items))
        return [e for _, _, e in items]


async def test_merge_many_gets_the_whole_batch_in_one_call() -> None:
    """One call with every item, no per-item calls."""
    store = Batched()
    await _write(store, ITEMS, 7, Limits())
    assert store.batches == [ITEMS]
    assert store.calls == []


async def test_without_merge_many_every_item_is_merged_in_chunks() -> None:
    """Every item once, through merge_entry, with the batch's clock."""
    store = OneByOne()
    await _write(store, ITEMS, 7, Limits(gather_chunk=3))
    assert sorted(store.calls) == sorted(
        (t, p, e.interaction_id, 7) for t, p, e in ITEMS
    )
