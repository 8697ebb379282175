"""Per-agent CRM identity (OAuth 2.0 authorization code): the token set of one agent at one
CRM, the signed single-use `state` of a connect attempt, PKCE, and the store port."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.errors import C360Error

# A connect attempt (authorize page -> callback) must finish within this many seconds.
STATE_TTL_SECONDS = 600


class InvalidState(C360Error, ValueError):
    """A callback `state` that is malformed, forged, expired, for another CRM, or used."""


@dataclass(frozen=True, slots=True)
class AgentTokens:
    """What a CRM's token endpoint granted one agent. Secrets never appear in repr."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at: float | None = None  # epoch seconds; None = the vendor did not say
    instance_url: str | None = None  # Salesforce instance_url / Zoho api_domain
    user: str | None = None  # the CRM user the token speaks for, when the vendor says

    def to_json(self) -> dict[str, Any]:
        """The stored form (sealed by the store before it leaves the process)."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "expires_at": self.expires_at, "instance_url": self.instance_url,
                "user": self.user}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AgentTokens:
        """Inverse of `to_json`; raises KeyError/TypeError on a damaged record."""
        return cls(str(doc["access_token"]), doc.get("refresh_token"), doc.get("expires_at"),
                   doc.get("instance_url"), doc.get("user"))


def tokens_from_grant(body: Any, now: float, previous: AgentTokens | None = None
                      ) -> AgentTokens:
    """The token set of a token-endpoint answer (RFC 6749 5.1): a refresh answer without a
    new refresh token keeps the previous one (Salesforce, Zoho, HubSpot do not rotate;
    Zendesk and Microsoft do). Raises ValueError when there is no access token."""
    doc = body if isinstance(body, dict) else {}
    access = doc.get("access_token")
    if not isinstance(access, str) or not access:
        raise ValueError("the token endpoint answered without an access_token")
    expires_in = doc.get("expires_in")
    try:
        expires_at = now + float(expires_in) if expires_in is not None else None
    except (TypeError, ValueError):
        expires_at = None
    refresh = doc.get("refresh_token")
    instance = doc.get("instance_url") or doc.get("api_domain")
    user = doc.get("id") or doc.get("user_id") or doc.get("user")  # Salesforce: identity URL
    return AgentTokens(
        access,
        refresh if isinstance(refresh, str) and refresh else (
            previous.refresh_token if previous else None),
        expires_at,
        str(instance).rstrip("/") if isinstance(instance, str) and instance else (
            previous.instance_url if previous else None),
        str(user) if isinstance(user, str | int) and user != "" else (
            previous.user if previous else None),
    )


@dataclass(frozen=True, slots=True)
class PendingConnect:
    """A connect attempt between the authorize redirect and the callback (server side)."""

    tenant: str
    agent: str
    crm: str
    verifier: str | None = field(default=None, repr=False)  # the PKCE code_verifier

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"tenant": self.tenant, "agent": self.agent, "crm": self.crm,
                "verifier": self.verifier}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PendingConnect:
        """Inverse of `to_json`."""
        return cls(str(doc["tenant"]), str(doc["agent"]), str(doc["crm"]), doc.get("verifier"))


@dataclass(frozen=True, slots=True)
class StateClaims:
    """What a verified `state` binds: the attempt's nonce, tenant, agent and CRM."""

    nonce: str
    tenant: str
    agent: str
    crm: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose from a configured secret (HMAC-SHA256 as a KDF), so the
    state-signing key and the agent-id hashing key never equal the secret or each other."""
    if not secret:
        raise ValueError("secret must not be empty")
    return hmac.new(secret, f"c360:{purpose}".encode(), hashlib.sha256).digest()


def sign_state(key: bytes, claims: StateClaims) -> str:
    """`payload.mac`, both base64url: the payload names nonce, tenant, agent, CRM, expiry."""
    payload = _b64(json.dumps([claims.nonce, claims.tenant, claims.agent, claims.crm,
                               int(claims.expires_at)], separators=(",", ":")).encode())
    mac = hmac.new(key, payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def read_state(key: bytes, state: str, crm: str, now: float) -> StateClaims:
    """The claims of a state this service signed, for this CRM, not yet expired. Raises
    InvalidState otherwise (single use is the pending store's `take`)."""
    payload, _, mac = state.partition(".")
    try:
        good = hmac.compare_digest(
            _unb64(mac), hmac.new(key, payload.encode(), hashlib.sha256).digest())
        nonce, tenant, agent, bound, expires = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise InvalidState("the state is malformed") from None
    if not good:
        raise InvalidState("the state was not issued by this service")
    if bound != crm:
        raise InvalidState("the state was issued for another CRM")
    if now >= float(expires):
        raise InvalidState("the state has expired: start again from the panel")
    return StateClaims(str(nonce), str(tenant), str(agent), str(bound), float(expires))


def new_nonce() -> str:
    """A fresh, unguessable attempt id."""
    return secrets.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636 4.1-4.2 (43-128 unreserved chars)."""
    verifier = secrets.token_urlsafe(64)  # 86 characters
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def agent_token(key: bytes, tenant: str, agent: str) -> str:
    """Keyed hash of (tenant, agent id): what store keys carry instead of an agent's id
    (often an email address)."""
    return hmac.new(key, f"{tenant}\x1f{agent}".encode(), hashlib.sha256).hexdigest()[:32]


class Sealer(Protocol):
    """Authenticated encryption of stored token sets (infra.token_crypto)."""

    def seal(self, data: bytes) -> bytes:
        """Encrypt with the current key."""
        ...

    def open(self, sealed: bytes) -> bytes:
        """Decrypt with any configured key; raises SealedUnreadable when none fits."""
        ...


class SealedUnreadable(C360Error, ValueError):
    """A stored token set no configured key opens (a key was retired too early)."""


class AgentTokenStore(Protocol):
    """Token sets per (tenant, agent, CRM), encrypted at rest, and the pending connect
    attempts. Every method raises core.errors.StoreUnavailable when the store is down."""

    async def get(self, tenant: str, agent: str, crm: str) -> AgentTokens | None:
        """The agent's tokens for one CRM; None when not connected (or unreadable: a
        record no key opens counts as not connected and is dropped)."""
        ...

    async def put(self, tenant: str, agent: str, crm: str, tokens: AgentTokens) -> None:
        """Store (replace) the agent's tokens for one CRM."""
        ...

    async def delete(self, tenant: str, agent: str, crm: str) -> bool:
        """Forget the agent's tokens for one CRM; True when there were some."""
        ...

    async def connected(self, tenant: str, agent: str) -> frozenset[str]:
        """The CRMs the agent has tokens for."""
        ...

    async def begin(self, nonce: str, pending: PendingConnect, ttl_seconds: int) -> None:
        """Remember a connect attempt for `ttl_seconds`."""
        ...

    async def take(self, nonce: str) -> PendingConnect | None:
        """The attempt, removed atomically (a second take of the same nonce gets None)."""
        ...
