"""An in-memory stand-in for the desktop routes the panel talks to (docs/desktop.md and the
issue-11 contract: /crms, /search, /link-crm-contact, /profiles, /crm/{crm}/connect), serving
the real panel files, so the panel's contact flows run in Chromium without the broker, Redis
or CRM emulators. `record` is an aiohttp middleware that logs every /v1/desktop request; it
works on the real app (web.app.create_app) as well."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.gateway.web import STATIC, panel
from schemas.canonical_json import to_json
from tests.gateway_helpers import pop

AGENT = "agent-a"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Call:
    """One request the panel made: method, path, query and JSON body (None without one)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any


def record(calls: list[Call]) -> Any:
    """A middleware appending each /v1/desktop request (the stream excepted) to `calls`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/desktop/") and request.path != "/v1/desktop/stream":
            raw = await request.read()
            body = json.loads(raw) if raw else None
            calls.append(Call(request.method, request.path, dict(request.query), body))
        return await handler(request)

    return middleware


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


def _words(*texts: str | None) -> list[str]:
    return [w for t in texts if t for w in re.split(r"[\s@.]+", t.lower()) if w]


def _matches(q: str, doc: dict[str, Any]) -> bool:
    """Name-word prefix, phone digits, email, or `name:value` / a bare attribute value."""
    q = q.strip().lower()
    attrs = {k: str(v).lower() for k, v in (doc.get("attributes") or {}).items()}
    name, _, value = q.partition(":")
    if value and name in attrs:
        return attrs[name] == value.strip()
    digits = re.sub(r"\D", "", q)
    if len(digits) >= 4 and any(digits in re.sub(r"\D", "", p) for p in doc.get("phones", [])):
        return True
    return (any(w.startswith(q) for w in _words(doc.get("display_name")))
            or q in [e.lower() for e in doc.get("emails", [])] or q in attrs.values())


@dataclass
class StandIn:
    """The contract routes on dicts. Seed `profiles` (c360 directory), `crm_contacts`,
    `crms`, `crm_errors` and `editable` before the panel asks; `pop(...)` sends a pop."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    crm_contacts: list[dict[str, Any]] = field(default_factory=list)
    crms: dict[str, Any] = field(default_factory=lambda: {"crms": [], "default": None,
                                                          "chosen": None, "connected": {}})
    crm_errors: list[dict[str, str]] = field(default_factory=list)
    editable: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""  # where it is served (set by the fixture)
    connect_route: bool = True  # False: /crm/{crm}/connect answers 404 (no per-agent OAuth)
    calls: list[Call] = field(default_factory=list)
    _log: list[str] = field(default_factory=list)  # the SSE data of each pop, in order
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _closing: bool = False

    def pop(self, **kw: Any) -> str:
        """Send a ScreenPopRequested (tests.gateway_helpers.pop arguments) to the agent's
        stream; returns its interaction id."""
        record_ = pop(AGENT, **kw)
        self._log.append(to_json(record_))
        self._wake.set()
        return record_.interaction_id

    def app(self) -> web.Application:
        app = web.Application(middlewares=[record(self.calls)])
        app.router.add_get("/desktop/", panel)
        app.router.add_static("/desktop/static", STATIC, append_version=False)
        r = app.router
        r.add_get("/v1/desktop/me", self.me)
        r.add_get("/v1/desktop/stream", self.stream)
        r.add_post("/v1/desktop/actions", self.actions)
        r.add_get("/v1/desktop/crms", self.get_crms)
        r.add_get("/v1/desktop/search", self.search)
        r.add_post("/v1/desktop/link-crm-contact", self.link_crm_contact)
        r.add_post("/v1/desktop/profiles", self.create_profile)
        r.add_get("/v1/desktop/profiles/{id}", self.get_profile)
        r.add_patch("/v1/desktop/profiles/{id}", self.patch_profile)
        r.add_get("/v1/desktop/crm/connections", self.connections)
        r.add_get("/v1/desktop/crm/{crm}/connect", self.connect)
        r.add_get("/standin/authorize", self.authorize)
        app.on_shutdown.append(self._close)
        return app

    async def _close(self, _app: web.Application) -> None:
        self._closing = True
        self._wake.set()

    # ---- the gateway's own routes ----------------------------------------------------------
    async def me(self, _request: web.Request) -> web.Response:
        return web.json_response({"tenant": "demo", "agent": AGENT, "expires_at": 4102444800,
                                  "dev": False, "fresh_seconds": 120})

    async def stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                           "Cache-Control": "no-cache"})
        await resp.prepare(request)
        await resp.write(b"retry: 2000\n: connected\n\n")
        last = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
        sent = int(last.split(":")[1]) + 1 if last else 0
        while not self._closing:
            while sent < len(self._log):
                await resp.write(f"id: 0:{sent}\nevent: pop\ndata: {self._log[sent]}\n\n".encode())
                sent += 1
            self._wake.clear()
            await self._wake.wait()
        return resp

    async def actions(self, request: web.Request) -> web.Response:
        body = await request.json()
        action = body.get("action")
        if action in ("open_profile", "relink"):
            self._relinked(body["interaction_id"], body["profile_id"])
        elif action == "choose_crm":
            if body.get("crm") not in self.crms["crms"]:
                return web.json_response({"error": "invalid_action",
                                          "detail": "crm: not configured"}, status=400)
            self.crms["chosen"] = body["crm"]
        return web.json_response({"event_id": str(uuid.uuid4()), "action": action}, status=202)

    def _relinked(self, iid: str, profile_id: str) -> None:
        """The streams worker's answer to a link: a fresh pop naming only that profile."""
        name = self.profiles.get(profile_id, {}).get("display_name") or profile_id
        self.pop(iid=iid, status="one", candidates=[(profile_id, name)], trigger="relink")

    # ---- the issue-11 contract ------------------------------------------------------------
    async def get_crms(self, _request: web.Request) -> web.Response:
        return web.json_response(self.crms)

    async def search(self, request: web.Request) -> web.Response:
        q = request.query.get("q", "")
        results = [{"source": "c360", "profile_id": pid, "crm": None, "crm_id": None,
                    "display_name": p["display_name"], "phones": p["phones"],
                    "emails": p["emails"], "attributes": p.get("attributes", {}),
                    "record_url": None}
                   for pid, p in self.profiles.items() if _matches(q, p)]
        results += [{"source": c["crm"], "profile_id": None, "crm": c["crm"],
                     "crm_id": c["crm_id"], "display_name": c["display_name"],
                     "phones": c["phones"], "emails": c["emails"], "attributes": {},
                     "record_url": c.get("record_url")}
                    for c in self.crm_contacts if _matches(q, c)]
        return web.json_response({"results": results, "errors": self.crm_errors})

    def _new_profile(self, doc: dict[str, Any], crm_ids: dict[str, str]) -> str:
        pid = f"p-{len(self.profiles) + 100}"
        self.profiles[pid] = {"display_name": doc.get("display_name"),
                              "phones": list(doc.get("phones") or []),
                              "emails": list(doc.get("emails") or []),
                              "attributes": dict(doc.get("attributes") or {}),
                              "crm_ids": crm_ids}
        return pid

    async def link_crm_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        crm, crm_id = body["crm"], body["crm_id"]
        pid = next((p for p, d in self.profiles.items() if d["crm_ids"].get(crm) == crm_id),
                   None) or self._new_profile(body, {crm: crm_id})
        self._relinked(body["interaction_id"], pid)
        return web.json_response({"profile_id": pid}, status=202)

    async def create_profile(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not body.get("display_name") and not body.get("phones") and not body.get("emails"):
            return web.json_response({"error": "invalid_profile", "problems": [
                "display_name: a name, a phone or an email is required"]}, status=422)
        crm_id = "c-new" if body.get("create_in_crm") else None
        pid = self._new_profile(body, {body["crm"]: crm_id} if crm_id else {})
        if body.get("interaction_id"):
            self._relinked(body["interaction_id"], pid)
        return web.json_response({"profile_id": pid, "crm_id": crm_id}, status=201)

    async def get_profile(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        if pid not in self.profiles:
            return web.json_response({"error": "not_found"}, status=404)
        p = self.profiles[pid]
        values = {"display_name": p["display_name"], "phones": p["phones"], **p["attributes"]}
        editable = [{**f, "value": values.get(f["name"])} for f in self.editable]
        return web.json_response({"profile_id": pid, **p, "editable": editable})

    async def patch_profile(self, request: web.Request) -> web.Response:
        pid = request.match_info["id"]
        body = await request.json()
        specs = {f["name"]: f for f in self.editable}
        changes = {**body.get("attributes", {})}
        changes.update({k: body[k] for k in ("display_name", "phones", "emails") if k in body})
        problems = [f"{name}: {why}" for name, value in changes.items()
                    if (why := _invalid(specs.get(name), value))]
        if problems:
            return web.json_response({"error": "invalid_profile", "problems": problems},
                                     status=422)
        p = self.profiles[pid]
        for name, value in changes.items():
            (p if name in ("display_name", "phones", "emails") else p["attributes"])[name] = value
        return web.json_response({"profile_id": pid, **p})

    async def connections(self, _request: web.Request) -> web.Response:
        return web.json_response({"connected": self.crms.get("connected", {})})

    async def connect(self, request: web.Request) -> web.Response:
        if not self.connect_route:
            raise web.HTTPNotFound()
        crm = request.match_info["crm"]
        base = f"{request.scheme}://{request.host}"
        return web.json_response({"authorize_url": f"{base}/standin/authorize?crm={crm}"})

    async def authorize(self, _request: web.Request) -> web.Response:
        return web.Response(text="<!doctype html><title>CRM sign-in</title><p>Sign in",
                            content_type="text/html")


def _invalid(spec: dict[str, Any] | None, value: Any) -> str | None:
    """Why `value` does not fit `spec` (the tenant schema's rules, simplified)."""
    if spec is None:
        return "not editable"
    if value is None:
        return "required" if spec.get("required") else None
    if spec.get("choices") and value not in spec["choices"]:
        return "must be one of " + ", ".join(spec["choices"])
    if spec["type"] == "number" and not isinstance(value, int | float):
        return "must be a number"
    if spec["type"] == "number" and value < 0:
        return "must not be negative"
    if spec["type"] == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(value)):
        return "must be a date YYYY-MM-DD"
    return None
