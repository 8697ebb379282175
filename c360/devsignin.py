"""The dev stack's sign-in link: a demo agent's desktop token in the panel URL's fragment."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from connectors.gateway import auth
from connectors.gateway.settings import GatewayConfigError, GatewaySettings
from connectors.gateway.web import PANEL_PATH

DEMO_TENANT = "demo"  # the tenant c360.demo publishes to


@dataclass(frozen=True, slots=True)
class SignInLink:
    """A panel URL that opens signed in, and how long its token is valid."""

    url: str
    tenant: str
    agent: str
    ttl_seconds: int

    def validity(self) -> str:
        """'12 h', '90 min' or '75 s': the token's lifetime, for a human."""
        if self.ttl_seconds >= 3600 and self.ttl_seconds % 3600 == 0:
            return f"{self.ttl_seconds // 3600} h"
        if self.ttl_seconds >= 60:
            return f"{self.ttl_seconds // 60} min"
        return f"{self.ttl_seconds} s"


def signin_link(http_url: str, environ: Mapping[str, str], now: float) -> SignInLink | None:
    """A token for the first dev agent of the demo tenant, signed as the stack's gateway signs
    (`environ` is the stack's environment), in the URL fragment: browsers never send a
    fragment to the server, so the token stays out of access logs. None outside dev mode."""
    try:
        settings = GatewaySettings.from_env(environ)
    except GatewayConfigError:  # outside dev without a secret: no link to offer
        return None
    if not settings.dev:
        return None
    agent = settings.dev_agents[0]
    ttl = settings.token_ttl_seconds
    token = auth.issue(settings.secret, DEMO_TENANT, agent, now, ttl)
    return SignInLink(f"{http_url}{PANEL_PATH}#token={token}", DEMO_TENANT, agent, ttl)


def signin_lines(http_url: str, environ: Mapping[str, str], now: float | None = None) -> list[str]:
    """The banner's (and `c360 dev status`'s) sign-in lines; none outside dev mode."""
    link = signin_link(http_url, environ, time.time() if now is None else now)
    if link is None:
        return []
    return [
        f"  sign in        {link.url}",
        f"                 (opens the panel as {link.agent} of tenant {link.tenant}; valid"
        f" {link.validity()};",
        "                 `c360 dev status` prints a fresh link)",
    ]
