"""The web process's composition root: the Redis- and Kafka-backed WebDeps from settings."""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Awaitable, Callable, Mapping

import structlog

from connectors.crm.agent_oauth import AgentOAuth
from connectors.crm.routing import CrmRouting, load_routing
from connectors.crm.worker import adapter_factory
from connectors.gateway.crms import CrmIdentity, CrmMenu
from connectors.gateway.desk import CrmDesk, ProfileDesk
from connectors.gateway.hub import Hub
from connectors.gateway.kafka_feed import KafkaPopFeed, KafkaPopLog
from connectors.gateway.pops import Decoder
from connectors.gateway.settings import GatewayConfig, GatewaySettings
from connectors.gateway.web import Gateway
from connectors.sources.ingest_auth import ingest_verifiers
from connectors.sources.ingest_settings import IngestSettings
from connectors.sources.ingest_web import Ingest, IngestConfig, ingest_producer
from core.errors import InvalidIdentifier
from core.ports import Party
from core.timeline import Retention
from infra.kafka_config import KafkaEndpoint
from infra.kafka_producer import KafkaProducer
from infra.oidc import JwksVerifier, aiohttp_fetch
from infra.settings_access import AccessSettings
from infra.settings_crm_oauth import CrmOAuthConfig
from infra.settings_web import QuerySettings
from infra.token_crypto import FernetSealer
from projections.entry_cache import EntryCache
from projections.keys import Keys
from projections.reads import ReadModel
from projections.redis_activities import RedisInteractionActivities
from projections.redis_agent_tokens import RedisAgentTokens
from projections.redis_api_keys import RedisApiKeys
from projections.redis_client import redis_client
from projections.redis_links import RedisInteractionLinks
from projections.redis_parties import RedisInteractionParties
from projections.redis_profile_search import RedisProfileSearchIndex
from projections.redis_profiles import RedisProfileDirectory
from projections.redis_rate_limiter import RedisRateLimiter
from projections.redis_timeline_reads import CachedRedisTimeline
from projections.topic_config import TopicConfig
from schemas import codec
from schemas.topics import CONTACTS, DESKTOP, DLQ, INTERACTIONS, SCREENPOPS
from streams.bootstrap import wall_clock_ms
from streams.directory import load_configs
from streams.handlers import party_for_identifier
from streams.settings import StreamSettings
from web.access import Access, BearerVerifier, RequestVerifier
from web.app import WebDeps
from web.credentials import ApiKeyVerifier, DesktopTokenVerifier, OidcVerifier
from web.read_api import ReadApi
from web.read_routes import Gate, QueryApi

# Identifier -> Party is a pure function of the settings; an agent desktop asks for the same
# few callers again and again, and normalizing + hashing is a noticeable part of a read.
RESOLVED_CACHE = 4096
Closer = Callable[[], Awaitable[object]]
ACCESS_TIMEOUT_SECONDS = 2.0
log = structlog.get_logger("web.bootstrap")


def make_resolver(settings: StreamSettings) -> Callable[[str, str], Party]:
    """Identifier in any accepted format -> Party (ValueError when it cannot be read);
    successful resolutions are kept in a bounded LRU (errors are not)."""

    @functools.lru_cache(maxsize=RESOLVED_CACHE)
    def resolve(tenant: str, identifier: str) -> Party:
        try:
            return party_for_identifier(tenant, identifier, settings)
        except InvalidIdentifier as exc:
            raise ValueError(str(exc)) from exc

    return resolve


def build_query_api(
    settings: StreamSettings, limits: QuerySettings, clock_ms: Callable[[], int] = wall_clock_ms
) -> tuple[QueryApi, Closer]:
    """The read routes' stores on one Redis client (connects on first use), with the
    resolver and the clock; and how to close that client."""
    client = redis_client(settings.redis_url)
    keys = Keys(settings.key_namespace)
    retention = Retention(
        settings.timeline_max_entries, settings.timeline_retention_days * 86_400_000
    )
    cache = EntryCache(limits.cache_entries)
    rm = ReadModel(
        timeline=CachedRedisTimeline(client, keys, retention, cache),
        retention=retention,
        profiles=RedisProfileDirectory(client, keys),
        links=RedisInteractionLinks(client, keys),
        parties=RedisInteractionParties(client, keys, settings.party_link_ttl_seconds),
        topics=TopicConfig(settings.topics_file or None),
    )
    base = ReadApi(make_resolver(settings), clock_ms, settings.default_tenant)
    api = QueryApi(rm, base, settings.timeline_max_entries, cache, Gate(limits.max_inflight))
    return api, client.aclose


def _decoder(schema_registry_url: str) -> Decoder:
    if not schema_registry_url:
        return codec.decode
    from infra.schema_registry import registry_codec  # noqa: PLC0415

    # Blocking look-ups are fine here: the decoder runs in the feed's and re-reads' threads.
    confluent = registry_codec(schema_registry_url)
    return lambda data: codec.decode(data, confluent=confluent)


def crm_routing(env: Mapping[str, str]) -> CrmRouting:
    """The CRM routing the sink uses (C360_CRM_ROUTING_FILE / C360_CRM_DEFAULT); a bad
    routing file fails the start."""
    return load_routing(env.get("C360_CRM_ROUTING_FILE") or None,
                        env.get("C360_CRM_DEFAULT") or None)


def build_crm_menu(
    settings: StreamSettings, routing: CrmRouting
) -> tuple[CrmMenu | None, Closer | None]:
    """The CRM menu of GET /v1/desktop/crms: the routing and the activity log the streams
    process keeps the agents' choices in; None when no CRM is routed."""
    if not routing.crms():
        return None, None
    client = redis_client(settings.redis_url)
    log_ = RedisInteractionActivities(client, Keys(settings.key_namespace),
                                      (settings.timeline_retention_days or 400) * 86_400)
    return CrmMenu(routing, log_), client.aclose


def build_desk(
    settings: StreamSettings, env: Mapping[str, str], routing: CrmRouting | None = None
) -> ProfileDesk:
    """The desktop's profile side: directory and search index on a Redis client of their
    own (connects on first use), the tenant configs, and the CRM adapters of the routing
    (C360_CRM_ROUTING_FILE / C360_CRM_DEFAULT, C360_CRM_<VENDOR>_*) opened on first use,
    built as the sink worker builds them."""
    client = redis_client(settings.redis_url)
    keys = Keys(settings.key_namespace)
    schema, layouts = load_configs(settings.profile_schema_file, settings.layout_file)
    routing = routing if routing is not None else crm_routing(env)
    crms = CrmDesk(routing, opener=lambda: adapter_factory(env)(frozenset(routing.crms()), env))
    return ProfileDesk(
        profiles=RedisProfileDirectory(client, keys, schema.policy_for),
        search=RedisProfileSearchIndex(client, keys),
        pepper=settings.pii_pepper,
        region_for=settings.region_for,
        contacts_topic=settings.topic_prefix + CONTACTS,
        crms=crms,
        schemas=schema,
        layouts=layouts,
        on_close=client.aclose,
    )


def build_gateway(
    settings: StreamSettings,
    env: Mapping[str, str],
    decode: Decoder | None = None,
    desk: ProfileDesk | None = None,
    crm_menu: CrmMenu | None = None,
) -> Gateway:
    """Kafka-backed feed, re-reads and action publisher (their clients connect when the app
    starts or on first use, never here); C360_GATEWAY_* from `env`."""
    # The service's own mode (StreamSettings.env, from the same C360_ENV) decides dev login.
    gws = GatewaySettings.from_env({"C360_ENV": settings.env, **env})
    config = GatewayConfig(
        bootstrap=settings.kafka_bootstrap_servers,
        screenpops_topic=settings.topic_prefix + SCREENPOPS,
        desktop_topic=settings.topic_prefix + DESKTOP,
        default_tenant=settings.default_tenant,
        schema_registry_url=settings.schema_registry_url,
    )
    decode = decode or _decoder(config.schema_registry_url)
    kafka = KafkaEndpoint.from_settings(settings)
    return Gateway(
        settings=gws,
        config=config,
        hub=Hub(gws.buffer_size, gws.recent_seconds * 1000, lambda: int(time.time() * 1000)),
        feed=KafkaPopFeed(
            kafka, config.screenpops_topic, decode, gws.warm_records, gws.recent_seconds
        ),
        pop_log=KafkaPopLog(kafka, config.screenpops_topic, decode, gws.max_reread),
        publisher=KafkaProducer(kafka, "c360-gateway", delivery_timeout_s=10.0),
        desk=desk or build_desk(settings, env),
        crm_menu=crm_menu,
    )


def build_ingest(settings: StreamSettings, env: Mapping[str, str]) -> tuple[Ingest, Closer]:
    """The ingest handler on a Kafka producer (connects on first use); C360_INGEST_* from
    `env`; and how to close the producer."""
    auth = IngestSettings.from_env(env)
    config = IngestConfig(
        settings.topic_prefix + INTERACTIONS,
        settings.topic_prefix + DLQ,
        settings.max_payload_bytes,
        settings.default_tenant,
        auth,
    )
    publisher = ingest_producer(settings, auth.ack_timeout_seconds, config.max_payload_bytes)
    if auth.open:
        log.warning("ingest_unauthenticated", reason="C360_ENV=dev and no ingest credentials")
    return Ingest(config, publisher), publisher.close


# --- Ingest credentials (issue 9, ingest part) ---------------------------------------------
# web.access.Access is built with these: bearers=(<API keys>, <agent JWTs>, *ingest[0]),
# signed=(*ingest[1],), where ingest = ingest_credentials(settings, env).
def ingest_credentials(
    settings: StreamSettings, env: Mapping[str, str]
) -> tuple[tuple[BearerVerifier, ...], tuple[RequestVerifier, ...]]:
    """The ingest sources' verifiers: legacy C360_INGEST_TOKENS (bearer), X-C360-Signature
    and X-Twilio-Signature (per tenant), and the open dev stack (dev with none configured)."""
    return ingest_verifiers(IngestSettings.from_env(env), settings.default_tenant)


# ------------------------------------------------------------------------------------------


def build_access(
    settings: StreamSettings,
    access: AccessSettings,
    gateway: Gateway,
    ingest: tuple[tuple[BearerVerifier, ...], tuple[RequestVerifier, ...]] = ((), ()),
) -> tuple[Access, Closer]:
    """The access check on Redis (key records, shared rate budgets; a client of its own, so
    a burst of reads never delays a credential check) with every bearer verifier; and how
    to close that client."""
    # A short timeout: a paused Redis must give 503 quickly, like a read past its deadline.
    client = redis_client(settings.redis_url, timeout_seconds=ACCESS_TIMEOUT_SECONDS)
    keys = Keys(settings.key_namespace)
    oidc = access.oidc
    verifiers = (
        ApiKeyVerifier(RedisApiKeys(client, keys)),
        DesktopTokenVerifier(gateway.settings.secret, gateway.clock),
        OidcVerifier(None if oidc is None else JwksVerifier(oidc, aiohttp_fetch())),
    )
    if oidc is None:
        log.info("oidc_not_configured", reason="agent JWTs of an external issuer are refused")
    # The ingest sources' own credentials (legacy tokens; signatures) follow the service's.
    bearers: tuple[BearerVerifier, ...] = (*verifiers, *ingest[0])
    limiter = RedisRateLimiter(client, keys)
    return Access(bearers, ingest[1], limiter, access.limits), client.aclose


def build_crm_identity(
    settings: StreamSettings, env: Mapping[str, str]
) -> tuple[CrmIdentity, Closer | None]:
    """Per-agent CRM identity (C360_CRM_<VENDOR>_OAUTH_*, C360_CRM_TOKEN_*): the connect
    flow on the sealed Redis token store, or off when no CRM has an OAuth app."""
    config = CrmOAuthConfig.from_env({"C360_ENV": settings.env, **env})
    if not config.enabled:
        return CrmIdentity(), None
    client = redis_client(settings.redis_url)
    store = RedisAgentTokens(client, Keys(settings.key_namespace),
                             FernetSealer(config.token_keys), config.id_key)
    oauth = AgentOAuth(config.apps, store, config.id_key,
                       state_ttl_seconds=config.state_ttl_seconds)
    log.info("agent_crm_identity_enabled", crms=sorted(config.apps))
    return CrmIdentity(oauth), client.aclose


def build_web_deps(settings: StreamSettings, env: Mapping[str, str] | None = None) -> WebDeps:
    """Everything the web process serves with, from its settings and `env` (default: the
    environment) for the parts still configured there (read limits, gateway, ingest)."""
    env = os.environ if env is None else env
    query, close_query = build_query_api(settings, QuerySettings.from_env(env))
    # Readiness pings on a client of its own (as the service always did), so the probe never
    # waits behind a burst of reads for one of their connections.
    probe = redis_client(settings.redis_url)
    ingest, close_ingest = build_ingest(settings, env)
    routing = crm_routing(env)  # read once: the CRM menu and the desk's CRM search share it
    menu, close_menu = build_crm_menu(settings, routing)
    gateway = build_gateway(settings, env, desk=build_desk(settings, env, routing),
                            crm_menu=menu)
    access, close_access = build_access(
        settings, AccessSettings.from_env(env), gateway, ingest_credentials(settings, env)
    )
    crm_identity, close_identity = build_crm_identity(settings, env)
    closers = (close_query, probe.aclose, close_ingest, close_access,
               *((close_menu,) if close_menu else ()))
    return WebDeps(
        query=query,
        store=probe,
        gateway=gateway,
        ingest=ingest,
        access=access,
        closers=(*closers, close_identity) if close_identity else closers,
        crm_identity=crm_identity,
    )
