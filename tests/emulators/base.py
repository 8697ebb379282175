"""Machinery shared by the CRM emulators: an aiohttp app on 127.0.0.1 (free port), bearer
tokens that can be expired, scripted faults, a request log and in-memory records."""

from __future__ import annotations

import asyncio
import itertools
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

# Adapters under test get a short timeout; a timeout fault sleeps longer than it. Generous
# margins: on a loaded 2-core CI box a normal answer must never look like a timeout.
TIMEOUT_SECONDS = 1.5
FAULT_DELAY_SECONDS = 3.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


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

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str]] = []
        self.tokens: set[str] = set()
        self.refresh_count = 0
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self._ids = itertools.count(1001)
        self.url = ""
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

    def issue_token(self) -> str:
        """A new valid access token (what the token endpoint hands out)."""
        token = secrets.token_hex(8)
        self.tokens.add(token)
        return token

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
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        return web.json_response({"message": message}, status=status)

    # -- plumbing --------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if request.path in self.token_paths:
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
        return await handler(request)
