"""Service API keys: their format, the stored (hashed) record, and the check of a presented key."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Protocol

from core.access import Principal

# `c360k_<key id>_<secret>`: the id finds the record without a scan, the secret is 32
# random bytes (base64url). Only SHA-256 of the secret is stored: a key has 256 bits of
# entropy, so a slow password hash would add cost per request and no protection.
PREFIX = "c360k"
_PRESENTED = re.compile(r"^c360k_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")


class InvalidKey(ValueError):
    """A presented string that is not a c360 API key, or one that does not verify."""


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key as stored: never the secret, only its hash."""

    key_id: str
    tenant: str
    scopes: frozenset[str]
    name: str
    created_ms: int
    expires_ms: int
    secret_sha256: str
    revoked_ms: int | None = None
    created_by: str = ""

    def state(self, now_ms: int) -> str:
        """ "active", "expired" or "revoked" at `now_ms`."""
        if self.revoked_ms is not None:
            return "revoked"
        return "expired" if now_ms >= self.expires_ms else "active"


def secret_hash(secret: str) -> str:
    """The stored form of a key's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def compose(key_id: str, secret: str) -> str:
    """The full key string handed out once at creation."""
    return f"{PREFIX}_{key_id}_{secret}"


def split(presented: str) -> tuple[str, str]:
    """(key id, secret) of a presented key; InvalidKey when it is not one of ours."""
    match = _PRESENTED.match(presented)
    if match is None:
        raise InvalidKey("not a c360 API key")
    return match.group(1), match.group(2)


def verify(record: ApiKey | None, secret: str, now_ms: int) -> Principal:
    """The principal of a presented key whose record is `record`; InvalidKey (one reason,
    never the secret) when it is unknown, does not match, is revoked or has expired."""
    if record is None or not hmac.compare_digest(record.secret_sha256, secret_hash(secret)):
        raise InvalidKey("unknown API key")
    state = record.state(now_ms)
    if state != "active":
        raise InvalidKey(f"API key {record.key_id} is {state}")
    return Principal("api_key", record.key_id, record.tenant, record.scopes)


class ApiKeyStore(Protocol):
    """Where API key records live (Redis; an in-memory twin for tests)."""

    async def put(self, record: ApiKey) -> None:
        """Store a new record (ids are random: a clash is a bug, not a merge)."""

    async def get(self, key_id: str) -> ApiKey | None:
        """The record of `key_id`, or None."""

    async def all(self) -> list[ApiKey]:
        """Every record, revoked and expired ones included (for `c360 keys list`)."""

    async def revoke(self, key_id: str, now_ms: int) -> ApiKey | None:
        """Mark revoked (idempotent: the first revocation time stays); None if unknown."""


def to_json(record: ApiKey) -> dict[str, object]:
    """The stored JSON form of a record."""
    return {
        "id": record.key_id,
        "tenant": record.tenant,
        "scopes": sorted(record.scopes),
        "name": record.name,
        "created_ms": record.created_ms,
        "expires_ms": record.expires_ms,
        "sha256": record.secret_sha256,
        "revoked_ms": record.revoked_ms,
        "created_by": record.created_by,
    }


def from_json(raw: dict[str, Any]) -> ApiKey:
    """A record from its stored JSON form (KeyError/TypeError when it is not one)."""
    revoked = raw.get("revoked_ms")
    return ApiKey(
        str(raw["id"]),
        str(raw["tenant"]),
        frozenset(str(s) for s in raw["scopes"]),
        str(raw["name"]),
        int(raw["created_ms"]),
        int(raw["expires_ms"]),
        str(raw["sha256"]),
        None if revoked is None else int(revoked),
        str(raw.get("created_by", "")),
    )
