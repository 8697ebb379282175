"""HubSpot emulator: the subset of the CRM v3 objects API and OAuth v1 token endpoint that
HubSpotCrmAdapter uses, with HubSpot's error body {"status","message","correlationId",
"category"} and rate-limit headers."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

CLIENT_ID = "hs-client"
CLIENT_SECRET = "hs-secret"
REFRESH_TOKEN = "hs-refresh"
# association type ids (HUBSPOT_DEFINED) from each activity object to contacts
TO_CONTACT = {"calls": 194, "notes": 202, "tasks": 204, "emails": 198, "meetings": 200,
              "communications": 81}
REQUIRED = {"calls": ("hs_timestamp",), "notes": ("hs_timestamp", "hs_note_body"),
            "tasks": ("hs_timestamp",), "emails": ("hs_timestamp",),
            "meetings": ("hs_timestamp", "hs_meeting_title"),
            "communications": ("hs_timestamp", "hs_communication_channel_type")}
ENUMS = {
    "hs_call_direction": {"INBOUND", "OUTBOUND"},
    "hs_call_status": {"BUSY", "CALLING_CRM_USER", "CANCELED", "COMPLETED", "CONNECTING",
                       "FAILED", "IN_PROGRESS", "NO_ANSWER", "QUEUED", "RINGING"},
    "hs_email_direction": {"EMAIL", "INCOMING_EMAIL", "FORWARDED_EMAIL"},
    "hs_communication_channel_type": {"SMS", "WHATS_APP", "LINKEDIN_MESSAGE"},
    "hs_task_status": {"NOT_STARTED", "COMPLETED", "IN_PROGRESS", "WAITING", "DEFERRED"},
}
TYPE_IDS = {"calls": "0-48", "notes": "0-46", "tasks": "0-27", "emails": "0-49",
            "meetings": "0-47", "communications": "0-18", "contacts": "0-1"}
NUMERIC = ("hs_timestamp", "hs_call_duration", "hs_meeting_start_time", "hs_meeting_end_time")
OBJECT_PATH = r"{kind:calls|notes|tasks|emails|meetings|communications|contacts}"


class HubSpotEmulator(Emulator):
    """Records live in `table(<object type>)` as {"id", "properties", "associations"}."""

    vendor = "hubspot"
    token_paths = ("/oauth/v1/token",)
    authorize_path = "/oauth/authorize"  # app.hubspot.com in production
    oauth_client_id = CLIENT_ID
    oauth_client_secret = CLIENT_SECRET
    write_path = r"/objects/\w+$"  # not .../search

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/oauth/v1/token", self.token),
            web.get(self.authorize_path, self.authorize),
            web.post(f"/crm/v3/objects/{OBJECT_PATH}/search", self.search),
            web.post(f"/crm/v3/objects/{OBJECT_PATH}", self.create),
            web.patch(f"/crm/v3/objects/{OBJECT_PATH}/{{id}}", self.update),
            web.get(f"/crm/v3/objects/{OBJECT_PATH}/{{id}}", self.read),
            web.put(f"/crm/v4/objects/{OBJECT_PATH}/{{id}}/associations/contacts/{{to}}",
                    self.associate),
            web.delete(f"/crm/v4/objects/{OBJECT_PATH}/{{id}}/associations/contacts/{{to}}",
                       self.dissociate),
        ]

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        category = code or {400: "VALIDATION_ERROR", 401: "INVALID_AUTHENTICATION",
                            404: "OBJECT_NOT_FOUND", 409: "CONFLICT",
                            429: "RATE_LIMITS"}.get(status, "INTERNAL_ERROR")
        return web.json_response({"status": "error", "message": message,
                                  "correlationId": str(uuid.uuid4()), "category": category},
                                 status=status)

    def env(self) -> dict[str, str]:
        return {"C360_CRM_HUBSPOT_BASE_URL": self.url, "C360_CRM_HUBSPOT_CLIENT_ID": CLIENT_ID,
                "C360_CRM_HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
                "C360_CRM_HUBSPOT_REFRESH_TOKEN": REFRESH_TOKEN,
                "C360_CRM_HUBSPOT_APP_URL": "https://app.hubspot.com/contacts/123",
                "C360_CRM_HUBSPOT_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def rate_limited(self, seconds: int) -> Fault:
        """HubSpot's 429: the window in X-HubSpot-RateLimit-Interval-Milliseconds."""
        return Fault(429, "You have reached your secondly limit.", headers={
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(seconds * 1000),
            "X-HubSpot-RateLimit-Max": "100", "X-HubSpot-RateLimit-Remaining": "0"})

    def seed(self, kind: str, properties: dict[str, str]) -> str:
        """Store a record directly (as if typed in HubSpot); returns its id."""
        ident = self.next_id()
        self.table(kind)[ident] = {"id": ident, "properties": dict(properties),
                                   "associations": []}
        return ident

    async def token(self, request: web.Request) -> web.Response:
        params = await self.grant(request)
        user = self.user_grant(params)
        if user is not None:
            return user
        if not self.grant_ok(params, grant_type="refresh_token", client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, refresh_token=REFRESH_TOKEN):
            return web.json_response({"status": "BAD_REFRESH_TOKEN",
                                      "message": "missing or unknown refresh token"}, status=400)
        self.refresh_count += 1
        return web.json_response({"access_token": self.issue_token(), "expires_in": 1800,
                                  "refresh_token": REFRESH_TOKEN, "token_type": "bearer"})

    async def search(self, request: web.Request) -> web.Response:
        body = await request.json()
        groups = body.get("filterGroups") or []
        query = str(body.get("query") or "")
        hits = [r for r in self.table(request.match_info["kind"]).values()
                if (not groups or any(_matches(r["properties"], g.get("filters", []))
                                      for g in groups))
                and (not query or _text_match(r["properties"], query))]
        limit = int(body.get("limit", 10))
        wanted = body.get("properties") or []
        return web.json_response({"total": len(hits), "results": [
            self._view(r, wanted) for r in hits[:limit]]})

    async def create(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = await request.json()
        props = body.get("properties") or {}
        problem = _invalid(kind, props) or self._bad_associations(kind, body)
        if problem:
            return self.error(400, problem)
        if kind == "contacts" and props.get("email"):
            for record in self.table(kind).values():
                if record["properties"].get("email", "").lower() == props["email"].lower():
                    return self.error(409, f"Contact already exists. Existing ID: {record['id']}")
        # HubSpot stamps the creating user on every object (hs_created_by_user_id).
        ident = self.seed(kind, {**props, "hs_created_by_user_id": self.owner_of(request)})
        self.table(kind)[ident]["associations"] = body.get("associations") or []
        return web.json_response(self._view(self.table(kind)[ident]), status=201)

    async def update(self, request: web.Request) -> web.Response:
        kind, ident = request.match_info["kind"], request.match_info["id"]
        record = self.table(kind).get(ident)
        if record is None:
            return self.error(404, f"Object not found.  objectId are usually numeric. {ident}")
        props = (await request.json()).get("properties") or {}
        problem = _invalid(kind, {**record["properties"], **props})
        if problem:
            return self.error(400, problem)
        record["properties"].update(props)
        return web.json_response(self._view(record))

    async def read(self, request: web.Request) -> web.Response:
        record = self.table(request.match_info["kind"]).get(request.match_info["id"])
        if record is None:
            return self.error(404, "Object not found.")
        return web.json_response(self._view(record))

    async def associate(self, request: web.Request) -> web.Response:
        """v4 "associate records (labelled)": PUT a list of {associationCategory,
        associationTypeId}; 200 with the association (fromObjectTypeId .. labels)."""
        kind, ident, to = (request.match_info[k] for k in ("kind", "id", "to"))
        record = self.table(kind).get(ident)
        if record is None or to not in self.table("contacts"):
            return self.error(404, f"No {kind} with id {ident} or contact with id {to}")
        types = await request.json()
        if not isinstance(types, list) or not types:
            return self.error(400, "Invalid input JSON: expected a list of association types")
        problem = self._bad_associations(kind, {"associations": [{"to": {"id": to},
                                                                   "types": types}]})
        if problem:
            return self.error(400, problem)
        kept = [a for a in record["associations"] if str(a["to"]["id"]) != to]
        record["associations"] = [*kept, {"to": {"id": to}, "types": types}]
        return web.json_response({"fromObjectTypeId": TYPE_IDS.get(kind, kind),
                                  "fromObjectId": ident, "toObjectTypeId": "0-1",
                                  "toObjectId": to, "labels": []})

    async def dissociate(self, request: web.Request) -> web.Response:
        """v4 "remove association between records": deletes every association between the
        two records; 204 (also when there was none)."""
        kind, ident, to = (request.match_info[k] for k in ("kind", "id", "to"))
        record = self.table(kind).get(ident)
        if record is not None:
            record["associations"] = [a for a in record["associations"]
                                      if str(a["to"]["id"]) != to]
        return web.Response(status=204)

    def contacts_of(self, kind: str, ident: str) -> list[str]:
        """The contact ids a record is associated with."""
        return [str(a["to"]["id"]) for a in self.table(kind)[ident]["associations"]]

    def _bad_associations(self, kind: str, body: dict[str, Any]) -> str:
        for assoc in body.get("associations") or []:
            target = str((assoc.get("to") or {}).get("id", ""))
            types = assoc.get("types") or []
            if kind in TO_CONTACT and not any(
                    t.get("associationCategory") == "HUBSPOT_DEFINED"
                    and t.get("associationTypeId") == TO_CONTACT[kind] for t in types):
                return f"invalid association type for {kind} -> contacts"
            if target not in self.table("contacts"):
                return f"One or more associations are invalid: contact {target} not found"
        return ""

    @staticmethod
    def _view(record: dict[str, Any], wanted: list[str] | None = None) -> dict[str, Any]:
        props = record["properties"]
        shown = {k: props.get(k) for k in wanted} if wanted else dict(props)
        now = datetime.now(UTC).isoformat()
        return {"id": record["id"], "properties": {**shown, "hs_object_id": record["id"]},
                "createdAt": now, "updatedAt": now, "archived": False}


def _matches(props: dict[str, str], filters: list[dict[str, Any]]) -> bool:
    for f in filters:
        value = props.get(f.get("propertyName", ""))
        if f.get("operator") == "EQ" and value != f.get("value"):
            return False
        if f.get("operator") == "IN" and value not in (f.get("values") or []):
            return False
    return True


# What a contact search's `query` looks at ("default searchable properties" of contacts).
SEARCHABLE = ("firstname", "lastname", "email", "hs_additional_emails", "phone",
              "mobilephone", "company")


def _text_match(props: dict[str, str], query: str) -> bool:
    """Every word of the query starts a word of a searchable property (emails and phones
    also match whole; phone digits match ignoring punctuation)."""
    values = [str(props.get(p) or "") for p in SEARCHABLE]
    words = [w for v in values for w in re.split(r"[^\w]+", v.lower()) if w]
    whole = [v.lower() for v in values if v]
    digits = [re.sub(r"\D", "", v) for v in values if re.sub(r"\D", "", v)]
    for term in query.lower().split():
        bare = re.sub(r"\D", "", term)
        if not (any(w.startswith(term) for w in words) or term in whole
                or (len(bare) >= 5 and any(bare in d or d in bare for d in digits))):
            return False
    return True


def _invalid(kind: str, props: dict[str, Any]) -> str:
    for name in REQUIRED.get(kind, ()):
        if not props.get(name):
            return f"Property values were not valid: {name} is required"
    for name, allowed in ENUMS.items():
        if name in props and props[name] not in allowed:
            return f"Property values were not valid: {props[name]!r} is not a valid {name}"
    for name in NUMERIC:
        if name in props and not re.fullmatch(r"\d+", str(props[name])):
            return f"Property values were not valid: {name} must be a number"
    return ""
