"""Salesforce emulator: OAuth token endpoint (refresh_token grant, instance_url), SOQL query
of Contact (the WHERE forms the adapter sends), sObject create/update, and Task upsert by an
External ID field; errors are Salesforce's JSON array [{"message","errorCode","fields"}]."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

CLIENT_ID = "sf-consumer-key"
CLIENT_SECRET = "sf-consumer-secret"
REFRESH_TOKEN = "sf-refresh"
VERSION = "v60.0"
EXT = "C360_Idempotency_Key__c"
API = f"/services/data/{VERSION}"
BAD_TYPE = "INVALID_TYPE_ON_FIELD_IN_RECORD"
PREFIX = {"Contact": "003", "Task": "00T"}
TASK_FIELDS = {"Subject", "Description", "ActivityDate", "Status", "Priority", "TaskSubtype",
               "CallType", "CallDurationInSeconds", "CallObject", "CallDisposition", "WhoId",
               EXT}
CONTACT_FIELDS = {"FirstName", "LastName", "Email", "Phone", "MobilePhone"}
PICKLISTS = {
    "Status": {"Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"},
    "Priority": {"High", "Normal", "Low"},
    "CallType": {"Internal", "Inbound", "Outbound"},
    "TaskSubtype": {"Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"},
}
_QUERY = re.compile(r"SELECT (?P<fields>[\w, ]+) FROM (?P<obj>\w+) WHERE (?P<where>.+?)"
                    r"(?: LIMIT (?P<limit>\d+))?$")
_LIT = r"'(?:[^'\\]|\\.)*'"
_COND = re.compile(rf"(\w+) (=|IN) (\({_LIT}(?:, {_LIT})*\)|{_LIT})")


class SalesforceEmulator(Emulator):
    """Records live in `table("Contact")` / `table("Task")` as field dicts with "Id"."""

    vendor = "salesforce"
    write_method = "PATCH"  # upsert by external id / alternate key
    token_paths = ("/services/oauth2/token",)
    authorize_path = "/services/oauth2/authorize"
    oauth_client_id = CLIENT_ID
    oauth_client_secret = CLIENT_SECRET

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/services/oauth2/token", self.token),
            web.get(self.authorize_path, self.authorize),
            web.get(f"{API}/query", self.query),
            web.get(f"{API}/search", self.search),
            web.post(f"{API}/sobjects/{{obj}}", self.create),
            web.patch(f"{API}/sobjects/{{obj}}/{EXT}/{{key}}", self.upsert),
            web.get(f"{API}/sobjects/{{obj}}/{EXT}/{{key}}", self.read_by_key),
            web.patch(f"{API}/sobjects/{{obj}}/{{id}}", self.update),
        ]

    def env(self) -> dict[str, str]:
        return {"C360_CRM_SALESFORCE_BASE_URL": self.url,
                "C360_CRM_SALESFORCE_CLIENT_ID": CLIENT_ID,
                "C360_CRM_SALESFORCE_CLIENT_SECRET": CLIENT_SECRET,
                "C360_CRM_SALESFORCE_REFRESH_TOKEN": REFRESH_TOKEN,
                "C360_CRM_SALESFORCE_API_VERSION": VERSION,
                "C360_CRM_SALESFORCE_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def error(self, status: int, message: str, *, code: str = "",
              fields: list[str] | None = None) -> web.Response:
        code = code or {400: "INVALID_FIELD", 401: "INVALID_SESSION_ID", 403: "FORBIDDEN",
                        404: "NOT_FOUND"}.get(status, "UNKNOWN_EXCEPTION")
        return web.json_response([{"message": message, "errorCode": code,
                                   "fields": fields or []}], status=status)

    def rate_limited(self) -> Fault:
        """Salesforce's API request limit: 403 REQUEST_LIMIT_EXCEEDED (no wait hint)."""
        return Fault(403, body=[{"message": "TotalRequests Limit exceeded.",
                                 "errorCode": "REQUEST_LIMIT_EXCEEDED"}])

    def seed(self, obj: str, fields: dict[str, Any]) -> str:
        """Store a record directly; returns its 18-character id."""
        ident = f"{PREFIX[obj]}{self.next_id():0>12}AAA"
        self.table(obj)[ident] = {"Id": ident, **fields}
        return ident

    async def token(self, request: web.Request) -> web.Response:
        params = await self.grant(request)
        user = self.user_grant(params)
        if user is not None:
            return user
        if not self.grant_ok(params, grant_type="refresh_token", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN):
            return web.json_response({"error": "invalid_grant",
                                      "error_description": "expired access/refresh token"},
                                     status=400)
        self.refresh_count += 1
        return web.json_response({"access_token": self.issue_token(), "instance_url": self.url,
                                  "id": f"{self.url}/id/00D/005", "token_type": "Bearer",
                                  "issued_at": "1715000000000", "signature": "sig"})

    def user_token_body(self, access: str, refresh: str | None, user: str) -> dict[str, Any]:
        """Salesforce's web server flow answer: no expires_in; a refresh token only on the
        code exchange; the identity URL names the user."""
        body = {"access_token": access, "instance_url": self.url, "token_type": "Bearer",
                "id": f"{self.url}/id/00D000000000001AAA/{user}",
                "issued_at": "1715000000000", "signature": "sig", "scope": "api refresh_token"}
        return {**body, "refresh_token": refresh} if refresh else body

    async def query(self, request: web.Request) -> web.Response:
        match = _QUERY.fullmatch(request.query.get("q", "").strip())
        if match is None:
            return self.error(400, "unexpected token", code="MALFORMED_QUERY")
        table = self.table(match["obj"])
        alternatives = match["where"].split(" OR ")
        conds = [_COND.fullmatch(a.strip()) for a in alternatives]
        if any(c is None for c in conds):
            return self.error(400, "unexpected token in WHERE", code="MALFORMED_QUERY")
        hits = [r for r in table.values()
                if any(_holds(r, c[1], c[2], c[3]) for c in conds if c)]
        hits = hits[: int(match["limit"] or 2000)]
        fields = [f.strip() for f in match["fields"].split(",")]
        records = [{"attributes": {"type": match["obj"]}, **{f: r.get(f) for f in fields}}
                   for r in hits]
        return web.json_response({"totalSize": len(records), "done": True, "records": records})

    async def search(self, request: web.Request) -> web.Response:
        """The Search resource: the SOSL form the adapter sends (FIND {terms} IN ALL
        FIELDS RETURNING Contact(fields) LIMIT n); an unescaped reserved character in the
        terms is MALFORMED_SEARCH, as on Salesforce. Answers {"searchRecords": [...]}."""
        match = _SOSL.fullmatch(request.query.get("q", "").strip())
        if match is None:
            return self.error(400, "unexpected token in search", code="MALFORMED_SEARCH")
        terms = _sosl_terms(match["terms"])
        if terms is None:
            return self.error(400, "unexpected token: reserved character",
                              code="MALFORMED_SEARCH")
        fields = [f.strip() for f in match["fields"].split(",")]
        hits = [r for r in self.table(match["obj"]).values() if _sosl_hit(r, terms)]
        records = [{"attributes": {"type": match["obj"]}, **{f: r.get(f) for f in fields}}
                   for r in hits[: int(match["limit"] or 2000)]]
        return web.json_response({"searchRecords": records})

    async def create(self, request: web.Request) -> web.Response:
        obj = request.match_info["obj"]
        fields = await request.json()
        problem = self._invalid(obj, fields, creating=True)
        if problem:
            return problem
        ident = self.seed(obj, {**fields, "OwnerId": self.owner_of(request)})
        return web.json_response({"id": ident, "success": True, "errors": []}, status=201)

    async def upsert(self, request: web.Request) -> web.Response:
        obj, key = request.match_info["obj"], request.match_info["key"]
        fields = await request.json()
        existing = [r for r in self.table(obj).values() if r.get(EXT) == key]
        if len(existing) > 1:
            return web.json_response([r["Id"] for r in existing], status=300)
        problem = self._invalid(obj, fields, creating=not existing)
        if problem:
            return problem
        if existing:
            existing[0].update(fields)
            return web.json_response({"id": existing[0]["Id"], "success": True, "errors": [],
                                      "created": False})
        # OwnerId defaults to the user the session speaks as (the API user).
        ident = self.seed(obj, {**fields, EXT: key, "OwnerId": self.owner_of(request)})
        return web.json_response({"id": ident, "success": True, "errors": [], "created": True},
                                 status=201)

    async def read_by_key(self, request: web.Request) -> web.Response:
        obj, key = request.match_info["obj"], request.match_info["key"]
        for record in self.table(obj).values():
            if record.get(EXT) == key:
                return web.json_response({"attributes": {"type": obj}, **record})
        return self.error(404, "Provided external ID field does not exist or is not accessible")

    async def update(self, request: web.Request) -> web.Response:
        obj, ident = request.match_info["obj"], request.match_info["id"]
        record = self.table(obj).get(ident)
        if record is None:
            return self.error(404, "The requested resource does not exist")
        fields = await request.json()
        problem = self._invalid(obj, fields, creating=False)
        if problem:
            return problem
        record.update(fields)
        return web.Response(status=204)

    def _invalid(self, obj: str, fields: dict[str, Any], *, creating: bool) -> web.Response | None:
        known = TASK_FIELDS if obj == "Task" else CONTACT_FIELDS
        for name in fields:
            if name not in known:
                return self.error(400, f"No such column '{name}' on sobject of type {obj}")
        if not creating and "TaskSubtype" in fields:
            return self.error(400, "Unable to create/update fields: TaskSubtype. Please check "
                              "the security settings of this field and verify that it is "
                              "read/write for your profile or permission set.",
                              code="INVALID_FIELD_FOR_INSERT_UPDATE", fields=["TaskSubtype"])
        if obj == "Contact" and creating and not fields.get("LastName"):
            return self.error(400, "Required fields are missing: [LastName]",
                              code="REQUIRED_FIELD_MISSING", fields=["LastName"])
        for name, allowed in PICKLISTS.items():
            if name in fields and fields[name] not in allowed:
                return self.error(400, f"bad value for restricted picklist field: {fields[name]}",
                                  code="INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", fields=[name])
        if "Subject" in fields and len(str(fields["Subject"])) > 255:
            return self.error(400, "Subject: data value too large", code="STRING_TOO_LONG")
        if "ActivityDate" in fields and not re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                                                         str(fields["ActivityDate"])):
            return self.error(400, "ActivityDate: invalid date", code=BAD_TYPE)
        if not isinstance(fields.get("CallDurationInSeconds", 0), int):
            return self.error(400, "CallDurationInSeconds: not an int", code=BAD_TYPE)
        who = fields.get("WhoId")
        if who and who not in self.table("Contact"):
            return self.error(400, "invalid cross reference id",
                              code="INVALID_CROSS_REFERENCE_KEY", fields=["WhoId"])
        return None


_SOSL = re.compile(r"FIND \{(?P<terms>(?:[^{}\\]|\\.)*)\} IN ALL FIELDS RETURNING "
                   r"(?P<obj>\w+)\((?P<fields>[\w, ]+)\)(?: LIMIT (?P<limit>\d+))?")
_SOSL_RESERVED = set("&|!(){}[]^\"~?:\\'+-")


def _sosl_terms(text: str) -> list[tuple[str, bool]] | None:
    """(term, prefix) per word; None when a reserved character is not escaped (a trailing
    unescaped * is the wildcard)."""
    terms: list[tuple[str, bool]] = []
    for word in text.split():
        out, i, prefix = [], 0, False
        while i < len(word):
            ch = word[i]
            if ch == "\\" and i + 1 < len(word):
                out.append(word[i + 1])
                i += 2
                continue
            if ch == "*" and i == len(word) - 1:
                prefix = True
            elif ch in _SOSL_RESERVED or ch == "*":
                return None
            else:
                out.append(ch)
            i += 1
        terms.append(("".join(out).lower(), prefix))
    return terms


def _sosl_hit(record: dict[str, Any], terms: list[tuple[str, bool]]) -> bool:
    words = [w for v in record.values() if isinstance(v, str)
             for w in re.split(r"[^\w@.+]+", v.lower()) if w]
    words += [p for w in words for p in re.split(r"[@.]", w) if p]
    return all(any(w.startswith(t) if prefix else w == t for w in words)
               for t, prefix in terms)


def _holds(record: dict[str, Any], field: str, op: str, literal: str) -> bool:
    values = re.findall(r"'((?:[^'\\]|\\.)*)'", literal)
    unescaped = [re.sub(r"\\(.)", r"\1", v) for v in values]
    value = record.get(field)
    return value in unescaped if op == "IN" else value == unescaped[0]
