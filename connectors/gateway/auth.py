"""Per-agent desktop tokens: HS256 JWTs (PyJWT) naming a tenant and an agent; issue, verify."""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from typing import Any

import jwt

from schemas.errors import C360Error

ALGORITHM = "HS256"
# Fixed issuer and audience: a token minted for another service (or by another issuer
# holding a shared secret) is refused here even though its signature verifies.
ISSUER = "c360"
AUDIENCE = "c360-desktop"
# Clock skew allowed for tokens minted elsewhere (an SSO backend, a CTI adapter) whose clock
# runs ahead: their iat/nbf may lie this far in our future. Not applied to exp: an open
# stream ends at exp on this clock, and a reconnect must not outlive it either.
LEEWAY_SECONDS = 60
_REQUIRED = ["iss", "aud", "sub", "tenant", "iat", "exp"]
# Tenant ids go into Kafka keys and Redis keys (same alphabet as the ingest webhook).
TENANT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Agent ids come from contact-centre platforms (UUIDs, ARNs, e-mail-like logins): any
# printable text without spaces or control characters.
AGENT_RE = re.compile(r"^[!-~]{1,256}$")


class InvalidToken(C360Error):
    """The token is missing, malformed, signed with another secret, or expired (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    """Who a valid token speaks for."""

    tenant: str
    agent: str
    expires_at: int  # epoch seconds


def issue(secret: bytes, tenant: str, agent: str, now: float, ttl_seconds: int) -> str:
    """A JWT (HS256 with `secret`) with claims iss, aud, sub (the agent), tenant, iat, exp;
    raises ValueError for ids outside the accepted alphabets."""
    if not TENANT_RE.match(tenant):
        raise ValueError("tenant must match " + TENANT_RE.pattern)
    if not AGENT_RE.match(agent):
        raise ValueError("agent id must be 1-256 printable characters without spaces")
    issued = int(now)
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": agent,
        "tenant": tenant,
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def _claims(secret: bytes, token: str) -> dict[str, Any]:
    """Signature, algorithm, issuer, audience and required claims, checked by PyJWT. The
    time claims are left to `verify`: PyJWT reads the wall clock, the gateway has its own."""
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={
                "require": _REQUIRED,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidSignatureError as exc:
        raise InvalidToken("token signature does not verify") from exc
    except jwt.InvalidTokenError as exc:  # garbled, other alg, issuer, audience, claims
        raise InvalidToken("malformed token") from exc


def verify(secret: bytes, token: str | None, now: float) -> AgentIdentity:
    """The identity a token carries at `now`; raises InvalidToken (never saying which part
    failed beyond missing/malformed/signature/not yet valid/expired, never echoing it)."""
    if not token:
        raise InvalidToken("a desktop token is required")
    claims = _claims(secret, token)
    try:
        tenant, agent = claims["tenant"], claims["sub"]
        expires, issued = int(claims["exp"]), int(claims["iat"])
        not_before = int(claims.get("nbf", issued))
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidToken("malformed token") from exc
    # A token minted elsewhere is checked like one issued here: its ids end up in keys.
    if not (
        isinstance(tenant, str)
        and TENANT_RE.match(tenant)
        and isinstance(agent, str)
        and AGENT_RE.match(agent)
    ):
        raise InvalidToken("malformed token")
    if max(issued, not_before) > now + LEEWAY_SECONDS:
        raise InvalidToken("token not yet valid")
    if expires <= now:
        raise InvalidToken("token expired")
    return AgentIdentity(tenant, agent, expires)


def main(argv: list[str] | None = None) -> int:
    """`python -m connectors.gateway.auth --tenant T --agent A`: print a token signed with
    C360_GATEWAY_SECRET (for a desktop integration or a manual test outside dev mode)."""
    from connectors.gateway.settings import GatewaySettings  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="python -m connectors.gateway.auth")
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--agent", required=True)
    parser.add_argument("--ttl", type=int, default=None, help="seconds (default: the setting)")
    args = parser.parse_args(argv)
    settings = GatewaySettings.from_env()
    ttl = args.ttl if args.ttl is not None else settings.token_ttl_seconds
    sys.stdout.write(issue(settings.secret, args.tenant, args.agent, time.time(), ttl) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
