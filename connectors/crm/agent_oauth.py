"""Per-agent CRM identity: the OAuth 2.0 authorization-code flow (connect, callback,
disconnect) and the agent's own credential, refreshed and rotated in the token store."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from typing import NoReturn
from urllib.parse import urlencode

import aiohttp
import structlog

from connectors.crm.auth import EXPIRY_SKEW_SECONDS
from connectors.crm.errors import CrmAuthError, CrmUnavailable
from connectors.crm.http import HttpReply, excerpt, send
from core.crm.agent_auth import (
    AgentTokens,
    AgentTokenStore,
    InvalidState,
    PendingConnect,
    StateClaims,
    derive_key,
    new_nonce,
    pkce_pair,
    read_state,
    sign_state,
    tokens_from_grant,
)
from core.errors import StoreUnavailable
from infra.settings_crm_oauth import OAuthApp
from schemas.errors import C360Error

log = structlog.get_logger("c360.crm.agent_oauth")
TOKEN_TIMEOUT_SECONDS = 10.0


class ConnectFailed(C360Error):
    """A connect attempt that cannot complete (denied, bad state, token endpoint refused):
    the message is safe to show the agent (never a token, code or secret)."""


class AgentAuthorizationRevoked(CrmAuthError):
    """The CRM refused the agent's refresh token (invalid_grant: revoked, expired, the user
    deactivated): the stored tokens are dropped; writes fall back to the service account."""


def scheme_of(crm: str) -> str:
    """The Authorization scheme of a CRM's access tokens."""
    return "Zoho-oauthtoken" if crm == "zoho" else "Bearer"


def _token_form(app: OAuthApp, grant: Mapping[str, str]) -> dict[str, str]:
    form = {**grant, "client_id": app.client_id}
    if app.client_secret:
        form["client_secret"] = app.client_secret
    if app.crm == "dynamics365":  # the identity platform wants the scopes on every leg
        form["scope"] = app.scopes
    return form


def _refused(reply: HttpReply) -> str:
    body = reply.body if isinstance(reply.body, dict) else {}
    said = body.get("error_description") or body.get("error") or body.get("message") or ""
    return excerpt(f"HTTP {reply.status} {said}".strip(), 200)


class AgentOAuth:
    """The connect flow for every CRM with an OAuth app. `state` is HMAC-signed (binds
    nonce, tenant, agent, CRM, expiry); the nonce names a server-side attempt holding the
    PKCE verifier, taken once by the callback (a replay finds nothing)."""

    def __init__(
        self,
        apps: Mapping[str, OAuthApp],
        store: AgentTokenStore,
        secret: bytes,
        session: aiohttp.ClientSession | None = None,
        *,
        state_ttl_seconds: int = 600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.apps = dict(apps)
        self.store = store
        self._state_key = derive_key(secret, "crm-oauth-state")
        self._session = session
        self._ttl = state_ttl_seconds
        self._clock = clock

    def app(self, crm: str) -> OAuthApp | None:
        """The OAuth app of a CRM; None = per-agent identity is off for it."""
        return self.apps.get(crm)

    async def begin(self, tenant: str, agent: str, crm: str) -> str:
        """The vendor's authorize URL for this agent (the panel opens it in a window)."""
        app = self.apps[crm]
        nonce = new_nonce()
        verifier, challenge = pkce_pair() if app.pkce else (None, None)
        await self.store.begin(nonce, PendingConnect(tenant, agent, crm, verifier), self._ttl)
        state = sign_state(self._state_key, StateClaims(nonce, tenant, agent, crm,
                                                        self._clock() + self._ttl))
        query = {"response_type": "code", "client_id": app.client_id,
                 "redirect_uri": app.redirect_url, "state": state, **app.authorize_extra}
        if app.scopes:
            query["scope"] = app.scopes
        if challenge is not None:
            query["code_challenge"], query["code_challenge_method"] = challenge, "S256"
        joiner = "&" if "?" in app.authorize_url else "?"
        return f"{app.authorize_url}{joiner}{urlencode(query)}"

    async def complete(self, crm: str, code: str | None, state: str | None,
                       error: str | None = None) -> PendingConnect:
        """Verify the state, take the attempt, exchange the code and store the tokens;
        returns who connected. Raises ConnectFailed (shown to the agent as a 400 page)."""
        app = self.apps.get(crm)
        if app is None:
            raise ConnectFailed(f"per-agent sign-in is not configured for {crm}")
        if not state:
            raise ConnectFailed("the CRM sent no state: start again from the panel")
        try:
            claims = read_state(self._state_key, state, crm, self._clock())
        except InvalidState as exc:
            raise ConnectFailed(str(exc)) from None
        pending = await self.store.take(claims.nonce)
        if pending is None or (pending.tenant, pending.agent) != (claims.tenant, claims.agent):
            raise ConnectFailed("this sign-in link was already used or has expired: "
                                "start again from the panel")
        if error:
            raise ConnectFailed("access was not granted in the CRM"
                                if error == "access_denied" else
                                f"the CRM refused the sign-in ({excerpt(error, 80)})")
        if not code:
            raise ConnectFailed("the CRM sent no authorization code")
        grant = {"grant_type": "authorization_code", "code": code,
                 "redirect_uri": app.redirect_url}
        if pending.verifier:
            grant["code_verifier"] = pending.verifier
        reply = await self._post(app, grant)
        if reply.status != 200:
            log.warning("agent_crm_connect_refused", crm=crm, status=reply.status)
            raise ConnectFailed(f"the CRM refused the authorization code ({_refused(reply)})")
        try:
            tokens = tokens_from_grant(reply.body, self._clock())
        except ValueError as exc:
            raise ConnectFailed(str(exc)) from None
        await self.store.put(pending.tenant, pending.agent, crm, tokens)
        log.info("agent_crm_connected", tenant=pending.tenant, crm=crm,
                 refreshable=tokens.refresh_token is not None)
        return pending

    async def disconnect(self, tenant: str, agent: str, crm: str) -> bool:
        """Forget the agent's tokens (the vendor-side grant stays until the agent or an admin
        revokes it in the CRM)."""
        return await self.store.delete(tenant, agent, crm)

    async def connected_crms(self, tenant: str, agent: str) -> dict[str, bool]:
        """For every CRM with per-agent identity: has this agent connected it?"""
        have = await self.store.connected(tenant, agent)
        return {crm: crm in have for crm in sorted(self.apps)}

    async def _post(self, app: OAuthApp, grant: Mapping[str, str]) -> HttpReply:
        session = self._session
        if session is None:  # created lazily inside the serving loop
            session = self._session = aiohttp.ClientSession()
        try:
            return await send(session, "POST", app.token_url, crm=app.crm,
                              timeout_s=TOKEN_TIMEOUT_SECONDS, form=_token_form(app, grant),
                              headers={"Accept": "application/json"})
        except CrmUnavailable as exc:
            raise ConnectFailed(f"the CRM's token endpoint did not answer: {exc}") from None

    async def close(self) -> None:
        """Close the HTTP session (given or opened lazily: this object owns it)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class AgentCredential:
    """connectors.crm.auth.Credential speaking as one agent: the stored access token,
    refreshed (grant_type=refresh_token) before expiry and once on 401; the rotated set is
    written back to the store. A refused refresh drops the tokens and raises
    AgentAuthorizationRevoked."""

    def __init__(
        self,
        *,
        app: OAuthApp,
        store: AgentTokenStore,
        tenant: str,
        agent: str,
        tokens: AgentTokens,
        timeout: float = TOKEN_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app = app
        self._store = store
        self._tenant, self._agent = tenant, agent
        self.tokens = tokens
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        # The instance URL the token endpoint named (Salesforce, Zoho), else the settings'.
        self.base_url: str | None = tokens.instance_url


    async def headers(self, session: aiohttp.ClientSession) -> dict[str, str]:
        expires = self.tokens.expires_at
        if expires is not None and self._clock() >= expires - EXPIRY_SKEW_SECONDS:
            await self.refresh(session)
        return {"Authorization": f"{scheme_of(self._app.crm)} {self.tokens.access_token}"}

    async def refresh(self, session: aiohttp.ClientSession) -> bool:
        stale = self.tokens.access_token
        async with self._lock:
            if self.tokens.access_token != stale:
                return True  # another request refreshed while this one waited
            refresh = self.tokens.refresh_token
            if not refresh:
                await self._revoked("no refresh token was granted")
            reply = await send(session, "POST", self._app.token_url, crm=self._app.crm,
                               timeout_s=self._timeout,
                               form=_token_form(self._app, {"grant_type": "refresh_token",
                                                            "refresh_token": refresh or ""}),
                               headers={"Accept": "application/json"})
            if reply.status == 429 or reply.status >= 500:
                raise CrmUnavailable(f"{self._app.crm}: token endpoint HTTP {reply.status}",
                                     crm=self._app.crm, status=reply.status)
            try:
                if reply.status != 200:
                    raise ValueError(_refused(reply))
                tokens = tokens_from_grant(reply.body, self._clock(), self.tokens)
            except ValueError as exc:
                await self._revoked(str(exc))
            self.tokens, self.base_url = tokens, tokens.instance_url
            with self._store_errors():
                await self._store.put(self._tenant, self._agent, self._app.crm, tokens)
            log.info("agent_crm_token_refreshed", crm=self._app.crm,
                     rotated=tokens.refresh_token != refresh)
            return True

    @contextlib.contextmanager
    def _store_errors(self) -> Iterator[None]:
        # Inside a CRM write a store outage is transient like the CRM's own (the worker
        # pauses and retries), never a dead letter.
        try:
            yield
        except StoreUnavailable as exc:
            raise CrmUnavailable(f"{self._app.crm}: agent token store unavailable",
                                 crm=self._app.crm) from exc

    async def _revoked(self, why: str) -> NoReturn:
        with self._store_errors():
            await self._store.delete(self._tenant, self._agent, self._app.crm)
        log.warning("agent_crm_authorization_dropped", crm=self._app.crm, reason=why)
        raise AgentAuthorizationRevoked(f"{self._app.crm}: the agent's authorization was "
                                        f"refused ({why})", crm=self._app.crm, status=400)
