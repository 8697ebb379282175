"""GET /v1/desktop/stream: one agent's screen pops as Server-Sent Events, resumable."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from connectors.gateway.auth import AgentIdentity
from connectors.gateway.hub import Hub, Plan
from connectors.gateway.kafka_feed import PopLog
from connectors.gateway.pops import Cursor, Pop, agent_key, is_ringing, parse_cursor

log = structlog.get_logger("c360.gateway.stream")
RETRY_MS = 2000
# aiohttp-sse sends text/event-stream, `X-Accel-Buffering: no` (nginx: deliver each event at
# once) and `Cache-Control: no-cache`; the stream keeps its stricter no-store (the URL
# carries the token) and names its charset.
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
}
# The one frame aiohttp-sse cannot write: `send` always adds a data line, and a data line
# with no event name dispatches an empty `message` in the browser. This sets the reconnect
# delay and marks the catch-up's start without dispatching anything.
PREAMBLE = f"retry: {RETRY_MS}\n: connected\n\n".encode()


@dataclass
class _Sender:
    """Writes pops at most once each: per partition, only offsets after the last one sent
    (or after the client's cursor), so buffer, re-read and live queue may overlap safely."""

    response: EventSourceResponse
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
        # The data is single-line JSON (JSON escapes every CR and LF): one data line. A pop
        # no longer ringing goes out as `history`: the panel lists it, it never takes the
        # screen as a live call.
        await self.response.send(pop.data, id=pop.event_id, event="pop" if ringing else "history")
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
        note = {
            "partition": r.partition,
            "from": r.start,
            "detail": "some pops are no longer in the topic; showing what remains",
        }
        await sender.response.send(json.dumps(note), event="gap")


def cursor_of(response: EventSourceResponse, request: web.Request) -> Cursor | None:
    """Last-Event-ID (browser reconnects) wins over ?last_event_id= (a new EventSource)."""
    return parse_cursor(response.last_event_id or request.query.get("last_event_id"))


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
    """Catch up from the cursor, then stream live pops until the client leaves, the service
    stops or the token expires (an `expired` event, then the end: the token was checked
    once, at connect, and must not outlive its expiry on an open stream). aiohttp-sse sends
    the `: ping` heartbeats every `heartbeat_seconds` and aborts a client stalled for its
    send timeout; a stalled or departed client ends the stream, which resumes from its
    Last-Event-ID on the next connection."""
    try:
        await asyncio.wait_for(hub.ready.wait(), ready_timeout_seconds)
    except TimeoutError:
        return web.json_response(
            {"error": "not_ready", "detail": "the screen-pop feed is not connected yet"},
            status=503,
            headers={"Retry-After": "2"},
        )
    response = EventSourceResponse(ping_interval=heartbeat_seconds, sep="\n")
    response.headers.update(SSE_HEADERS)
    try:
        await response.prepare(request)
    except ConnectionResetError:
        return response  # the client left before the headers went out
    cursor = cursor_of(response, request)
    sub = hub.subscribe(who.tenant, who.agent, cursor)
    # A client that leaves while no pop is due is noticed by the library's ping task, which
    # then ends; so does the stream (the loop would otherwise wait for the next pop).
    left_watch = asyncio.create_task(response.wait())
    left_watch.add_done_callback(lambda _done: sub.close())
    sender = _Sender(response, who, int(fresh_seconds * 1000), clock)
    if cursor is not None:
        sender.sent[cursor.partition] = cursor.offset
    bound = log.bind(
        tenant=who.tenant,
        agent=who.agent,
        cursor=None if cursor is None else f"{cursor.partition}:{cursor.offset}",
    )
    bound.info(
        "desktop_stream_opened", reread=sub.plan.reread is not None, buffered=len(sub.plan.buffered)
    )
    try:
        async with response:  # on leaving: stop the pings
            await response.write(PREAMBLE)
            await _catch_up(sender, sub.plan, pop_log)
            while True:
                left = who.expires_at - clock()
                if left <= 0:
                    await response.send("{}", event="expired")
                    break
                # Wakes at least every heartbeat to see the expiry on the gateway's clock.
                pop = await sub.next(min(heartbeat_seconds, left))
                if pop is not None:
                    await sender.send(pop)
                elif sub.finished:
                    break
    except (ConnectionResetError, TimeoutError):
        pass  # the client left or stalled; its next connection resumes from Last-Event-ID
    finally:
        hub.unsubscribe(sub)
        left_watch.cancel()
        bound.info(
            "desktop_stream_closed",
            sent=sender.count,
            history=sender.history,
            overflowed=sub.overflowed,
        )
    return response
