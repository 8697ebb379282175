"""Per-agent desktop tokens: HMAC-SHA256 signed (tenant, agent, expiry); issue and verify."""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import sys
import time
from dataclasses import dataclass

from schemas.errors import C360Error

PREFIX = "c360d1"
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, body: str) -> bytes:
    return hmac.new(secret, f"{PREFIX}.{body}".encode(), hashlib.sha256).digest()


def issue(secret: bytes, tenant: str, agent: str, now: float, ttl_seconds: int) -> str:
    """`c360d1.<base64url JSON {t, a, exp}>.<base64url HMAC-SHA256>`; raises ValueError for
    ids outside the accepted alphabets."""
    if not TENANT_RE.match(tenant):
        raise ValueError("tenant must match " + TENANT_RE.pattern)
    if not AGENT_RE.match(agent):
        raise ValueError("agent id must be 1-256 printable characters without spaces")
    claims = {"t": tenant, "a": agent, "exp": int(now) + ttl_seconds}
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{PREFIX}.{body}.{_b64(_mac(secret, body))}"


def verify(secret: bytes, token: str | None, now: float) -> AgentIdentity:
    """The identity a token carries; raises InvalidToken (never saying which part failed
    beyond missing/malformed/signature/expired, and never echoing the token)."""
    if not token:
        raise InvalidToken("a desktop token is required")
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise InvalidToken("malformed token")
    _, body, signature = parts
    try:
        given = _unb64(signature)
    except ValueError as exc:
        raise InvalidToken("malformed token") from exc
    if not hmac.compare_digest(given, _mac(secret, body)):
        raise InvalidToken("token signature does not verify")
    try:
        claims = json.loads(_unb64(body))
        tenant, agent, expires = str(claims["t"]), str(claims["a"]), int(claims["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken("malformed token") from exc
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
