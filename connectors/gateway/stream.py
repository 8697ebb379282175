"""GET /v1/desktop/stream: one agent's screen pops as Server-Sent Events, resumable."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web

from connectors.gateway.auth import AgentIdentity
from connectors.gateway.hub import Hub, Plan
from connectors.gateway.kafka_feed import PopLog
from connectors.gateway.pops import Cursor, Pop, agent_key, is_ringing, parse_cursor

log = structlog.get_logger("c360.gateway.stream")
RETRY_MS = 2000
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",  # nginx: deliver each event at once
}


def frame(pop: Pop, ringing: bool = True) -> bytes:
    """One SSE event; the data is single-line JSON (JSON escapes every CR and LF). A pop no
    longer ringing goes out as `history`: the panel lists it, it never takes the screen as
    a live call."""
    kind = "pop" if ringing else "history"
    return f"id: {pop.event_id}\nevent: {kind}\ndata: {pop.data}\n\n".encode()


@dataclass
class _Sender:
    """Writes pops at most once each: per partition, only offsets after the last one sent
    (or after the client's cursor), so buffer, re-read and live queue may overlap safely."""

    response: web.StreamResponse
    who: AgentIdentity
    fresh_ms: int = 120_000
    clock: Callable[[], float] = time.time
    sent: dict[int, int] = field(default_factory=dict)
    count: int = 0
    history: int = 0

    async def send(self, pop: Pop) -> None:
        if (pop.tenant, pop.agent) != (self.who.tenant, self.who.agent):
            return  # a re-read key collision can never leak another agent's pop
        if pop.offset <= self.sent.get(pop.partition, -1):
            return
        # Judged when sent, not when read: a pop queued or buffered past the window (a
        # replay to a fresh panel, a re-read after a long disconnect) is history by then.
        ringing = is_ringing(pop, int(self.clock() * 1000), self.fresh_ms)
        await self.response.write(frame(pop, ringing))
        self.sent[pop.partition] = pop.offset
        self.count += 1
        self.history += not ringing


async def _catch_up(sender: _Sender, plan: Plan, pop_log: PopLog) -> None:
    for pop in plan.buffered:
        await sender.send(pop)
    if plan.reread is None:
        return
    r = plan.reread
    who = sender.who
    result = await pop_log.reread(r.partition, r.start, r.end, agent_key(who.tenant, who.agent))
    for pop in result.pops:
        await sender.send(pop)
    if result.gap:
        note = {"partition": r.partition, "from": r.start,
                "detail": "some pops are no longer in the topic; showing what remains"}
        await sender.response.write(f"event: gap\ndata: {json.dumps(note)}\n\n".encode())


def cursor_of(request: web.Request) -> Cursor | None:
    """Last-Event-ID (browser reconnects) wins over ?last_event_id= (a new EventSource)."""
    return parse_cursor(
        request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
    )


async def serve_stream(
    request: web.Request,
    who: AgentIdentity,
    hub: Hub,
    pop_log: PopLog,
    heartbeat_seconds: float,
    ready_timeout_seconds: float,
    clock: Callable[[], float] = time.time,
    fresh_seconds: float = 120.0,
) -> web.StreamResponse:
    """Catch up from the cursor, then stream live pops with heartbeats until the client
    leaves, the service stops or the token expires (an `expired` event, then the end: the
    token was checked once, at connect, and must not outlive its expiry on an open stream)."""
    cursor = cursor_of(request)
    try:
        await asyncio.wait_for(hub.ready.wait(), ready_timeout_seconds)
    except TimeoutError:
        return web.json_response(
            {"error": "not_ready", "detail": "the screen-pop feed is not connected yet"},
            status=503, headers={"Retry-After": "2"},
        )
    sub = hub.subscribe(who.tenant, who.agent, cursor)
    response = web.StreamResponse(headers=SSE_HEADERS)
    sender = _Sender(response, who, int(fresh_seconds * 1000), clock)
    if cursor is not None:
        sender.sent[cursor.partition] = cursor.offset
    bound = log.bind(tenant=who.tenant, agent=who.agent,
                     cursor=None if cursor is None else f"{cursor.partition}:{cursor.offset}")
    bound.info("desktop_stream_opened", reread=sub.plan.reread is not None,
               buffered=len(sub.plan.buffered))
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        await _catch_up(sender, sub.plan, pop_log)
        while True:
            left = who.expires_at - clock()
            if left <= 0:
                await response.write(b"event: expired\ndata: {}\n\n")
                break
            pop = await sub.next(min(heartbeat_seconds, left))
            if pop is not None:
                await sender.send(pop)
            elif sub.finished:
                break
            elif who.expires_at > clock():
                await response.write(b": ping\n\n")
    except ConnectionResetError:
        pass  # the client left; its next connection resumes from its Last-Event-ID
    finally:
        hub.unsubscribe(sub)
        bound.info("desktop_stream_closed", sent=sender.count, history=sender.history,
                   overflowed=sub.overflowed)
    return response
