"""Per-credential rate limits: the per-tenant configuration and the GCRA decision (pure)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Protocol

from core.access import TENANT


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`per_second` requests on average, `burst` at once."""

    per_second: float
    burst: int

    @property
    def interval_ms(self) -> float:
        """Emission interval: the time one request 'costs'."""
        return 1000.0 / self.per_second


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The limit of each tenant's credentials (`default` for tenants not named)."""

    default: RateLimit = RateLimit(50.0, 100)
    tenants: dict[str, RateLimit] = field(default_factory=dict)

    def of(self, tenant: str) -> RateLimit:
        """The limit every credential of `tenant` gets."""
        return self.tenants.get(tenant, self.default)


_ITEM = re.compile(r"^(?P<tenant>[^:]+):(?P<rate>\d+(\.\d+)?)/s(:(?P<burst>\d+))?$")


def parse_rate_limits(raw: str, default: RateLimit) -> RateLimits:
    """`tenant:rate/s[:burst]`, comma separated (`*` = the default); ValueError naming the
    entry when one does not parse. Burst defaults to twice the rate."""
    tenants: dict[str, RateLimit] = {}
    problems: list[str] = []
    for n, item in enumerate(filter(None, (p.strip() for p in raw.split(","))), start=1):
        m = _ITEM.match(item)
        if (
            m is None
            or float(m["rate"]) <= 0
            or (m["tenant"] != "*" and not TENANT.match(m["tenant"]))
        ):
            problems.append(f"entry #{n} is not tenant:rate/s[:burst] with rate > 0")
            continue
        rate = float(m["rate"])
        burst = int(m["burst"]) if m["burst"] else max(1, math.ceil(rate * 2))
        if burst < 1:
            problems.append(f"entry #{n}: burst must be >= 1")
            continue
        if m["tenant"] == "*":
            default = RateLimit(rate, burst)
        else:
            tenants[m["tenant"]] = RateLimit(rate, burst)
    if problems:
        raise ValueError("C360_RATE_LIMITS: " + "; ".join(problems))
    return RateLimits(default, tenants)


def gcra(tat_ms: float, now_ms: float, limit: RateLimit) -> tuple[bool, float, float]:
    """Generic cell rate algorithm: (allowed, new theoretical arrival time, retry after ms).

    A request is allowed while the theoretical arrival time is at most `burst` intervals
    ahead of now; the Redis adapter runs the same arithmetic in one script.
    """
    tat = max(tat_ms, now_ms)
    new_tat = tat + limit.interval_ms
    allow_at = new_tat - limit.burst * limit.interval_ms
    if now_ms < allow_at:
        return False, tat, allow_at - now_ms
    return True, new_tat, 0.0


class RateLimiter(Protocol):
    """Shared request budgets per credential (Redis; an in-memory twin for tests)."""

    async def acquire(self, credential: str, limit: RateLimit) -> float:
        """0.0 when the request may proceed, else the seconds to wait before retrying."""
