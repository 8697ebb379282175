"""kill -9 of the streams worker mid-stream, twice: every call projected once in effect."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest

from schemas.records import ActivityRequested, ScreenPopRequested
from schemas.topics import (
    ACTIVITIES_REQUESTED,
    DLQ,
    INTERACTIONS,
    INTERACTIONS_BY_PARTY,
    SCREENPOPS,
)
from tests.faults.harness import DEADLINE, Calls, IdCounter, Stack, TopicReader, figure, publish

pytestmark = [pytest.mark.integration, pytest.mark.faults]

CALLS = 1_500  # x5 events (+ a second wrap-up on every 4th call): a backlog of ~7,900
KILL_AT = (0.2, 0.55)  # fractions of the by-party output seen when each kill lands


def _read_all(bootstrap: str, topic: str) -> list:
    """Every record of `topic` now, decoded."""
    reader = TopicReader(bootstrap, topic)
    try:
        while reader.poll(1):
            pass
        return reader.decoded()
    finally:
        reader.close()


def test_kill_9_of_the_streams_worker_mid_stream_loses_and_doubles_nothing(
    kafka_bootstrap, redis_url, tmp_path
):
    """Publish a backlog, kill -9 the worker twice while it works through it, restart it
    each time: every event's by-party record exists, every call is one timeline entry with
    its last wrap-up, its pops keep their ids, its activity's last revision has the last
    wrap-up, and nothing was dead-lettered."""
    calls = Calls(f"k{uuid.uuid4().hex[:6]}", CALLS)
    stack = Stack(kafka_bootstrap, redis_url, tmp_path)
    stack.create_topics()
    events = calls.events()
    publish(kafka_bootstrap, stack.topic(INTERACTIONS), events)
    want = {e.event_id for e in events}
    reader = TopicReader(kafka_bootstrap, stack.topic(INTERACTIONS_BY_PARTY))
    ids = IdCounter(reader)
    try:
        stack.start_web()
        stack.start_worker()
        for n, fraction in enumerate(KILL_AT, 1):
            began = time.monotonic()
            assert ids.wait(int(len(want) * fraction)), (
                f"no progress before kill {n}: {len(ids.distinct)}/{len(want)}\n"
                f"{stack.worker.log_tail() if stack.worker else ''}")
            assert len(ids.distinct) < len(want), "the backlog was done before the kill"
            stack.kill_worker()
            killed_at, seen = time.monotonic(), len(ids.distinct)
            stack.start_worker()
            # Recovery: the replacement's first output beyond what the killed one sent
            # (outputs of the killed worker's last batch may still be arriving: +1 batch).
            assert ids.wait(min(seen + 600, len(want)), DEADLINE), f"no progress after kill {n}"
            figure("streams_kill", kill=n, progress_before=round(killed_at - began, 1),
                   distinct_at_kill=seen, recovery_s=round(time.monotonic() - killed_at, 1))
        assert ids.wait(len(want), DEADLINE), (
            f"{len(want) - len(ids.distinct)} events never got a by-party record")
        time.sleep(1)  # the last batch's stragglers, so duplicates are counted whole
        reader.poll()
        ids.refresh()
        assert ids.distinct == want
        duplicates = sum(c - 1 for c in Counter(ids.ids).values())
        # In effect: each call is one timeline entry with its last wrap-up, whatever was
        # replayed; the timeline reads back after the worker finished its backlog.
        per_party: dict[str, list[int]] = {}
        for n in range(CALLS):
            per_party.setdefault(calls.caller(n), []).append(n)
        wrong: list[str] = []
        for caller, numbers in per_party.items():
            status, doc = stack.timeline(caller, calls.tenant)
            assert status == 200, doc
            got = Counter(item["interaction_id"] for item in doc["items"])
            expected = {f"ix-{n}": calls.disposition(n) for n in numbers}
            if set(got) != set(expected) or max(got.values()) != 1:
                wrong.append(f"{caller[-5:]}: {sorted(set(got) ^ set(expected))} "
                             f"dup={[k for k, v in got.items() if v > 1]}")
                continue
            wrong += [f"{item['interaction_id']} disposition {item['disposition']}"
                      for item in doc["items"]
                      if item["disposition"] != expected[item["interaction_id"]]]
        assert wrong == [], wrong[:10]
        letters = _read_all(kafka_bootstrap, stack.topic(DLQ))
        assert letters == [], letters[:3]
        # Pops: a replayed cause re-sends the same pop id, so every call (all alike) has
        # the same number of distinct pop ids; a new id minted on replay would stand out.
        pops: dict[str, set[str]] = {}
        for pop in _read_all(kafka_bootstrap, stack.topic(SCREENPOPS)):
            if isinstance(pop, ScreenPopRequested) and pop.tenant_id == calls.tenant:
                pops.setdefault(pop.interaction_id, set()).add(pop.event_id)
        assert len(pops) == CALLS
        pop_ids = Counter(len(ids_) for ids_ in pops.values())
        assert len(pop_ids) == 1, pop_ids
        # Activities: one idempotency key per call; its highest revision has the last
        # wrap-up (the CRM sink upserts by key and revision).
        acts: dict[str, ActivityRequested] = {}
        requests = 0
        for act in _read_all(kafka_bootstrap, stack.topic(ACTIVITIES_REQUESTED)):
            if isinstance(act, ActivityRequested) and act.tenant_id == calls.tenant:
                requests += 1
                if act.idempotency_key not in acts or act.revision > acts[
                        act.idempotency_key].revision:
                    acts[act.idempotency_key] = act
        assert len(acts) == CALLS
        wrong_acts = [a.interaction_id for a in acts.values()
                      if a.disposition_code != calls.disposition(int(a.interaction_id[3:]))]
        assert wrong_acts == [], wrong_acts[:10]
        figure("streams_kill", events=len(want), calls=CALLS, kills=len(KILL_AT),
               by_party_records=len(ids.ids), redelivered=duplicates, lost=0,
               timeline_entries=CALLS, dead_letters=0, pop_ids_per_call=dict(pop_ids),
               activity_requests=requests, activity_keys=len(acts))
    finally:
        reader.close()
        stack.stop()
