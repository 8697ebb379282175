"""InMemoryApiKeys: the ApiKeyStore twin for unit tests (same contract suite as Redis)."""

from __future__ import annotations

import dataclasses

from core.api_keys import ApiKey


class InMemoryApiKeys:
    """ApiKeyStore in a dict."""

    def __init__(self) -> None:
        self._records: dict[str, ApiKey] = {}

    async def put(self, record: ApiKey) -> None:
        self._records[record.key_id] = record

    async def get(self, key_id: str) -> ApiKey | None:
        return self._records.get(key_id)

    async def all(self) -> list[ApiKey]:
        return [self._records[k] for k in sorted(self._records)]

    async def revoke(self, key_id: str, now_ms: int) -> ApiKey | None:
        record = self._records.get(key_id)
        if record is None:
            return None
        if record.revoked_ms is None:
            record = dataclasses.replace(record, revoked_ms=now_ms)
            self._records[key_id] = record
        return record
