"""A reference receiver for the signed webhook sink: verifies X-C360-Signature (401 if bad),
upserts by Idempotency-Key (201 created, 200 updated), 404 for an unknown
X-C360-Activity-Id, and stores the canonical JSON it received with its X-C360-Contact-Id
(and a relink's X-C360-Previous-Contact-Id)."""

from __future__ import annotations

import json
import time
from typing import Any

from aiohttp import web

from connectors.crm import webhook_signature
from tests.emulators.base import TIMEOUT_SECONDS, Emulator, Fault

SECRET = "whsec-test"
PATH = "/hooks/c360"


class WebhookReceiver(Emulator):
    """Received documents live in `table("events")` keyed by Idempotency-Key."""

    vendor = "webhook"

    def routes(self) -> list[web.RouteDef]:
        return [web.post(PATH, self.receive)]

    def env(self) -> dict[str, str]:
        return {"C360_CRM_WEBHOOK_BASE_URL": self.url + PATH,
                "C360_CRM_WEBHOOK_SECRET": SECRET,
                "C360_CRM_WEBHOOK_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}

    def authorized(self, request: web.Request) -> bool:
        return True  # the signature covers the body, so it is checked in the handler

    def error(self, status: int, message: str, *, code: str = "") -> web.Response:
        return web.json_response({"error": message}, status=status)

    def rate_limited(self, seconds: int) -> Fault:
        """429 with Retry-After as an HTTP-date would also do; seconds here."""
        return Fault(429, "slow down", headers={"Retry-After": str(seconds)})

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get(webhook_signature.HEADER, "")
        if not webhook_signature.verify(SECRET, body, header, int(time.time())):
            return self.error(401, "bad signature")
        key = request.headers.get("Idempotency-Key")
        if not key:
            return self.error(400, "Idempotency-Key is required")
        events = self.table("events")
        stale = request.headers.get("X-C360-Activity-Id")
        if stale is not None and stale not in {e["id"] for e in events.values()}:
            return self.error(404, "unknown activity")
        doc: dict[str, Any] = json.loads(body)
        contact = request.headers.get("X-C360-Contact-Id")
        if key in events:
            event = events[key]
            event["doc"] = doc
            if contact is not None:
                event["contact"] = contact
            event["previous_contact"] = request.headers.get("X-C360-Previous-Contact-Id")
            return web.json_response({"id": event["id"]}, status=200)
        events[key] = {"id": f"evt_{self.next_id()}", "doc": doc, "contact": contact}
        return web.json_response({"id": events[key]["id"]}, status=201)
