"""What the composition root hands the HTTP read API: identifier resolver, clock, tenant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from core.ports import Party

# The resolver turns "any format the normalizer accepts" into a Party. It is injected by the
# composition root (web.bootstrap) because normalization needs the deployment's settings
# (regions, pepper); it raises ValueError for input it cannot normalize.
Resolver = Callable[[str, str], Party]


@dataclass(frozen=True, slots=True)
class ReadApi:
    """What the read routes need from the composition root."""

    resolve: Resolver
    clock_ms: Callable[[], int]
    default_tenant: str
    default_limit: int = 50
