"""Issue 11 end to end on the real broker and Redis: activities land on the record the
interaction is linked to, in every CRM emulator at once (one stack, one CRM sink worker, a
tenant per CRM routed by the routing file).

Per CRM: relink to Dave before wrap-up (Dave has a CRM id) -> the call activity and a manual
note are written on Dave's contact; relink to Dave-without-a-CRM-id before wrap-up -> found by
Dave's own phone; relink to Dave after wrap-up -> the written activity moves to Dave (the
result says "re-associated"), relink back -> it moves back to Alice. And choose_crm: the
agent picks the non-default CRM, the activity lands there with crm_choice "agent"."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.kafka_producer import make_producer, produce_all
from projections.keys import Keys
from projections.redis_activities import RedisInteractionActivities
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_profiles import RedisProfileDirectory
from schemas import codec
from schemas.records import ActivityRequested, ActivityResult, DesktopActionTaken, ProfileUpserted
from schemas.topics import ACTIVITIES_REQUESTED, ACTIVITIES_RESULTS, CONTACTS, DESKTOP, INTERACTIONS
from tests.emulators import dynamics365, salesforce, zoho
from tests.emulators.base import Emulator
from tests.emulators.dynamics365 import Dynamics365Emulator
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import SalesforceEmulator
from tests.emulators.webhook import WebhookReceiver
from tests.emulators.zendesk import ZendeskEmulator
from tests.emulators.zoho import ZohoEmulator
from tests.factories import CALLER, voice_call
from tests.integration.stack import running_stack
from tests.integration.test_crm_worker import read_all, start_worker, stop_worker, worker_env

pytestmark = pytest.mark.integration
DEADLINE = 150.0
DAVE_PHONE = "+442079460456"
DAVE2_PHONE = "+442079460789"


# -- each CRM's records as (idempotency key, contact ids) ------------------------------------
def _hubspot(emu: Emulator) -> list[tuple[str, list[str]]]:
    return [(r["properties"].get("c360_idempotency_key", ""),
             [str(a["to"]["id"]) for a in r["associations"]])
            for kind in ("calls", "notes") for r in list(emu.table(kind).values())]


def _salesforce(emu: Emulator) -> list[tuple[str, list[str]]]:
    return [(r.get(salesforce.EXT, ""), [r["WhoId"]] if r.get("WhoId") else [])
            for r in list(emu.table("Task").values())]


def _zoho(emu: Emulator) -> list[tuple[str, list[str]]]:
    return [(r.get(zoho.KEY, ""), [r["Who_Id"]["id"]] if r.get("Who_Id") else [])
            for module in ("Calls", "Tasks") for r in list(emu.table(module).values())]


def _dynamics(emu: Emulator) -> list[tuple[str, list[str]]]:
    out = []
    for entity, logical in (("phonecalls", "phonecall"), ("tasks", "task")):
        for r in list(emu.table(entity).values()):
            bound = r.get(f"regardingobjectid_contact_{logical}@odata.bind") or ""
            contact = bound.removeprefix("/contacts(").removesuffix(")")
            out.append((r.get(dynamics365.KEY, ""), [contact] if contact else []))
    return out


def _zendesk(emu: Emulator) -> list[tuple[str, list[str]]]:
    return [(t.get("external_id", ""), [str(t["requester_id"])] if t.get("requester_id") else [])
            for t in list(emu.table("tickets").values())]


def _webhook(emu: Emulator) -> list[tuple[str, list[str]]]:
    return [(key, [e["contact"]] if e.get("contact") else [])
            for key, e in list(emu.table("events").items())]


def _seeder(emu: Emulator) -> Callable[[str], str]:
    """Seed a contact with this phone, as typed in the CRM; returns its id."""
    if isinstance(emu, HubSpotEmulator):
        return lambda phone: emu.seed("contacts", {"phone": phone})
    if isinstance(emu, SalesforceEmulator):
        return lambda phone: emu.seed("Contact", {"LastName": "Doe", "Phone": phone})
    if isinstance(emu, ZohoEmulator):
        return lambda phone: emu.seed("Contacts", {"Last_Name": "Doe", "Phone": phone})
    if isinstance(emu, Dynamics365Emulator):
        return lambda phone: emu.seed("contacts", {"lastname": "Doe", "telephone1": phone})
    if isinstance(emu, ZendeskEmulator):
        return lambda phone: emu.seed_user(phone=phone)
    return lambda phone: f"wh-{phone[-4:]}"  # the webhook has no contacts: ids are opaque


ALL_VENDORS: dict[str, tuple[type[Emulator], Callable[[Emulator], list[tuple[str, list[str]]]]]] = {
    "hubspot": (HubSpotEmulator, _hubspot),
    "salesforce": (SalesforceEmulator, _salesforce),
    "zoho": (ZohoEmulator, _zoho),
    "dynamics365": (Dynamics365Emulator, _dynamics),
    "zendesk": (ZendeskEmulator, _zendesk),
    "webhook": (WebhookReceiver, _webhook),
}
# C360_TEST_CRMS=hubspot,webhook narrows the run (hubspot and salesforce are always in: the
# choose_crm tenant uses them).
_ONLY = {n for n in os.environ.get("C360_TEST_CRMS", "").split(",") if n}
VENDORS = {n: v for n, v in ALL_VENDORS.items()
           if not _ONLY or n in _ONLY | {"hubspot", "salesforce"}}


@contextmanager
def emulators() -> Iterator[dict[str, Emulator]]:
    """Every vendor's emulator on one background loop (the worker is another process)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    started = {name: cls() for name, (cls, _) in VENDORS.items()}
    try:
        for emu in started.values():
            asyncio.run_coroutine_threadsafe(emu.start(), loop).result(10)
        yield started
    finally:
        for emu in started.values():
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)


def _until(what: str, check: Callable[[], Any], deadline: float = DEADLINE,
           show: Callable[[], Any] | None = None) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            value = check()
        except RuntimeError:  # a table changed size while the emulator thread wrote it
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"gave up waiting for {what}" + (f": {show()}" if show else ""))


def _publish(bootstrap: str, topic: str, records: list[Any], key: Callable[[Any], str]) -> None:
    produce_all(make_producer(bootstrap), topic,
                [(key(r).encode(), codec.encode(r)) for r in records])


def _action(tenant: str, iid: str, at: datetime, name: str, **fields: Any) -> DesktopActionTaken:
    return DesktopActionTaken(str(uuid.uuid4()), tenant, at, "agent-1", iid, name, **fields)


def _contacts_of(records: list[tuple[str, list[str]]], tenant: str, iid: str) -> list[list[str]]:
    """The contacts of each activity of one interaction (keys start `<tenant>:<iid>:`)."""
    return sorted(contacts for key, contacts in records if key.startswith(f"{tenant}:{iid}:"))


def test_activities_follow_the_link_in_every_crm(kafka_bootstrap, redis_url, tmp_path: Path):
    start = datetime.now(tz=UTC) - timedelta(minutes=30)
    run = uuid.uuid4().hex[:6]
    tenants = {name: f"t{run}{name[:4]}" for name in VENDORS}
    choice_tenant = f"t{run}choice"
    routing = {"default": "hubspot", "tenants": {
        **{t: {"crm": name} for name, t in tenants.items()},
        choice_tenant: {"crm": "hubspot", "crms": ["salesforce"]}}}
    routing_file = tmp_path / "routing.json"
    routing_file.write_text(json.dumps(routing))
    with emulators() as emus, running_stack(kafka_bootstrap, redis_url, tmp_path) as stack:
        prefix = str(stack["prefix"])
        env = worker_env(kafka_bootstrap, prefix, emus["hubspot"], tmp_path,
                         f"crm-{uuid.uuid4().hex[:8]}",
                         C360_CRM_ROUTING_FILE=str(routing_file))
        for emu in emus.values():
            env.update(emu.env())
        worker = start_worker(env, tmp_path / "crm-worker.log")
        ids: dict[str, dict[str, str]] = {}
        try:
            profiles, calls_before, after = [], [], []
            for name, tenant in [*tenants.items(), ("choice", choice_tenant)]:
                emu = emus.get(name, emus["hubspot"])
                seed = _seeder(emu)
                ids[name] = {"alice": seed(CALLER), "dave": seed(DAVE_PHONE),
                             "dave2": seed(DAVE2_PHONE)}
                crm = name if name in VENDORS else "hubspot"
                for pid, phone, crm_ids in (
                    ("p-alice", CALLER, {crm: ids[name]["alice"]}),
                    ("p-dave", DAVE_PHONE, {crm: ids[name]["dave"]}),
                    ("p-dave2", DAVE2_PHONE, {}),  # no CRM id: found by Dave2's phone
                ):
                    profiles.append(ProfileUpserted(
                        str(uuid.uuid4()), tenant, start - timedelta(days=1), pid, pid,
                        (phone,), (), {}, "csv", crm_ids=crm_ids))
            _publish(kafka_bootstrap, prefix + CONTACTS, profiles, lambda r: r.profile_id)
            _wait_profiles(redis_url, prefix, [(p.tenant_id, p.profile_id) for p in profiles])

            # Relink before wrap-up: ix-b to Dave (CRM id), ix-s to Dave2 (search).
            relinks = []
            for tenant in [*tenants.values(), choice_tenant]:
                for iid, pid in (("ix-b", "p-dave"), ("ix-s", "p-dave2")):
                    call = voice_call(iid, tenant=tenant, start=start)
                    calls_before.append(call)
                    relinks.append(_action(tenant, iid, start + timedelta(seconds=30),
                                           "relink", profile_id=pid))
                after.append(voice_call("ix-a", tenant=tenant, start=start))
            _publish(kafka_bootstrap, prefix + INTERACTIONS,
                     [e for call in [*calls_before, *after] for e in call[:3]],
                     lambda r: r.interaction_id)
            _publish(kafka_bootstrap, prefix + DESKTOP, relinks, lambda r: r.interaction_id)
            choose = _action(choice_tenant, "ix-b", start + timedelta(seconds=40), "choose_crm",
                             crm="salesforce")
            _publish(kafka_bootstrap, prefix + DESKTOP, [choose], lambda r: r.interaction_id)
            # ix-a: the pop links Alice's profile (matched by the caller's number).
            _wait_linked(redis_url, prefix,
                         [(r.tenant_id, r.interaction_id, "agent") for r in relinks]
                         + [(c[0].tenant_id, "ix-a", "system") for c in after],
                         chosen=(choice_tenant, "ix-b"))
            notes = [_action(t, "ix-b", start + timedelta(minutes=4), "add_note",
                             text="Asked about the invoice") for t in tenants.values()]
            _publish(kafka_bootstrap, prefix + INTERACTIONS,
                     [e for call in [*calls_before, *after] for e in call[3:]],
                     lambda r: r.interaction_id)
            _publish(kafka_bootstrap, prefix + DESKTOP, notes, lambda r: r.interaction_id)

            for name, tenant in tenants.items():
                records = VENDORS[name][1]
                emu, mine = emus[name], ids[name]
                want = {"ix-b": [[mine["dave"]]] * 2, "ix-a": [[mine["alice"]]]}
                if name != "webhook":  # no contact search in a webhook: nothing to find Dave2 by
                    want["ix-s"] = [[mine["dave2"]]]
                _until(f"{name}: call + note on Dave, ix-a on Alice",
                       lambda r=records, e=emu, w=want, t=tenant: all(
                           _contacts_of(r(e), t, k) == v for k, v in w.items()),
                       show=lambda r=records, e=emu, w=want, t=tenant: {
                           k: (_contacts_of(r(e), t, k), v) for k, v in w.items()})

            # Relink after wrap-up: ix-a moves to Dave, then back to Alice.
            moves = [_action(t, "ix-a", start + timedelta(minutes=10), "relink",
                             profile_id="p-dave") for t in tenants.values()]
            _publish(kafka_bootstrap, prefix + DESKTOP, moves, lambda r: r.interaction_id)
            for name, tenant in tenants.items():
                records, emu, mine = VENDORS[name][1], emus[name], ids[name]
                _until(f"{name}: ix-a moved to Dave", lambda r=records, e=emu, m=mine, t=tenant:
                       _contacts_of(r(e), t, "ix-a") == [[m["dave"]]])
            results = read_all(kafka_bootstrap, prefix + ACTIVITIES_RESULTS, lambda rs: {
                r.tenant_id for r in rs if isinstance(r, ActivityResult)
                and r.interaction_id == "ix-a" and (r.detail or "").startswith("re-associated")
            } >= set(tenants.values()), DEADLINE)
            moved = [r for r in results if isinstance(r, ActivityResult)
                     and r.interaction_id == "ix-a" and r.detail]
            assert {r.crm for r in moved} == set(tenants)
            assert all(r.status == "updated" for r in moved)

            backs = [_action(t, "ix-a", start + timedelta(minutes=11), "open_profile",
                             profile_id="p-alice") for t in tenants.values()]
            _publish(kafka_bootstrap, prefix + DESKTOP, backs, lambda r: r.interaction_id)
            for name, tenant in tenants.items():
                records, emu, mine = VENDORS[name][1], emus[name], ids[name]
                _until(f"{name}: ix-a back on Alice", lambda r=records, e=emu, m=mine, t=tenant:
                       _contacts_of(r(e), t, "ix-a") == [[m["alice"]]])

            # choose_crm: the chosen (non-default) CRM gets ix-b, with crm_choice "agent".
            sf = emus["salesforce"]
            _until("the chosen CRM got the call", lambda: any(
                r.get(salesforce.EXT, "").startswith(f"{choice_tenant}:ix-b:")
                and r.get("WhoId") == ids["salesforce"]["dave"]  # found by Dave's phone there
                for r in list(sf.table("Task").values())))
            requested = read_all(kafka_bootstrap, prefix + ACTIVITIES_REQUESTED, lambda rs: any(
                isinstance(r, ActivityRequested) and r.tenant_id == choice_tenant
                and r.interaction_id == "ix-b" for r in rs), DEADLINE)
            chosen = [r for r in requested if isinstance(r, ActivityRequested)
                      and r.tenant_id == choice_tenant and r.interaction_id == "ix-b"]
            assert {(r.crm, r.crm_choice) for r in chosen} == {("salesforce", "agent")}
            hubspot_keys = [k for k, _ in _hubspot(emus["hubspot"])]
            assert not [k for k in hubspot_keys if k.startswith(f"{choice_tenant}:ix-b:")]
        finally:
            assert stop_worker(worker) == 0, (tmp_path / "crm-worker.log").read_text()


def _wait_profiles(redis_url: str, prefix: str, wanted: list[tuple[str, str]]) -> None:
    """Until the directory holds every profile (the pops must match Alice by her number)."""
    keys = Keys(f"c360t{prefix[:-1]}")

    async def all_there() -> bool:
        client = redis_client(redis_url)
        try:
            profiles = RedisProfileDirectory(client, keys)
            return all([await profiles.get(t, p) is not None for t, p in wanted])
        finally:
            await client.aclose()

    _until("profiles stored", lambda: asyncio.run(all_there()))


def _wait_linked(redis_url: str, prefix: str, wanted: list[tuple[str, str, str]],
                 chosen: tuple[str, str]) -> None:
    """Until every interaction's link (by the agent or the system) and the CRM choice are
    recorded (all came before the wrap-up)."""
    keys = Keys(f"c360t{prefix[:-1]}")

    async def all_linked() -> bool:
        client = redis_client(redis_url)
        try:
            links = RedisInteractionLinks(client, keys)
            for tenant, iid, by in wanted:
                if not any(a.by == by for a in await links.actions(tenant, iid)):
                    return False
            book = await RedisInteractionActivities(client, keys, 3600).read(*chosen)
            return book.choice is not None
        finally:
            await client.aclose()

    _until("relinks recorded", lambda: asyncio.run(all_linked()))
