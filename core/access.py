"""Who may do what: the principal a credential stands for, scopes, and the one access decision."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Scopes a credential can carry. A route names the one it needs; `ingest:*` covers every
# source, `*` every scope (break-glass operator keys; listed by `c360 keys list`).
TIMELINE_READ = "timeline:read"
DESKTOP = "desktop"
ADMIN = "admin"
INGEST_ANY = "ingest:*"
ALL = "*"
METRICS = "metrics"
KNOWN_SCOPES = (TIMELINE_READ, DESKTOP, ADMIN, METRICS, INGEST_ANY, ALL)
_SCOPE = re.compile(r"^(timeline:read|desktop|admin|metrics|ingest:(\*|[a-z][a-z0-9_-]{0,31})|\*)$")
# Where web.access keeps a verified request's principal (a plain string, so handlers in the
# connectors layer can read it without importing web).
TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def ingest_scope(source: str) -> str:
    """The scope a credential needs to ingest `source` payloads."""
    return f"ingest:{source}"


def valid_scope(scope: str) -> bool:
    """True for a scope c360 knows (`ingest:<source>` for any source name)."""
    return bool(_SCOPE.match(scope))


class InvalidCredential(Exception):
    """A credential of a verifier's kind that does not verify (expired, revoked, forged);
    the message is safe to return and log (it never quotes the credential). Here, not in
    web.access, so the connectors' verifiers (ingest signatures) can raise it too."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified credential stands for. `subject` is a key id or an agent id: never a
    secret, never a customer identifier, so it may be logged and audited."""

    kind: str  # "api_key" | "agent" | "dev"
    subject: str
    tenant: str
    scopes: frozenset[str]

    def has(self, scope: str) -> bool:
        """True when this principal carries `scope` (directly or through a wildcard)."""
        if ALL in self.scopes or scope in self.scopes:
            return True
        return scope.startswith("ingest:") and INGEST_ANY in self.scopes


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one access check: status 0 = allowed, else 401 or 403 with a reason."""

    status: int
    reason: str = ""

    @property
    def allowed(self) -> bool:
        """True when the request may proceed."""
        return self.status == 0


ALLOWED = Decision(0)


def decide(principal: Principal | None, scope: str, tenant: str | None = None) -> Decision:
    """May `principal` use a route needing `scope`, for `tenant` when the request names one?

    No credential (or one that did not verify) is 401; a credential without the scope, or
    of another tenant than the one named, is 403. The tenant a request acts for is always
    the credential's: naming another one is refused, never honoured.
    """
    if principal is None:
        return Decision(401, "a credential is required")
    if not principal.has(scope):
        return Decision(403, f"this credential lacks the {scope} scope")
    if tenant is not None and tenant != principal.tenant:
        return Decision(403, "this credential is for another tenant")
    return ALLOWED
