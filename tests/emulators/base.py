"""Machinery shared by the CRM emulators: an aiohttp app on 127.0.0.1 (free port), bearer
tokens that can be expired, scripted faults, a request log and in-memory records."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

# Adapters under test get a short timeout; a timeout fault sleeps longer than it. Generous
# margins: on a loaded 2-core CI box a normal answer must never look like a timeout.
TIMEOUT_SECONDS = 1.5
FAULT_DELAY_SECONDS = 3.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Who the tenant's service credentials (refresh token / client credentials) speak as.
SERVICE_USER = "service-user"


@dataclass
class Fault:
    """One scripted misbehaviour for the next API request (token endpoints excluded):
    answer `status` with `body`/`headers` (the vendor's error shape when body is None),
    after sleeping `delay` seconds (a delay alone, status 0, simulates a timeout)."""

    status: int = 0
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    after: bool = False  # delay after the handler ran: the write happened, the answer is late
    method: str | None = None  # only a request with this method takes the fault
    path: str | None = None  # ... and whose path matches this regex


class Emulator:
    """Subclasses add routes in `routes()`, say which paths are token endpoints, how a
    request proves auth (`authorized`), and how the vendor spells an error (`error`)."""

    vendor = "base"
    token_paths: tuple[str, ...] = ()
    write_method = "POST"  # how this vendor's adapter creates an activity ...
    write_path = r""  # ... on which path (regex)
    # Per-agent OAuth (authorization-code grant): where the consent page is, the app's
    # credentials, and whether a refresh hands out a new refresh token (Zendesk, Microsoft).
    authorize_path = ""
    oauth_client_id = ""
    oauth_client_secret = ""
    rotates_user_refresh = False

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.refresh_count = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self._ids = itertools.count(1001)
        self.url = ""
        # Per-agent OAuth: who consents at the authorize page (or deny_consent), the codes
        # handed out, users' refresh tokens, each access token's user, and who made each
        # authorized API call (method, path, user).
        self.consent_user = "user-1"
        self.deny_consent = False
        self.codes: dict[str, dict[str, str]] = {}
        self.user_refresh: dict[str, str] = {}
        self.token_owner: dict[str, str] = {}
        self.user_refresh_count = 0
        self.callers: list[tuple[str, str, str]] = []
        self._runner: web.AppRunner | None = None
        self.app = web.Application(middlewares=[self._middleware])
        self.app.add_routes(self.routes())

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1 on a free port; returns the base URL."""
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        """Stop serving (pending slow handlers are cancelled)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- test controls ---------------------------------------------------------------------
    def fail_next(self, *faults: Fault) -> None:
        """Queue faults for the next API requests, in order."""
        self.faults.extend(faults)

    def issue_token(self, owner: str = SERVICE_USER) -> str:
        """A new valid access token (what the token endpoint hands out) speaking as `owner`."""
        token = secrets.token_hex(8)
        self.tokens.add(token)
        self.token_owner[token] = owner
        return token

    def revoke_user(self, user: str) -> None:
        """The user (or an admin) revoked the app: their refresh and access tokens die."""
        self.user_refresh = {t: u for t, u in self.user_refresh.items() if u != user}
        for token, owner in list(self.token_owner.items()):
            if owner == user:
                self.tokens.discard(token)

    def presented_token(self, request: web.Request) -> str | None:
        """The access token a request carries (vendors differ in the scheme)."""
        header = request.headers.get("Authorization", "")
        return header[7:] if header.startswith("Bearer ") else None

    def owner_of(self, request: web.Request) -> str:
        """The user the request's access token speaks as (records created get this owner)."""
        return self.token_owner.get(self.presented_token(request) or "", SERVICE_USER)

    def expire_tokens(self) -> None:
        """Every access token issued so far now gets 401 (a refresh cures it)."""
        self.tokens.clear()

    def next_id(self) -> str:
        """A fresh record id (vendors differ; subclasses may reformat it)."""
        return str(next(self._ids))

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        """The in-memory records of one object type, by id."""
        return self.records.setdefault(name, {})

    @staticmethod
    async def grant(request: web.Request) -> dict[str, str]:
        """The token request's parameters, form-encoded or JSON."""
        if request.content_type == "application/json":
            return {k: str(v) for k, v in (await request.json()).items()}
        return {k: str(v) for k, v in (await request.post()).items()}

    @staticmethod
    def grant_ok(params: dict[str, str], **expected: str) -> bool:
        """True when every expected token-request parameter has its expected value."""
        return all(params.get(k) == v for k, v in expected.items())

    def timeout_fault(self, *, after_write: bool = False) -> Fault:
        """A request that outlives the adapter timeout (after_write: it was processed, only
        the answer is lost)."""
        return Fault(delay=FAULT_DELAY_SECONDS, after=after_write,
                     method=self.write_method if after_write else None,
                     path=self.write_path if after_write else None)

    # -- to override -----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """C360_CRM_<VENDOR>_* settings pointing an adapter at this emulator (OAuth)."""
        return {}

    def routes(self) -> list[web.RouteDef]:
        return []

    def authorized(self, request: web.Request) -> bool:
        return self.presented_token(request) in self.tokens

    # -- per-agent OAuth (RFC 6749 4.1 + RFC 7636) ----------------------------------------
    async def authorize(self, request: web.Request) -> web.Response:
        """The consent page, auto-answered: 302 to redirect_uri with code+state (or
        error=access_denied when `deny_consent`); 400 for a request the vendor refuses."""
        q = request.query
        redirect = q.get("redirect_uri", "")
        if q.get("response_type") != "code" or q.get("client_id") != self.oauth_client_id \
                or not redirect.startswith(("http://", "https://")):
            return web.Response(status=400, text="invalid authorization request")
        back = {"state": q["state"]} if "state" in q else {}
        if self.deny_consent:
            raise web.HTTPFound(f"{redirect}?{urlencode({'error': 'access_denied', **back})}")
        code = secrets.token_urlsafe(12)
        self.codes[code] = {"redirect_uri": redirect, "user": self.consent_user,
                            "challenge": q.get("code_challenge", ""),
                            "method": q.get("code_challenge_method", "plain")}
        raise web.HTTPFound(f"{redirect}?{urlencode({'code': code, **back})}")

    def user_grant(self, params: dict[str, str]) -> web.Response | None:
        """The authorization_code grant, and refresh_token for a user's refresh token;
        None when the request is for the service grant (the vendor handler answers it)."""
        kind = params.get("grant_type")
        if kind == "refresh_token" and params.get("refresh_token") in self.user_refresh:
            if not self.grant_ok(params, client_id=self.oauth_client_id,
                                 client_secret=self.oauth_client_secret):
                return self.grant_error("invalid_client", "client authentication failed")
            old = params["refresh_token"]
            user = self.user_refresh[old]
            new = None
            if self.rotates_user_refresh:
                del self.user_refresh[old]
                new = self._new_refresh(user)
            self.user_refresh_count += 1
            return web.json_response(self.user_token_body(self.issue_token(user), new, user))
        if kind != "authorization_code":
            return None
        code = self.codes.pop(params.get("code", ""), None)  # single use
        if code is None or params.get("redirect_uri") != code["redirect_uri"]:
            return self.grant_error("invalid_grant", "authorization code invalid or used")
        if not self.grant_ok(params, client_id=self.oauth_client_id,
                             client_secret=self.oauth_client_secret):
            return self.grant_error("invalid_client", "client authentication failed")
        if code["challenge"] and not _pkce_ok(code, params.get("code_verifier", "")):
            return self.grant_error("invalid_grant", "PKCE verification failed")
        user = code["user"]
        return web.json_response(self.user_token_body(self.issue_token(user),
                                                      self._new_refresh(user), user))

    def _new_refresh(self, user: str) -> str:
        token = secrets.token_hex(8)
        self.user_refresh[token] = user
        return token

    def user_token_body(self, access: str, refresh: str | None, user: str) -> dict[str, Any]:
        """A token answer to a user grant (vendors override the shape)."""
        body: dict[str, Any] = {"access_token": access, "token_type": "bearer",
                                "expires_in": 1800}
        if refresh:
            body["refresh_token"] = refresh
        return body

    def grant_error(self, error: str, description: str) -> web.Response:
        """RFC 6749 5.2 error answer."""
        return web.json_response({"error": error, "error_description": description},
                                 status=400 if error != "invalid_client" else 401)

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        return web.json_response({"message": message}, status=status)

    # -- plumbing --------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.path in self.token_paths or request.path == (self.authorize_path or None):
            return await handler(request)
        index = next((i for i, f in enumerate(self.faults) if f.method in (None, request.method)
                      and (f.path is None or re.search(f.path, request.path))), None)
        if index is not None:
            fault = self.faults.pop(index)
            if fault.after:
                response = await self._authorized_call(request, handler)
                await asyncio.sleep(fault.delay)
                return response
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status:
                if fault.body is not None:
                    return web.json_response(fault.body, status=fault.status,
                                             headers=fault.headers)
                response = self.error(fault.status, fault.message or "scripted fault")
                response.headers.update(fault.headers)
                return response
        return await self._authorized_call(request, handler)

    async def _authorized_call(self, request: web.Request,
                               handler: Handler) -> web.StreamResponse:
        if not self.authorized(request):
            return self.error(401, "authentication failed", code="unauthorized")
        self.callers.append((request.method, request.path, self.owner_of(request)))
        return await handler(request)


def _pkce_ok(code: dict[str, str], verifier: str) -> bool:
    if code["method"] == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code["challenge"]
    return verifier == code["challenge"]
