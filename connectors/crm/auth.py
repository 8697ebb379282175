"""Credentials per CRM (static token, OAuth2 refresh-token and client-credentials grants) and
VendorHttp: an authorized request that refreshes once on 401."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

import aiohttp

from connectors.crm.errors import CrmAuthError, CrmUnavailable
from connectors.crm.http import ErrorSpeech, HttpReply, Unauthorized, excerpt, raise_for, send

# Refresh a little before the advertised expiry so a request never leaves with a token that
# dies in flight (HubSpot: "401 is not a valid indicator that a new token must be retrieved").
EXPIRY_SKEW_SECONDS = 60.0


class Credential(Protocol):
    """Produces the auth headers of a request; `refresh` returns False when it cannot."""

    base_url: str | None  # a base URL the token endpoint handed out (Salesforce instance_url)

    async def headers(self, session: aiohttp.ClientSession) -> dict[str, str]: ...

    async def refresh(self, session: aiohttp.ClientSession) -> bool: ...


class StaticCredential:
    """A fixed header (private-app bearer token, Zendesk email/token basic auth)."""

    base_url: str | None = None

    def __init__(self, name: str, value: str) -> None:
        self._header = {name: value}

    async def headers(self, session: aiohttp.ClientSession) -> dict[str, str]:
        return dict(self._header)

    async def refresh(self, session: aiohttp.ClientSession) -> bool:
        return False


class OAuthCredential:
    """An OAuth2 access token obtained from `token_url` with the `grant` form (refresh_token or
    client_credentials), renewed before expiry and once on 401; a rotated refresh token in the
    response replaces the old one (Zendesk deletes the previous pair on refresh)."""

    def __init__(
        self,
        *,
        crm: str,
        token_url: str,
        grant: Mapping[str, str],
        scheme: str = "Bearer",
        access_token: str | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._crm = crm
        self._token_url = token_url
        self._grant = dict(grant)
        self._scheme = scheme
        self._access = access_token
        self._expires_at = float("inf") if access_token else 0.0
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self.base_url: str | None = None

    async def headers(self, session: aiohttp.ClientSession) -> dict[str, str]:
        if self._access is None or self._clock() >= self._expires_at:
            await self.refresh(session)
        return {"Authorization": f"{self._scheme} {self._access}"}

    async def refresh(self, session: aiohttp.ClientSession) -> bool:
        stale = self._access
        async with self._lock:
            if self._access != stale and self._clock() < self._expires_at:
                return True  # another request refreshed while this one waited
            reply = await send(session, "POST", self._token_url, crm=self._crm,
                               timeout_s=self._timeout, form=self._grant,
                               headers={"Accept": "application/json"})
            self._accept(reply)
            return True

    def _accept(self, reply: HttpReply) -> None:
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status == 429 or reply.status >= 500:
            raise CrmUnavailable(f"{self._crm}: token endpoint HTTP {reply.status}",
                                 crm=self._crm, status=reply.status)
        token = body.get("access_token")
        if reply.status != 200 or not isinstance(token, str):
            said = excerpt(str(body.get("error_description") or body.get("error") or ""))
            raise CrmAuthError(f"{self._crm}: token refresh refused (HTTP {reply.status}) {said}",
                               crm=self._crm, status=reply.status)
        self._access = token
        expires_in = body.get("expires_in")
        ttl = float(expires_in) if isinstance(expires_in, int | float | str) and str(
            expires_in).replace(".", "", 1).isdigit() else 3600.0
        self._expires_at = self._clock() + max(0.0, ttl - EXPIRY_SKEW_SECONDS)
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and "refresh_token" in self._grant:
            self._grant["refresh_token"] = rotated
        instance = body.get("instance_url") or body.get("api_domain")  # Salesforce / Zoho
        if isinstance(instance, str) and instance:
            self.base_url = instance.rstrip("/")


class VendorHttp:
    """Requests to one CRM: base URL + credential + the vendor's error speech + timeout."""

    def __init__(
        self,
        *,
        crm: str,
        session: aiohttp.ClientSession,
        base_url: str,
        credential: Credential,
        speech: ErrorSpeech,
        timeout: float,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.crm = crm
        self._session = session
        self._base = base_url.rstrip("/")
        self._credential = credential
        self._speech = speech
        self._timeout = timeout
        self._extra = dict(extra_headers or {})

    @property
    def base_url(self) -> str:
        """The instance URL a token endpoint returned, else the configured one."""
        return self._credential.base_url or self._base

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        stale_on_404: bool = False,
        accept: Collection[int] = (),
    ) -> HttpReply:
        """Send with auth; on 401 refresh once and resend; a second 401 (or no way to
        refresh) raises CrmAuthError. Other statuses are judged by `raise_for`."""
        for attempt in (1, 2):
            auth = await self._credential.headers(self._session)
            reply = await send(
                self._session, method, self.base_url + path, crm=self.crm,
                timeout_s=self._timeout, params=params, json_body=json_body,
                headers={"Accept": "application/json", **self._extra, **(headers or {}), **auth},
            )
            try:
                raise_for(reply, crm=self.crm, speech=self._speech,
                          stale_on_404=stale_on_404, accept=accept)
            except Unauthorized as exc:
                if attempt == 1 and await self._credential.refresh(self._session):
                    continue
                raise CrmAuthError(str(exc), crm=self.crm, status=401) from exc
            return reply
        raise AssertionError("unreachable")  # pragma: no cover
