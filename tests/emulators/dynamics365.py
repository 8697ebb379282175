"""Dynamics 365 (Dataverse Web API v9.2) emulator: Microsoft identity platform client
credentials grant (/{tenant}/oauth2/v2.0/token), contacts query ($filter eq/or, $select,
$top), create/update with Prefer: return=representation and If-Match, phonecall/task upsert
by the c360_idempotencykey alternate key, OData-EntityId, errors {"error":{"code","message"}}."""

from __future__ import annotations

import re
import uuid
from typing import Any

from aiohttp import web

from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

TENANT = "contoso-tenant"
CLIENT_ID = "d365-app"
CLIENT_SECRET = "d365-secret"
API = "/api/data/v9.2"
KEY = "c360_idempotencykey"
NOT_FOUND = "0x80040217"
COLUMNS = {
    "contacts": {"firstname", "lastname", "emailaddress1", "telephone1", "telephone2",
                 "mobilephone"},
    "phonecalls": {"subject", "description", "phonenumber", "directioncode",
                   "actualdurationminutes", "actualstart", "actualend", KEY,
                   "regardingobjectid_contact_phonecall@odata.bind"},
    "tasks": {"subject", "description", "actualdurationminutes", "actualstart", "actualend",
              KEY, "regardingobjectid_contact_task@odata.bind"},
}
PRIMARY = {"contacts": "contactid", "phonecalls": "activityid", "tasks": "activityid"}
_CLAUSE = re.compile(r"(\w+) eq '((?:[^']|'')*)'")
_CONTAINS = re.compile(r"(contains|startswith)\((\w+),'((?:[^']|'')*)'\)")
SEARCHABLE = COLUMNS["contacts"] | {"fullname"}
_SET = r"{set:contacts|phonecalls|tasks}"


def _split_or(text: str) -> list[str]:
    """The clauses of a $filter joined by ` or ` (outside string literals)."""
    parts, current, quoted = [], "", False
    i = 0
    while i < len(text):
        if text[i] == "'":
            quoted = not quoted
        if not quoted and text.startswith(" or ", i):
            parts.append(current.strip())
            current, i = "", i + 4
            continue
        current += text[i]
        i += 1
    return [p for p in [*parts, current.strip()] if p]


def _holds(row: dict[str, Any], op: str, column: str, value: str) -> bool:
    """eq is exact; contains/startswith are case-insensitive (Dataverse string filters);
    fullname is firstname + " " + lastname."""
    stored = (f"{row.get('firstname') or ''} {row.get('lastname') or ''}".strip()
              if column == "fullname" else row.get(column))
    if op == "eq":
        return stored == value
    text = str(stored or "").lower()
    return text.startswith(value.lower()) if op == "startswith" else value.lower() in text


class Dynamics365Emulator(Emulator):
    """Rows live in `table(<entity set>)` keyed by their GUID."""

    vendor = "dynamics365"
    write_method = "PATCH"  # upsert by external id / alternate key
    token_paths = (f"/{TENANT}/oauth2/v2.0/token",)
    authorize_path = f"/{TENANT}/oauth2/v2.0/authorize"
    oauth_client_id = CLIENT_ID
    oauth_client_secret = CLIENT_SECRET
    rotates_user_refresh = True  # the identity platform hands out a new refresh token

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"/{TENANT}/oauth2/v2.0/token", self.token),
            web.get(self.authorize_path, self.authorize),
            web.get(f"{API}/contacts", self.query),
            web.post(f"{API}/contacts", self.create_contact),
            web.patch(API + "/" + _SET + "({key})", self.patch),
        ]

    def env(self) -> dict[str, str]:
        return {"C360_CRM_DYNAMICS365_BASE_URL": self.url,
                "C360_CRM_DYNAMICS365_CLIENT_ID": CLIENT_ID,
                "C360_CRM_DYNAMICS365_CLIENT_SECRET": CLIENT_SECRET,
                "C360_CRM_DYNAMICS365_TENANT_ID": TENANT,
                "C360_CRM_DYNAMICS365_TOKEN_URL": f"{self.url}/{TENANT}/oauth2/v2.0/token",
                "C360_CRM_DYNAMICS365_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        code = code or {404: NOT_FOUND, 429: "0x80072322"}.get(status, "0x0")
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def rate_limited(self, seconds: int) -> Fault:
        """A service protection limit: 429 with Retry-After."""
        return Fault(429, "Number of requests exceeded the limit of 6000 over time window "
                     "of 300 seconds.", headers={"Retry-After": str(seconds)})

    def seed(self, entity_set: str, columns: dict[str, Any]) -> str:
        """Store a row directly; returns its GUID."""
        ident = str(uuid.uuid4())
        self.table(entity_set)[ident] = {PRIMARY[entity_set]: ident, **columns}
        return ident

    async def token(self, request: web.Request) -> web.Response:
        params = await self.grant(request)
        user = self.user_grant(params)
        if user is not None:
            return user
        if not self.grant_ok(params, grant_type="client_credentials", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, scope=f"{self.url}/.default"):
            return web.json_response({"error": "invalid_client",
                                      "error_description": "AADSTS7000215: Invalid client "
                                      "secret provided."}, status=401)
        self.refresh_count += 1
        return web.json_response({"token_type": "Bearer", "expires_in": 3599,
                                  "ext_expires_in": 3599, "access_token": self.issue_token()})

    def user_token_body(self, access: str, refresh: str | None, user: str) -> dict[str, Any]:
        body = {"token_type": "Bearer", "scope": f"{self.url}/user_impersonation",
                "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}
        return {**body, "refresh_token": refresh} if refresh else body

    async def query(self, request: web.Request) -> web.Response:
        text = request.query.get("$filter", "")
        parts = _split_or(text)
        wanted: list[tuple[str, str, str]] = []
        for part in parts:
            eq, fn = _CLAUSE.fullmatch(part), _CONTAINS.fullmatch(part)
            if eq is None and fn is None:
                return self.error(400, "Syntax error in $filter", code="0x80060888")
            op, column, value = ("eq", eq[1], eq[2]) if eq else (fn[1], fn[2], fn[3])  # type: ignore[index]
            wanted.append((op, column, value.replace("''", "'")))
        if not wanted:
            return self.error(400, "Syntax error in $filter", code="0x80060888")
        for _, column, _ in wanted:
            if column not in SEARCHABLE:
                return self.error(400, f"Could not find a property named '{column}' on type "
                                  "'Microsoft.Dynamics.CRM.contact'.")
        rows = [r for r in self.table("contacts").values()
                if any(_holds(r, op, col, value) for op, col, value in wanted)]
        rows = rows[: int(request.query.get("$top", "5000"))]
        select = request.query.get("$select")
        if select:
            rows = [{k: r.get(k) for k in select.split(",")} for r in rows]
        return web.json_response({"@odata.context": f"{self.url}{API}/$metadata#contacts",
                                  "value": rows})

    async def create_contact(self, request: web.Request) -> web.Response:
        columns = await request.json()
        problem = self._invalid("contacts", columns)
        if problem:
            return problem
        ident = self.seed("contacts", columns)
        return self._answer("contacts", ident, 201, request)

    async def patch(self, request: web.Request) -> web.Response:
        entity_set, key = request.match_info["set"], request.match_info["key"]
        columns = await request.json()
        problem = self._invalid(entity_set, columns)
        if problem:
            return problem
        ident = self._locate(entity_set, key)
        if ident is None:
            if request.headers.get("If-Match") == "*" or not key.startswith(f"{KEY}="):
                return self.error(404, f"{entity_set[:-1]} With Id = {key} Does Not Exist")
            value = key[len(KEY) + 1:].strip("'").replace("''", "'")
            # ownerid defaults to the calling user (the impersonated one, per-agent).
            ident = self.seed(entity_set, {**columns, KEY: value,
                                           "_ownerid_value": self.owner_of(request)})
            return self._answer(entity_set, ident, 201, request)
        self.table(entity_set)[ident].update(columns)
        return self._answer(entity_set, ident, 200, request)

    def _locate(self, entity_set: str, key: str) -> str | None:
        if key.startswith(f"{KEY}="):
            value = key[len(KEY) + 1:]
            if not (value.startswith("'") and value.endswith("'")):
                return None
            value = value[1:-1].replace("''", "'")
            return next((i for i, r in self.table(entity_set).items() if r.get(KEY) == value),
                        None)
        return key if key in self.table(entity_set) else None

    def _answer(self, entity_set: str, ident: str, status: int,
                request: web.Request) -> web.Response:
        headers = {"OData-EntityId": f"{self.url}{API}/{entity_set}({ident})"}
        if "return=representation" in request.headers.get("Prefer", ""):
            return web.json_response(self.table(entity_set)[ident], status=status,
                                     headers=headers)
        return web.Response(status=204, headers=headers)

    def _invalid(self, entity_set: str, columns: dict[str, Any]) -> web.Response | None:
        for name in columns:
            if name not in COLUMNS[entity_set]:
                return self.error(400, f"Could not find a property named '{name}' on type "
                                  f"'Microsoft.Dynamics.CRM.{entity_set[:-1]}'.")
        if len(str(columns.get("subject", ""))) > 200:
            return self.error(400, "A validation error occurred. The length of the 'subject' "
                              "attribute exceeded the maximum allowed length of '200'.",
                              code="0x80044331")
        if "directioncode" in columns and not isinstance(columns["directioncode"], bool):
            return self.error(400, "Cannot convert the literal to the expected type "
                              "'Edm.Boolean'.")
        minutes = columns.get("actualdurationminutes", 0)
        if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
            return self.error(400, "Cannot convert actualdurationminutes to 'Edm.Int32'.")
        for name, value in columns.items():
            if name.endswith("@odata.bind"):
                match = re.fullmatch(r"/contacts\(([0-9a-f-]{36})\)", str(value))
                if match is None:
                    return self.error(400, f"Malformed bind: {value}")
                if match[1] not in self.table("contacts"):
                    return self.error(404, f"contact With Id = {match[1]} Does Not Exist")
        return None
