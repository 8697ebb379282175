"""Zoho CRM emulator: accounts-server refresh grant (/oauth/v2/token, api_domain), the
`Zoho-oauthtoken` header, Contacts search (email/phone params, 204 when empty) and upsert,
Calls/Tasks insert/update with a unique C360_Idempotency_Key (DUPLICATE_DATA), and Zoho's
error body {"code","details","message","status"} (per record inside {"data": [...]})."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

CLIENT_ID = "1000.ZOHOCLIENT"
CLIENT_SECRET = "zoho-secret"
REFRESH_TOKEN = "1000.zoho-refresh"
API = "/crm/v3"
KEY = "C360_Idempotency_Key"
PHONE_FIELDS = ("Phone", "Mobile", "Home_Phone", "Other_Phone")


class ZohoEmulator(Emulator):
    """Records live in `table("Contacts")`, `table("Calls")`, `table("Tasks")`."""

    vendor = "zoho"
    token_paths = ("/oauth/v2/token",)
    authorize_path = "/oauth/v2/auth"  # on the accounts server in production
    oauth_client_id = CLIENT_ID
    oauth_client_secret = CLIENT_SECRET

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/oauth/v2/token", self.token),
            web.get(self.authorize_path, self.authorize),
            web.get(f"{API}/Contacts/search", self.search_contacts),
            web.post(f"{API}/Contacts/upsert", self.upsert_contact),
            web.post(API + "/{module:Calls|Tasks}", self.insert),
            web.put(API + "/{module:Calls|Tasks|Contacts}/{id}", self.update),
        ]

    def env(self) -> dict[str, str]:
        return {"C360_CRM_ZOHO_BASE_URL": self.url, "C360_CRM_ZOHO_CLIENT_ID": CLIENT_ID,
                "C360_CRM_ZOHO_CLIENT_SECRET": CLIENT_SECRET,
                "C360_CRM_ZOHO_REFRESH_TOKEN": REFRESH_TOKEN,
                "C360_CRM_ZOHO_TOKEN_URL": f"{self.url}/oauth/v2/token",
                "C360_CRM_ZOHO_APP_URL": "https://crm.zoho.com/crm/org123",
                "C360_CRM_ZOHO_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def presented_token(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return header[16:] if header.startswith("Zoho-oauthtoken ") else None

    def user_token_body(self, access: str, refresh: str | None, user: str) -> dict[str, Any]:
        """Zoho: the refresh token comes with the code exchange only (access_type=offline)."""
        body = {"access_token": access, "api_domain": self.url, "token_type": "Bearer",
                "expires_in": 3600}
        return {**body, "refresh_token": refresh} if refresh else body

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        code = code or {400: "INVALID_DATA", 401: "INVALID_TOKEN",
                        429: "TOO_MANY_REQUESTS"}.get(status, "INTERNAL_ERROR")
        return web.json_response({"code": code, "details": {}, "message": message,
                                  "status": "error"}, status=status)

    def rate_limited(self) -> Fault:
        """Zoho's 429 TOO_MANY_REQUESTS (no Retry-After is documented)."""
        return Fault(429, "The concurrency limit has been exceeded")

    def next_id(self) -> str:
        return f"4876876000000{super().next_id():0>6}"

    def seed(self, module: str, fields: dict[str, Any]) -> str:
        """Store a record directly; returns its id."""
        ident = self.next_id()
        self.table(module)[ident] = {"id": ident, **fields}
        return ident

    async def token(self, request: web.Request) -> web.Response:
        params = {**request.query, **(await self.grant(request))}
        user = self.user_grant(params)
        if user is not None:
            return user
        if not self.grant_ok(params, grant_type="refresh_token", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN):
            return web.json_response({"error": "invalid_code"})  # Zoho answers 200 here
        self.refresh_count += 1
        return web.json_response({"access_token": self.issue_token(), "api_domain": self.url,
                                  "token_type": "Bearer", "expires_in": 3600})

    async def search_contacts(self, request: web.Request) -> web.Response:
        email, phone = request.query.get("email"), request.query.get("phone")
        word = request.query.get("word")
        if not email and not phone and not word:
            return self.error(400, "either criteria, email, phone or word is required",
                              code="REQUIRED_PARAM_MISSING")
        if word and re.search(r"(?<!\\)[(),]", word):
            return self.error(400, "invalid query formed", code="INVALID_QUERY")
        wanted = re.sub(r"\\(.)", r"\1", word or "").lower()
        hits = [r for r in self.table("Contacts").values()
                if (email and (r.get("Email") or "").lower() == email.lower())
                or (phone and any(r.get(f) == phone for f in PHONE_FIELDS))
                or (wanted and any(wanted in str(v or "").lower() for v in
                                   (f"{r.get('First_Name') or ''} {r.get('Last_Name') or ''}",
                                    r.get("Email"), *(r.get(f) for f in PHONE_FIELDS))))]
        hits = hits[: int(request.query.get("per_page", "200"))]
        if not hits:
            return web.Response(status=204)
        return web.json_response({"data": hits, "info": {"count": len(hits),
                                                         "more_records": False}})

    async def upsert_contact(self, request: web.Request) -> web.Response:
        body = await request.json()
        record = (body.get("data") or [{}])[0]
        checks = body.get("duplicate_check_fields") or ["Email"]
        for existing in self.table("Contacts").values():
            if any(record.get(f) and existing.get(f) == record[f] for f in checks):
                existing.update(record)
                return _ok(existing["id"], "update", "record updated")
        if not record.get("Last_Name"):
            return _record_error("MANDATORY_NOT_FOUND", "required field not found",
                                 {"api_name": "Last_Name", "json_path": "$.data[0].Last_Name"})
        return _ok(self.seed("Contacts", record), "insert", "record added", status=201)

    async def insert(self, request: web.Request) -> web.Response:
        module = request.match_info["module"]
        record = ((await request.json()).get("data") or [{}])[0]
        problem = self._invalid(module, record, creating=True)
        if problem:
            return problem
        for existing in self.table(module).values():
            if record.get(KEY) and existing.get(KEY) == record[KEY]:
                return _record_error("DUPLICATE_DATA", "duplicate data", {
                    "api_name": KEY, "json_path": f"$.data[0].{KEY}",
                    "duplicate_record": {"id": existing["id"],
                                         "module": {"api_name": module}}})
        # Owner defaults to the user the token speaks as.
        record = {**record, "Owner": {"id": self.owner_of(request)}}
        return _ok(self.seed(module, record), "insert", "record added", status=201)

    async def update(self, request: web.Request) -> web.Response:
        module, ident = request.match_info["module"], request.match_info["id"]
        existing = self.table(module).get(ident)
        if existing is None:
            return _record_error("INVALID_DATA", "the id given seems to be invalid",
                                 {"api_name": "id", "json_path": "$.data[0].id"})
        record = ((await request.json()).get("data") or [{}])[0]
        problem = self._invalid(module, {**existing, **record}, creating=False,
                                change=record)
        if problem:
            return problem
        existing.update(record)
        return _ok(ident, "update", "record updated")

    def _invalid(self, module: str, record: dict[str, Any], *, creating: bool,
                 change: dict[str, Any] | None = None) -> web.Response | None:
        def bad(field: str, message: str = "invalid data") -> web.Response:
            return _record_error("INVALID_DATA", message,
                                 {"api_name": field, "json_path": f"$.data[0].{field}"})
        if module in ("Calls", "Tasks") and not record.get("Subject"):
            return _record_error("MANDATORY_NOT_FOUND", "required field not found",
                                 {"api_name": "Subject", "json_path": "$.data[0].Subject"})
        if module == "Calls":
            if not creating and "Call_Type" in (change or {}):
                return bad("Call_Type", "You are trying to update the Call_Type")
            if record.get("Call_Type") not in ("Inbound", "Outbound", "Missed"):
                return bad("Call_Type")
            try:
                if datetime.fromisoformat(str(record.get("Call_Start_Time"))).tzinfo is None:
                    return bad("Call_Start_Time")
            except ValueError:
                return bad("Call_Start_Time")
            if record["Call_Type"] != "Missed" and not re.fullmatch(
                    r"\d+:\d{2}", str(record.get("Call_Duration", ""))):
                return bad("Call_Duration")
        if module == "Tasks" and record.get("Status") not in (
                None, "Not Started", "Deferred", "In Progress", "Completed",
                "Waiting for input"):
            return bad("Status")
        who = (record.get("Who_Id") or {}).get("id") if isinstance(record.get("Who_Id"),
                                                                   dict) else None
        if who and who not in self.table("Contacts"):
            return bad("Who_Id", "the related id given seems to be invalid")
        return None


def _ok(ident: str, action: str, message: str, status: int = 200) -> web.Response:
    return web.json_response({"data": [{"code": "SUCCESS", "details": {"id": ident},
                                        "message": message, "status": "success",
                                        "action": action}]}, status=status)


def _record_error(code: str, message: str, details: dict[str, Any]) -> web.Response:
    return web.json_response({"data": [{"code": code, "details": details, "message": message,
                                        "status": "error"}]}, status=400)
