"""Agent credentials: JWTs of an OIDC issuer verified against its JWKS (PyJWT) -> a Principal."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt

from core.access import TENANT, Principal, valid_scope

# Asymmetric algorithms only: a JWKS publishes public keys, and accepting HS* here would let
# anyone who read the JWKS forge tokens (the classic algorithm-confusion attack).
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "PS256")
KEYS_TTL_SECONDS = 300.0
REFETCH_GAP_SECONDS = 30.0  # an unknown `kid` refetches at most this often (key rotation)


class InvalidToken(ValueError):
    """A JWT that does not verify; the message says why, never quoting the token."""


@dataclass(frozen=True, slots=True)
class OidcSettings:
    """Where agent JWTs come from and what they must say."""

    issuer: str
    audience: str
    jwks_url: str
    leeway_seconds: int = 60
    tenant_claim: str = "c360_tenant"
    default_scopes: frozenset[str] = frozenset({"desktop"})


Fetch = Callable[[str], Awaitable[dict[str, Any]]]


class JwksVerifier:
    """Verifies agent JWTs: signature by a key of the issuer's JWKS (cached, refetched on an
    unknown key id), issuer, audience, expiry with leeway, subject and tenant claims."""

    def __init__(
        self, settings: OidcSettings, fetch: Fetch, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settings = settings
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = -1e18
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid in self._keys and self._clock() - self._fetched_at < KEYS_TTL_SECONDS:
            return self._keys[kid]
        async with self._lock:
            age = self._clock() - self._fetched_at
            # Stale keys are refetched; an unknown key id (the issuer rotated) too, but at
            # most every REFETCH_GAP_SECONDS, so junk kids cannot hammer the issuer.
            if age >= KEYS_TTL_SECONDS or (kid not in self._keys and age >= REFETCH_GAP_SECONDS):
                await self._refresh()
        if kid not in self._keys:
            raise InvalidToken("the token's signing key is not in the issuer's JWKS")
        return self._keys[kid]

    async def _refresh(self) -> None:
        try:
            document = await self._fetch(self._settings.jwks_url)
            keyset = jwt.PyJWKSet.from_dict(document)
        except (jwt.PyJWKSetError, jwt.InvalidKeyError, ValueError, KeyError) as exc:
            raise InvalidToken(f"the issuer's JWKS cannot be used: {type(exc).__name__}") from exc
        self._keys = {k.key_id: k for k in keyset.keys if k.key_id}
        self._fetched_at = self._clock()

    async def verify(self, token: str) -> Principal:
        """The agent principal of `token`; InvalidToken when anything does not hold."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as exc:
            raise InvalidToken("not a JWT") from exc
        if header.get("alg") not in ALGORITHMS or not isinstance(header.get("kid"), str):
            raise InvalidToken("the token must be signed with an asymmetric key and name it")
        key = await self._key(header["kid"])
        s = self._settings
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=s.audience,
                issuer=s.issuer,
                leeway=s.leeway_seconds,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("the token has expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"the token does not verify: {type(exc).__name__}") from exc
        return _principal(claims, s)


def _principal(claims: dict[str, Any], s: OidcSettings) -> Principal:
    tenant, subject = claims.get(s.tenant_claim), claims.get("sub")
    if not isinstance(tenant, str) or not TENANT.match(tenant):
        raise InvalidToken(f"the token has no valid {s.tenant_claim} claim")
    if not isinstance(subject, str) or not subject or len(subject) > 200:
        raise InvalidToken("the token has no valid sub claim")
    raw = claims.get("scope", claims.get("scp"))
    names = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
    scopes = frozenset(str(n) for n in names if valid_scope(str(n))) or s.default_scopes
    return Principal("agent", subject, tenant, scopes)


def aiohttp_fetch(timeout_seconds: float = 5.0) -> Fetch:
    """A JWKS fetcher on aiohttp (bounded; a non-200 or non-JSON answer is a ValueError)."""
    import aiohttp  # noqa: PLC0415 - only the web process verifies agent tokens

    async def fetch(url: str) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
            if resp.status != 200:
                raise ValueError(f"JWKS answered {resp.status}")
            body = await resp.read()
        if len(body) > 1_000_000:
            raise ValueError("JWKS document too large")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("JWKS document is not an object")
        return document

    return fetch
