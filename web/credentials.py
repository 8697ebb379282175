"""The bearer credentials the service accepts: API keys, desktop tokens, agent JWTs (OIDC)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import jwt

from connectors.gateway import auth
from core import api_keys
from core.access import DESKTOP, TIMELINE_READ, Principal
from core.api_keys import ApiKeyStore, InvalidKey
from core.errors import StoreUnavailable
from infra.oidc import ALGORITHMS, InvalidToken, JwksVerifier
from web.access import InvalidCredential

# What a desktop token may do: its agent's pops and actions, and the timelines of the
# customers those pops are about (always within the token's tenant).
DESKTOP_SCOPES = frozenset({DESKTOP, TIMELINE_READ})
_KEY_PREFIX = api_keys.PREFIX + "_"


def _jwt_header(token: str) -> dict[str, Any] | None:
    """The unverified header of a JWT-shaped token, None for anything else. Only used to
    pick the verifier: every verifier checks the signature and the algorithm itself."""
    if token.count(".") != 2:
        return None
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return None
    return header


class ApiKeyVerifier:
    """Service API keys (`c360k_...`): looked up on every request, never cached, so a
    revocation (`c360 keys revoke`) applies to the next request of every process."""

    def __init__(self, store: ApiKeyStore, clock_ms: Callable[[], int] | None = None) -> None:
        self.store = store
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)

    async def verify(self, token: str) -> Principal | None:
        if not token.startswith(_KEY_PREFIX):
            return None
        try:
            key_id, secret = api_keys.split(token)
            # StoreUnavailable propagates: the access check answers 503, never lets in.
            return api_keys.verify(await self.store.get(key_id), secret, self._clock_ms())
        except InvalidKey as exc:
            raise InvalidCredential(str(exc)) from None


class DesktopTokenVerifier:
    """The gateway's own HS256 desktop tokens (dev login, `python -m connectors.gateway.auth`)."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    async def verify(self, token: str) -> Principal | None:
        header = _jwt_header(token)
        if header is None or header.get("alg") != auth.ALGORITHM:
            return None
        try:
            who = auth.verify(self._secret, token, self._clock())
        except auth.InvalidToken as exc:
            raise InvalidCredential(f"desktop token: {exc}") from None
        return Principal("agent", who.agent, who.tenant, DESKTOP_SCOPES)


class OidcVerifier:
    """Agent JWTs signed with an asymmetric key (RS*/ES*/PS*) by the configured issuer;
    without an issuer configured (C360_OIDC_*) such tokens are refused, saying so."""

    def __init__(self, jwks: JwksVerifier | None) -> None:
        self._jwks = jwks

    async def verify(self, token: str) -> Principal | None:
        header = _jwt_header(token)
        if header is None or header.get("alg") not in ALGORITHMS:
            return None
        if self._jwks is None:
            raise InvalidCredential(
                "agent JWTs are not accepted: no OIDC issuer is configured (C360_OIDC_*)"
            )
        try:
            return await self._jwks.verify(token)
        except InvalidToken as exc:
            raise InvalidCredential(f"agent token: {exc}") from None
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            # The issuer's JWKS cannot be fetched: the token can be checked later, not now
            # (503 with Retry-After, as when Redis cannot check a key).
            raise StoreUnavailable(f"the OIDC issuer's JWKS: {type(exc).__name__}") from exc
