"""The query API over real Redis: filters, paging, profiles, insights, journey, detail."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.ports import Party
from core.profiles import Profile, ProfileIdentifier
from core.query import TimelineQuery, page
from core.timeline import Retention, fold, to_ms, visible
from infra.settings_web import QuerySettings
from projections.keys import Keys
from projections.reads import ReadModel, Scope, timeline_page
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_parties import RedisInteractionParties
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_timeline import RedisTimelineStore
from projections.topic_config import TopicConfig
from schemas.records import (
    CHANNELS,
    InteractionAnalyzed,
    InteractionOffered,
    InteractionWrappedUp,
)
from streams.handlers import party_for_identifier
from streams.settings import StreamSettings
from tests.factories import CALLER, T0, eid, interaction_events, voice_call
from tests.unit.readmodel.calls import conference_call
from tests.web_twins import bearer, twin_deps
from web import read_models
from web.app import ALL_OPERATIONS, create_app
from web.openapi import mounted_routes
from web.read_api import ReadApi
from web.read_routes import QueryApi

pytestmark = pytest.mark.integration
NOW = to_ms(T0 + timedelta(hours=12))
EMAIL = "pat@example.com"


def _events() -> tuple[list, list]:
    """Calls on the phone (one a campaign call, one analysed twice) and emails."""
    phone, mail = [], []
    for n in range(6):
        iid = f"call-{n}"
        phone += voice_call(iid, start=T0 - timedelta(days=40 * n))
    phone += [
        InteractionWrappedUp(
            eid(),
            "acme",
            T0 + timedelta(hours=1),
            "call-0",
            "voice",
            "agent-1",
            campaign="Renewal",
            contact_mode="home",
            score=6.0,
            outcome="sale",
            notes="Renewed the home policy. Wants paper bills.",
        ),
        InteractionAnalyzed(
            eid(),
            "acme",
            T0,
            "call-0",
            "voice",
            sentiment=0.7,
            transcript_text="I would like my money back for last month",
        ),
        InteractionAnalyzed(
            eid(),
            "acme",
            T0 - timedelta(days=40),
            "call-1",
            "voice",
            sentiment=0.1,
            ai_title="Billing question",
        ),
    ]
    for n in range(2):
        iid = f"mail-{n}"
        mail.append(
            InteractionOffered(
                eid(),
                "acme",
                T0 - timedelta(days=2 + n),
                iid,
                "email",
                "outbound",
                "help@acme.test",
                EMAIL,
                subject=f"Quote {n}",
            )
        )
    return phone, mail


def resolve(tenant: str, raw: str) -> Party:
    """Identifier -> party exactly as the service resolves it (GB numbering by default)."""
    settings = StreamSettings.from_env({"C360_ENV": "dev", "C360_DEFAULT_REGION": "GB"})
    return party_for_identifier(tenant, raw, settings)


def _read_model(
    url: str, namespace: str, topics: TopicConfig | None = None
) -> tuple[Any, ReadModel]:
    """A Redis client on `url` and every Redis-backed store of the read model."""
    client = redis_client(url)
    keys = Keys(namespace)
    rm = ReadModel(
        RedisTimelineStore(client, keys, Retention()),
        Retention(),
        RedisProfileDirectory(client, keys),
        RedisInteractionLinks(client, keys),
        RedisInteractionParties(client, keys, 3600),
        topics or TopicConfig(None),
    )
    return client, rm


@pytest.fixture
async def world(redis_url, redis_namespace, tmp_path):
    """A query API on a fresh Redis namespace, seeded through the real write path."""
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"tenants": {"acme": {"Refund": ["money back"]}}}))
    client, rm = _read_model(redis_url, redis_namespace, TopicConfig(str(topics)))
    store = rm.timeline
    phone_party, mail_party = resolve("acme", CALLER), resolve("acme", EMAIL)
    phone, mail = _events()

    async def seed(shuffle: int | None = None):
        for party, events in ((phone_party, phone), (mail_party, mail)):
            order = list(events)
            if shuffle is not None:
                random.Random(shuffle).shuffle(order)
            for event in order:
                await store.apply("acme", party.token, event, NOW)

    await seed()
    ids = (
        ProfileIdentifier("phone", CALLER, phone_party.token),
        ProfileIdentifier("email", EMAIL, mail_party.token),
    )
    assert rm.profiles is not None
    await rm.profiles.upsert(Profile("acme", "pat-1", (1, "e1"), "Pat", ids))
    assert rm.parties is not None
    await rm.parties.remember("call-3", phone_party)
    clock = [NOW]
    # The whole service as create_app builds it: this read model, the other parts on twins.
    query = QueryApi(rm, ReadApi(resolve, lambda: clock[0], "acme"))
    deps = twin_deps(query)
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), deps)
    # Every request carries a timeline:read key of tenant acme (the access check's own
    # answers are tested in test_access_probe.py).
    async with TestClient(TestServer(app), headers=bearer(deps, "acme")) as http:
        yield http, seed, clock
    await client.aclose()


async def _get(http, path, status=200, **params):
    resp = await http.get(path, params=params)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_identifier_timeline_newest_first_in_any_number_format(world):
    """A national-format number finds the E.164-keyed timeline; voice only when asked."""
    http, *_ = world
    body = await _get(http, "/v1/timeline", identifier="020 7946 0123", channel="voice")
    assert [i["interaction_id"] for i in body["items"]] == [f"call-{n}" for n in range(6)]
    first = body["items"][0]
    assert (first["campaign"], first["outcome"], first["queue"]) == ("Renewal", "sale", "Sales")
    assert first["ago"] == "12 hours ago"
    assert body["next_cursor"] is None


async def test_filters_combine(world):
    """campaign AND channel; period in months; direction."""
    http, *_ = world
    got = await _get(http, "/v1/timeline", identifier=CALLER, channel="voice", campaign="renewal")
    assert [i["interaction_id"] for i in got["items"]] == ["call-0"]
    got = await _get(http, "/v1/timeline", identifier=CALLER, period="3")
    assert [i["interaction_id"] for i in got["items"]] == ["call-0", "call-1", "call-2"]
    got = await _get(http, "/v1/timeline", identifier=CALLER, direction="outbound")
    assert got["items"] == []


async def test_current_interaction_sets_the_default_channel(world):
    """With `current` and no channel, only that interaction's channel is shown."""
    http, *_ = world
    got = await _get(http, "/v1/profiles/pat-1/timeline", current="mail-0")
    assert got["channels"] == ["email"]
    assert [i["interaction_id"] for i in got["items"]] == ["mail-0", "mail-1"]


async def test_parameter_spellings_of_the_brief_work_too(world):
    """`interaction_id=` is `current=`, `profile_id=` is `profile=` (insights, journey,
    detail)."""
    http, *_ = world
    got = await _get(http, "/v1/timeline", identifier=EMAIL, interaction_id="mail-1")
    assert got["channels"] == ["email"]
    for path in ("/v1/insights", "/v1/journey"):
        assert await _get(http, path, profile_id="pat-1") == await _get(http, path, profile="pat-1")
    got = await _get(http, "/v1/interactions/mail-0", profile_id="pat-1")
    assert got["item"]["title"] == "Quote 0"
    await _get(http, "/v1/interactions/mail-0", 404, identifier=CALLER)


async def test_cursor_pages_cover_the_profile_timeline_once(world):
    """Pages of 3 over the profile (phone + email) visit all 8 interactions once, in order."""
    http, *_ = world
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        body = await _get(http, "/v1/profiles/pat-1/timeline", **params)
        seen += [i["interaction_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == ["call-0", "mail-0", "mail-1", "call-1", "call-2", "call-3", "call-4", "call-5"]
    assert body["identifiers"] == 2


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/timeline", {}, 400, "missing_identifier"),
        ("/v1/timeline", {"identifier": "not a number"}, 400, "bad_identifier"),
        ("/v1/timeline", {"identifier": CALLER, "period": "5"}, 400, "bad_period"),
        ("/v1/timeline", {"identifier": CALLER, "channel": "fax"}, 400, "bad_channel"),
        ("/v1/timeline", {"identifier": CALLER, "cursor": "zzz"}, 400, "bad_cursor"),
        ("/v1/timeline", {"identifier": CALLER, "profile": "pat-1"}, 400, "ambiguous_scope"),
        ("/v1/profiles/nobody/timeline", {}, 404, "unknown_profile"),
        ("/v1/insights", {"profile": "nobody"}, 404, "unknown_profile"),
        ("/v1/interactions/nope", {"identifier": CALLER}, 404, "unknown_interaction"),
    ],
)
async def test_clear_errors(world, path, params, status, code):
    """Bad identifiers, unknown profiles and bad filters answer 4xx with a code."""
    http, *_ = world
    body = await _get(http, path, status, **params)
    assert body["error"]["code"] == code
    assert body["error"]["message"]


async def test_a_read_is_of_the_credentials_tenant_only(world):
    """Naming the key's own tenant is fine; naming any other one (even one that is not a
    valid tenant id) is 403 before storage, never a read of that tenant."""
    http, *_ = world
    own = await _get(http, "/v1/timeline", identifier=CALLER, tenant="acme")
    assert own["tenant"] == "acme"
    assert own["items"]
    for tenant in ("other", "a{b}"):
        body = await _get(http, "/v1/timeline", 403, identifier=CALLER, tenant=tenant)
        assert body["error"] == "forbidden"
        assert "items" not in body
    resp = await http.get(
        "/v1/timeline", params={"identifier": CALLER}, headers={"X-C360-Tenant": "other"}
    )
    assert resp.status == 403


async def test_insights_and_journey(world):
    """Two analysed calls give sentiment; the topics file's phrase is found; notes summarised;
    the campaign call is the journey."""
    http, *_ = world
    got = await _get(http, "/v1/insights", profile="pat-1")
    assert got["sentiment"]["available"] is True
    assert got["sentiment"]["count"] == 2
    assert [t["topic"] for t in got["topics"]["topics"]] == ["Refund"]
    assert "paper bills" in got["engagement"]["summary"]
    mail_only = await _get(http, "/v1/insights", identifier=EMAIL)
    assert mail_only["sentiment"]["available"] is False
    journey = await _get(http, "/v1/journey", identifier=CALLER)
    step = journey["days"][0]["interactions"][0]
    assert (step["campaign"], step["mode"], step["score"], step["failed"]) == (
        "Renewal",
        "home",
        6.0,
        False,
    )


async def test_interaction_detail_by_scope_or_by_its_party(world):
    """Detail with an identifier, or without one through the interaction's party record."""
    http, *_ = world
    got = await _get(http, "/v1/interactions/call-0", identifier=CALLER)
    assert got["item"]["transcript_text"].startswith("I would like")
    got = await _get(http, "/v1/interactions/call-3")
    assert got["item"]["interaction_id"] == "call-3"
    await _get(http, "/v1/interactions/call-4", 404)  # no party record, no scope given


async def test_a_replayed_duplicate_stream_leaves_every_read_unchanged(world):
    """Re-applying every event (shuffled) changes no answer of any route."""
    http, seed, _ = world
    routes = [
        ("/v1/timeline", {"identifier": CALLER}),
        ("/v1/profiles/pat-1/timeline", {"limit": "4"}),
        ("/v1/profiles/pat-1/timeline", {"current": "mail-0", "period": "3"}),
        ("/v1/timeline", {"identifier": CALLER, "campaign": "renewal", "channel": "voice"}),
        ("/v1/timeline", {"identifier": CALLER, "direction": "inbound", "limit": "2"}),
        ("/v1/insights", {"profile": "pat-1"}),
        ("/v1/journey", {"profile": "pat-1"}),
        ("/v1/interactions/call-0", {"identifier": CALLER}),
    ]
    before = [await _get(http, path, **params) for path, params in routes]
    await seed(shuffle=7)
    await seed(shuffle=8)
    assert [await _get(http, path, **params) for path, params in routes] == before


async def test_every_answer_matches_its_documented_model(world):
    """The models the OpenAPI document is generated from describe the real answers (every
    key documented: the models forbid others), on data with analyses, campaigns, profiles."""
    http, *_ = world
    reads = [
        ("/v1/timeline", {"identifier": CALLER}, read_models.Timeline),
        ("/v1/profiles/pat-1/timeline", {"limit": "4"}, read_models.Timeline),
        ("/v1/insights", {"profile": "pat-1"}, read_models.Insights),
        ("/v1/insights", {"identifier": EMAIL}, read_models.Insights),
        ("/v1/journey", {"profile": "pat-1"}, read_models.Journey),
        ("/v1/journey", {"identifier": EMAIL}, read_models.Journey),
        ("/v1/interactions/call-0", {"identifier": CALLER}, read_models.Interaction),
    ]
    for path, params, model in reads:
        model.model_validate(await _get(http, path, **params))
    read_models.Error.model_validate(await _get(http, "/v1/timeline", 400))


async def test_openapi_document_and_docs_page(world):
    """The OpenAPI document lists every route the app serves; /docs renders it as HTML."""
    http, *_ = world
    doc = await _get(http, "/openapi.json")
    assert doc["openapi"].startswith("3.1")
    served = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert served == set(mounted_routes(http.app)) == {op.key for op in ALL_OPERATIONS}
    assert {
        "/v1/timeline",
        "/v1/profiles/{profile_id}/timeline",
        "/v1/insights",
        "/v1/journey",
        "/v1/interactions/{interaction_id}",
        "/openapi.json",
        "/docs",
    } <= set(doc["paths"])
    page = await http.get("/docs")
    assert page.status == 200
    assert "GET /v1/timeline" in await page.text()


async def test_reads_never_show_an_entry_outside_the_window_before_it_expires(world):
    """Later, the older calls have left the 12-month window: hidden from every read while
    their keys still exist in Redis."""
    http, _, clock = world
    clock[0] = NOW + 330 * 86_400_000
    got = await _get(http, "/v1/timeline", identifier=CALLER, channel="voice")
    assert [i["interaction_id"] for i in got["items"]] == ["call-0"]
    await _get(http, "/v1/interactions/call-1", 404, identifier=CALLER)
    journey = await _get(http, "/v1/insights", identifier=CALLER)
    assert journey["interactions_considered"] == 1


async def test_the_composition_root_builds_the_query_api(redis_url, redis_namespace):
    """web.bootstrap's read side, as web.service builds it, serves the routes on Redis from
    the service settings."""
    from web.bootstrap import build_query_api, make_resolver  # noqa: PLC0415

    settings = StreamSettings.from_env(
        {
            "C360_ENV": "dev",
            "C360_REDIS_URL": redis_url,
            "C360_KEY_NAMESPACE": redis_namespace,
            "C360_TIMELINE_MAX_ENTRIES": "2",
        }
    )
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(redis_namespace), Retention())
    api, close = build_query_api(settings, QuerySettings(), lambda: NOW)
    deps = twin_deps(api)
    app = create_app(settings, deps)
    token = make_resolver(settings)("demo", CALLER).token
    for n in range(3):
        for event in voice_call(f"c-{n}", tenant="demo", start=T0 - timedelta(days=n)):
            await store.apply("demo", token, event, NOW)
    async with TestClient(TestServer(app), headers=bearer(deps, "demo")) as http:
        body = await _get(http, "/v1/timeline", identifier=CALLER)
        # The configured timeline length (2) is the default page size.
        assert body["tenant"] == "demo"
        assert [i["interaction_id"] for i in body["items"]] == ["c-0", "c-1"]
        assert body["next_cursor"] is not None
        assert (await _get(http, "/v1/profiles/x/timeline", 404))["error"]["code"] == (
            "unknown_profile"
        )
    await close()
    await client.aclose()


def _app(url: str, namespace: str) -> tuple[TestClient, Any, Any]:
    """A client of the service with a query API on `url` (each request with a key of
    tenant acme), with its timeline store and Redis client."""
    client, rm = _read_model(url, namespace)
    deps = twin_deps(QueryApi(rm, ReadApi(resolve, lambda: NOW, "acme")))
    app = create_app(StreamSettings.from_env({"C360_ENV": "dev"}), deps)
    return TestClient(TestServer(app), headers=bearer(deps, "acme")), rm.timeline, client


async def test_late_legs_and_analytics_update_the_one_item_in_place(redis_url, redis_namespace):
    """IVR, queue and agent A first; then a conference with agent B, both leg ends and late
    analytics: still one item, both agents, overlapping legs counted once, the AI title; a
    duplicate delivery of everything changes nothing."""
    served, store, client = _app(redis_url, redis_namespace)
    events = conference_call("conf-1")
    events.append(
        InteractionAnalyzed(
            eid(),
            "acme",
            T0 + timedelta(minutes=7),
            "conf-1",
            "voice",
            sentiment=-0.2,
            ai_title="Conference about a claim",
        )
    )
    token = resolve("acme", CALLER).token
    async with served as http:
        for event in events[:3]:
            await store.apply("acme", token, event, NOW)
        first = (await _get(http, "/v1/timeline", identifier=CALLER))["items"]
        assert [(i["interaction_id"], i["agents"]) for i in first] == [("conf-1", ["a1"])]
        for event in events[3:]:
            await store.apply("acme", token, event, NOW)
        after = await _get(http, "/v1/timeline", identifier=CALLER)
        (item,) = after["items"]
        assert (item["agents"], item["duration_seconds"], item["title"]) == (
            ["a1", "a2"],
            100,  # legs 30..130 and 65..120 overlap: 100 s, not 155
            "Conference about a claim",
        )
        assert [(leg["agent_name"], leg["duration_seconds"]) for leg in item["legs"]] == [
            ("Ada", 100),
            ("Bo", 55),
        ]
        for event in reversed(events + events):
            await store.apply("acme", token, event, NOW)
        assert await _get(http, "/v1/timeline", identifier=CALLER) == after
    await client.aclose()


async def test_an_unreachable_store_is_a_503_the_client_can_retry():
    """Redis not listening: every read route answers 503 store_unavailable, not a crash."""
    served, _, client = _app("redis://127.0.0.1:1/0", "c360x")  # nothing listens on port 1
    async with served as http:
        for path, params in [
            ("/v1/timeline", {"identifier": CALLER}),
            ("/v1/profiles/pat-1/timeline", {}),
            ("/v1/insights", {"identifier": CALLER}),
            ("/v1/journey", {"profile": "pat-1"}),
            ("/v1/interactions/call-0", {}),
        ]:
            body = await _get(http, path, 503, **params)
            assert body["error"]["code"] == "store_unavailable"
    await client.aclose()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(interaction_events(clustered=True), min_size=1, max_size=25),
    st.randoms(),
    st.sampled_from([None, "inbound"]),
    st.integers(1, 3),
)
async def test_redis_pages_equal_the_reference_fold(
    redis_url, redis_namespace, events, rnd, direction, limit
):
    """On Redis too: duplicates and any delivery order give the pages of the reference fold."""
    retention = Retention(max_entries=3, window_ms=90 * 86_400_000)
    client = redis_client(redis_url)
    store = RedisTimelineStore(client, Keys(f"{redis_namespace}{uuid.uuid4().hex[:6]}"), retention)
    now = to_ms(T0)
    delivery = events + events
    rnd.shuffle(delivery)
    for event in delivery:
        await store.apply("t", "tok", event, now)
    rm = ReadModel(store, retention)
    reference = visible(list(fold(events).values()), now, retention)
    query = TimelineQuery(CHANNELS, limit=limit, direction=direction)
    while True:
        got = await timeline_page(rm, "t", Scope(("tok",)), query, now)
        assert got == page(reference, query, now - retention.window_ms)
        if got.next_cursor is None:
            break
        query = replace(query, cursor=got.next_cursor)
    await client.aclose()
