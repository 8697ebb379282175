"""Zendesk Support emulator: OAuth refresh-token grant at /oauth/tokens (rotating the refresh
token, as Zendesk does), Search API for users, users create_or_update/update, and tickets
(list by external_id, show, create, update); errors {"error","description","details"}."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

CLIENT_ID = "zd-client"
CLIENT_SECRET = "zd-secret"
FIRST_REFRESH_TOKEN = "zd-refresh-0"
_TERM = re.compile(r'(\w+):("[^"]*"|\S+)')


class ZendeskEmulator(Emulator):
    """Users live in `table("users")`, tickets in `table("tickets")`, with int ids."""

    vendor = "zendesk"
    token_paths = ("/oauth/tokens",)
    authorize_path = "/oauth/authorizations/new"
    oauth_client_id = CLIENT_ID
    oauth_client_secret = CLIENT_SECRET
    rotates_user_refresh = True  # the previous pair is deleted on refresh

    def __init__(self) -> None:
        super().__init__()
        self.refresh_token = FIRST_REFRESH_TOKEN

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/oauth/tokens", self.token),
            web.get(self.authorize_path, self.authorize),
            web.get("/api/v2/search.json", self.search),
            web.get("/api/v2/users/search", self.search_users),
            web.post("/api/v2/users/create_or_update", self.create_or_update_user),
            web.put("/api/v2/users/{id}", self.update_user),
            web.get("/api/v2/tickets", self.list_tickets),
            web.post("/api/v2/tickets", self.create_ticket),
            web.get("/api/v2/tickets/{id}", self.show_ticket),
            web.put("/api/v2/tickets/{id}", self.update_ticket),
        ]

    def env(self) -> dict[str, str]:
        return {"C360_CRM_ZENDESK_BASE_URL": self.url, "C360_CRM_ZENDESK_CLIENT_ID": CLIENT_ID,
                "C360_CRM_ZENDESK_CLIENT_SECRET": CLIENT_SECRET,
                "C360_CRM_ZENDESK_REFRESH_TOKEN": FIRST_REFRESH_TOKEN,
                "C360_CRM_ZENDESK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def error(self, status: int, message: str, *, code: str = "",
              details: dict[str, Any] | None = None) -> web.Response:
        if status == 401:
            return web.json_response({"error": "Couldn't authenticate you"}, status=401)
        code = code or {400: "InvalidValue", 404: "RecordNotFound", 422: "RecordInvalid",
                        429: "APIRateLimitExceeded"}.get(status, "InternalError")
        body: dict[str, Any] = {"error": code, "description": message}
        if details:
            body["details"] = details
        return web.json_response(body, status=status)

    def rate_limited(self, seconds: int) -> Fault:
        """Zendesk's 429 with Retry-After (seconds)."""
        return Fault(429, "Number of allowed API requests per minute exceeded",
                     headers={"Retry-After": str(seconds)})

    def seed_user(self, **fields: Any) -> str:
        """Store a user directly; returns its id."""
        ident = int(self.next_id())
        self.table("users")[str(ident)] = {"id": ident, "name": "Dana", "role": "end-user",
                                           **fields}
        return str(ident)

    async def token(self, request: web.Request) -> web.Response:
        params = await self.grant(request)
        user = self.user_grant(params)
        if user is not None:
            return user
        if not self.grant_ok(params, grant_type="refresh_token", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, refresh_token=self.refresh_token):
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "The provided refresh token is "
                                      "invalid"}, status=400)
        self.refresh_count += 1
        self.refresh_token = f"zd-refresh-{self.refresh_count}"  # the old pair is deleted
        return web.json_response({"access_token": self.issue_token(), "token_type": "bearer",
                                  "refresh_token": self.refresh_token, "expires_in": 172800,
                                  "refresh_token_expires_in": 7776000, "scope": "read write"})

    def user_token_body(self, access: str, refresh: str | None, user: str) -> dict[str, Any]:
        return {"access_token": access, "token_type": "bearer", "expires_in": 172800,
                "refresh_token": refresh, "refresh_token_expires_in": 7776000,
                "scope": "read write"}

    async def search(self, request: web.Request) -> web.Response:
        terms = {k: v.strip('"') for k, v in _TERM.findall(request.query.get("query", ""))}
        if terms.get("type") != "user":
            return self.error(400, "this emulator searches users only")
        hits = [u for u in self.table("users").values() if _user_matches(u, terms)]
        return web.json_response({"results": [{**u, "result_type": "user"} for u in hits],
                                  "count": len(hits), "next_page": None, "previous_page": None})

    async def search_users(self, request: web.Request) -> web.Response:
        """Search Users: `query` in the search syntax; quoted terms must each appear in the
        user's name or email (case-insensitive), or in the phone's digits."""
        query = request.query.get("query", "")
        if not query.strip():
            return self.error(400, "query is required")
        terms = [t.strip('"').lower() for t in re.findall(r'"[^"]*"|\S+', query)]
        per_page = int(request.query.get("per_page", "100"))
        hits = [u for u in self.table("users").values()
                if all(_user_has(u, t) for t in terms if t)]
        return web.json_response({"users": hits[:per_page], "count": len(hits),
                                  "next_page": None, "previous_page": None})

    async def create_or_update_user(self, request: web.Request) -> web.Response:
        user = (await request.json()).get("user") or {}
        for existing in self.table("users").values():
            if user.get("email") and existing.get("email") == user["email"]:
                existing.update(user)
                return web.json_response({"user": existing})
        if not user.get("name"):
            return self.error(422, "Record validation errors",
                              details={"name": [{"description": "Name: cannot be blank"}]})
        ident = self.seed_user(**user)
        return web.json_response({"user": self.table("users")[ident]}, status=201)

    async def update_user(self, request: web.Request) -> web.Response:
        user = self.table("users").get(request.match_info["id"])
        if user is None:
            return self.error(404, "Not found")
        user.update((await request.json()).get("user") or {})
        return web.json_response({"user": user})

    async def list_tickets(self, request: web.Request) -> web.Response:
        key = request.query.get("external_id")
        hits = [t for t in self.table("tickets").values()
                if key is None or t.get("external_id") == key]
        return web.json_response({"tickets": hits, "count": len(hits), "next_page": None})

    async def create_ticket(self, request: web.Request) -> web.Response:
        ticket = (await request.json()).get("ticket") or {}
        problem = self._invalid(ticket, creating=True)
        if problem:
            return problem
        ident = int(self.next_id())
        comment = ticket.pop("comment")
        # The submitter (and the first comment's author) is the authenticated user.
        comment.setdefault("author_id", self.owner_of(request))
        stored = {"id": ident, "status": "new", "requester_id": ticket.get("requester_id"),
                  "submitter_id": self.owner_of(request),
                  "description": comment["body"], "comments": [comment], **ticket}
        self.table("tickets")[str(ident)] = stored
        return web.json_response({"ticket": stored}, status=201)

    async def show_ticket(self, request: web.Request) -> web.Response:
        ticket = self.table("tickets").get(request.match_info["id"])
        if ticket is None:
            return self.error(404, "Not found")
        return web.json_response({"ticket": ticket})

    async def update_ticket(self, request: web.Request) -> web.Response:
        ticket = self.table("tickets").get(request.match_info["id"])
        if ticket is None:
            return self.error(404, "Not found")
        change = (await request.json()).get("ticket") or {}
        problem = self._invalid(change, creating=False)
        if problem:
            return problem
        if "comment" in change:
            ticket["comments"].append(change.pop("comment"))
        ticket.update(change)
        return web.json_response({"ticket": ticket})

    def _invalid(self, ticket: dict[str, Any], *, creating: bool) -> web.Response | None:
        comment = ticket.get("comment")
        if creating and not (isinstance(comment, dict) and comment.get("body")):
            return self.error(422, "Record validation errors", details={
                "description": [{"description": "Description: cannot be blank"}]})
        requester = ticket.get("requester_id")
        if requester is not None and str(requester) not in self.table("users"):
            return self.error(422, "Record validation errors", details={
                "requester": [{"description": "Requester is invalid"}]})
        return None


def _user_has(user: dict[str, Any], term: str) -> bool:
    text = f"{user.get('name') or ''} {user.get('email') or ''}".lower()
    digits = re.sub(r"\D", "", user.get("phone") or "")
    bare = re.sub(r"\D", "", term)
    return term in text or (len(bare) >= 5 and bare in digits)


def _user_matches(user: dict[str, Any], terms: dict[str, str]) -> bool:
    if "email" in terms and (user.get("email") or "").lower() != terms["email"].lower():
        return False
    if "phone" in terms:
        stored = re.sub(r"\D", "", user.get("phone") or "")
        wanted = terms["phone"]
        if wanted.startswith("*"):
            return bool(stored) and stored.endswith(wanted[1:])
        return stored == wanted
    return True
