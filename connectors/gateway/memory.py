"""InMemoryPopTopic: the PopFeed + PopLog twin for unit tests (a list per partition)."""

from __future__ import annotations

import asyncio

from connectors.gateway.hub import Hub
from connectors.gateway.kafka_feed import RereadResult
from connectors.gateway.pops import Decoder, Pop, pop_from_message
from schemas import codec
from schemas.errors import SchemaError


class InMemoryPopTopic:
    """Records appended here reach the hub the way the Kafka feed delivers them; `reread`
    serves offsets like the Kafka log does (at most `max_records` scanned, as KafkaPopLog),
    `low` models retention."""

    def __init__(
        self, partitions: int = 4, decode: Decoder = codec.decode, max_records: int | None = None
    ) -> None:
        self.log: dict[int, list[tuple[bytes | None, bytes | None]]] = {
            p: [] for p in range(partitions)
        }
        self.low: dict[int, int] = dict.fromkeys(range(partitions), 0)
        self.rereads: list[tuple[int, int, int]] = []
        self._decode = decode
        self._max = max_records
        self._hub: Hub | None = None

    def start(self, loop: asyncio.AbstractEventLoop, hub: Hub) -> None:
        self._hub = hub
        hub.start({p: len(records) for p, records in self.log.items()})

    def stop(self) -> None:
        self._hub = None

    def append(self, partition: int, key: bytes | None, value: bytes | None) -> int:
        """Write a record; the hub (when started) sees it at once. Returns its offset."""
        records = self.log[partition]
        records.append((key, value))
        offset = len(records) - 1
        if self._hub is not None:
            self._hub.dispatch([(partition, offset, self._pop(partition, offset, value))])
        return offset

    def _pop(self, partition: int, offset: int, value: bytes | None) -> Pop | None:
        try:
            return pop_from_message(partition, offset, value, self._decode)
        except SchemaError:
            return None

    async def reread(self, partition: int, start: int, end: int, key: bytes) -> RereadResult:
        self.rereads.append((partition, start, end))
        first = max(start, self.low[partition])
        if self._max is not None:
            first = max(first, end - self._max)
        pops = []
        for offset in range(first, min(end, len(self.log[partition]))):
            record_key, value = self.log[partition][offset]
            pop = self._pop(partition, offset, value) if record_key == key else None
            if pop is not None:
                pops.append(pop)
        return RereadResult(tuple(pops), first > start)
