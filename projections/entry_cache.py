"""Read-side cache: stored entry bytes -> the decoded entry and its rendered timeline item."""

from __future__ import annotations

from collections import OrderedDict

from core.errors import CorruptEntry
from core.timeline import InteractionEntry
from core.view import item_fragment, item_json
from projections import entry_codec

# Why keyed by the stored bytes: an entry's bytes determine the entry (the codec is
# deterministic) and the entry determines its item except `ago`, so a hit can never be
# stale. A write changes the bytes, and the next read simply misses; nothing needs
# invalidating. Entries are immutable, so one decoded object is shared by every request.


class _Slot:
    __slots__ = ("ago_end", "ago_start", "entry", "minute", "text")

    def __init__(self, entry: InteractionEntry) -> None:
        self.entry = entry
        # The item text last rendered, where its `ago` value sits, and the minute (since the
        # start) it was rendered for: `ago` changes only when the whole minutes of the delta
        # do (every unit of view.ago is a whole number of minutes), so the text is reused
        # until then, and then only the `ago` value is replaced.
        self.minute: int | None = None
        self.text = ""
        self.ago_start = self.ago_end = 0


class EntryCache:
    """Bounded LRU of decoded entries (at most `max_entries`, about 4 KB each for a typical
    call), each rendered once (then only its `ago` is re-rendered, once a minute at most).

    Not thread-safe: one per event loop (one per web process)."""

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._by_raw: OrderedDict[bytes, _Slot] = OrderedDict()
        # Items are looked up by the entry object the read returned (a profile's union may
        # build a new, merged entry: that one is rendered without the cache).
        self._by_id: dict[int, _Slot] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._by_raw)

    def entry(self, raw: bytes) -> InteractionEntry:
        """The entry stored as `raw` (decoded on a miss); raises CorruptEntry."""
        slot = self._by_raw.get(raw)
        if slot is not None:
            self._by_raw.move_to_end(raw)
            self.hits += 1
            return slot.entry
        self.misses += 1
        try:
            entry = entry_codec.loads(raw)
        except (ValueError, KeyError, TypeError) as exc:
            raise CorruptEntry(f"stored entry does not parse: {exc}") from exc
        slot = _Slot(entry)
        self._by_raw[raw] = slot
        self._by_id[id(entry)] = slot
        if len(self._by_raw) > self.max_entries:
            _, old = self._by_raw.popitem(last=False)
            del self._by_id[id(old.entry)]
        return entry

    def item_json(self, entry: InteractionEntry, now_ms: int) -> str:
        """`json.dumps(describe(entry, now_ms))`, rendered once per cached entry."""
        slot = self._by_id.get(id(entry))
        if slot is None or slot.entry is not entry:
            return item_json(item_fragment(entry), entry.started_ms, now_ms)
        minute = (now_ms - entry.started_ms) // 60_000
        if slot.minute != minute:
            if slot.minute is None:
                head, tail = item_fragment(entry)
            else:
                head, tail = slot.text[: slot.ago_start], slot.text[slot.ago_end :]
            slot.text = item_json((head, tail), entry.started_ms, now_ms)
            slot.ago_start, slot.ago_end = len(head), len(slot.text) - len(tail)
            slot.minute = minute
        return slot.text
