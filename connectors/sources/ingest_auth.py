"""Ingest credentials as web.access verifiers: legacy tokens, X-C360-Signature, Twilio, dev."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiohttp import web

from connectors.crm.webhook_signature import DEFAULT_TOLERANCE_SECONDS, HEADER
from connectors.crm.webhook_signature import verify as verify_signature
from connectors.sources.ingest_settings import ANY_SOURCE, IngestSettings
from connectors.sources.signatures import validate_twilio
from core.access import INGEST_ANY, InvalidCredential, Principal, ingest_scope

TWILIO_HEADER = "X-Twilio-Signature"
# The handler calls this (a zero-argument callable) once the request was answered 202: only
# accepted requests count as "seen" for the replay check, so a sender may retry the very same
# signed request after a 429 or 503.
OnAccepted = Callable[[], None]
ON_ACCEPTED: web.RequestKey[OnAccepted] = web.RequestKey("c360.ingest.on_accepted")
# Remembered signatures are bounded: at the default rate limits a window holds far fewer.
MAX_REMEMBERED = 100_000
_INGEST = "ingest:"


def source_of(scope: str) -> str | None:
    """`genesys` of the scope `ingest:genesys`; None for every other scope."""
    return scope[len(_INGEST) :] if scope.startswith(_INGEST) else None


def tenant_named(request: web.Request, default_tenant: str) -> str:
    """The tenant a signed request claims (query, then X-C360-Tenant, as web.access.named_tenant
    reads it; else the default). The signature then has to prove it."""
    return request.query.get("tenant") or request.headers.get("X-C360-Tenant") or default_tenant


async def read_body(request: web.Request) -> bytes:
    """The body, read once (aiohttp keeps it for the handler); over the application's
    client_max_size it is the handler's 413, raised here because a signature covers it."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        detail = {"error": "payload_too_large", "detail": exc.text or "the body is too large"}
        raise web.HTTPRequestEntityTooLarge(
            max_size=request.client_max_size,
            text=json.dumps(detail),
            content_type="application/json",
        ) from exc


def dev_principal(tenant: str) -> Principal:
    """Who an unauthenticated dev-stack request is: the default tenant, any source."""
    return Principal("dev", "ingest-open", tenant, frozenset({INGEST_ANY}))


def _scopes(source: str) -> frozenset[str]:
    return frozenset({INGEST_ANY if source == ANY_SOURCE else ingest_scope(source)})


class LegacyTokens:
    """C360_INGEST_TOKENS as a BearerVerifier: `tenant:token` carries ingest:*,
    `tenant/source:token` ingest:<source>; the principal is that tenant's."""

    def __init__(self, tokens: Mapping[tuple[str, str], tuple[str, ...]]) -> None:
        self._entries = [
            (tenant, source, n, token.encode())
            for (tenant, source), secrets in tokens.items()
            for n, token in enumerate(secrets, start=1)
        ]

    async def verify(self, token: str) -> Principal | None:
        """The token's principal, or None when it is none of these (an API key, a JWT)."""
        presented = token.encode()
        matched = []
        # Every entry is compared (no early exit), each in constant time, so the response
        # time says nothing about which or how much of a token matched.
        for tenant, source, n, secret in self._entries:
            if hmac.compare_digest(presented, secret):
                matched.append((tenant, source, n))
        if not matched:
            return None
        # The settings refuse a token shared by two tenants: every match is one tenant's.
        tenant, source, n = matched[0]
        scopes = frozenset().union(*(_scopes(s) for _, s, _ in matched))
        return Principal("ingest_token", f"{tenant}/{source}#{n}", tenant, scopes)


class ReplayGuard:
    """Signed requests already accepted within their window, by a digest of what was signed
    (tenant, source, timestamp, body). In-process: behind several web replicas a replay sent
    to another replica passes (it is still idempotent downstream: same event ids)."""

    def __init__(self, capacity: int = MAX_REMEMBERED) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()
        self._capacity = capacity

    def seen(self, key: str, now: float) -> bool:
        """True when `key` was accepted and its window has not ended."""
        until = self._until.get(key)
        return until is not None and until >= now

    def remember(self, key: str, until: float, now: float) -> None:
        """Refuse `key` again until `until` (unix seconds)."""
        self._until[key] = until
        self._until.move_to_end(key)
        while self._until and (
            len(self._until) > self._capacity or next(iter(self._until.values())) < now
        ):
            self._until.popitem(last=False)


def _stamp(header: str) -> int | None:
    stamps = [
        v.strip() for k, _, v in (p.partition("=") for p in header.split(",")) if k.strip() == "t"
    ]
    return int(stamps[0]) if len(stamps) == 1 and stamps[0].isdigit() else None


class SignedRequests:
    """X-C360-Signature (`t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>`, the scheme
    of our outbound webhook) as a RequestVerifier: the tenant the request names must have a
    secret for the route's source (or for every source) that signed exactly this body within
    `tolerance` seconds; an accepted signature is refused again within its window."""

    def __init__(
        self,
        secrets: Mapping[tuple[str, str], tuple[str, ...]],
        default_tenant: str,
        tolerance: int = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
        replays: ReplayGuard | None = None,
    ) -> None:
        self._secrets = secrets
        self._default = default_tenant
        self._tolerance = tolerance
        self._clock = clock
        self._replays = replays or ReplayGuard()

    async def verify(self, request: web.Request, scope: str) -> Principal | None:
        """The principal of a valid signature; None without the header or off ingest."""
        header = request.headers.get(HEADER)
        source = source_of(scope)
        if header is None or source is None:
            return None
        tenant = tenant_named(request, self._default)
        candidates = [
            (entry, secret)
            for entry in (source, ANY_SOURCE)
            for secret in self._secrets.get((tenant, entry), ())
        ]
        if not candidates:
            raise InvalidCredential(f"{HEADER}: no signing secret for this tenant and source")
        stamp = _stamp(header)
        now = self._clock()
        if stamp is None:
            raise InvalidCredential(f"{HEADER} is not t=<unix seconds>,v1=<hex>")
        if abs(now - stamp) > self._tolerance:
            raise InvalidCredential(
                f"{HEADER}: the timestamp is outside the {self._tolerance} s window"
            )
        body = await read_body(request)
        # Every secret is tried (rotation: old and new are both configured for a while).
        matched = [
            entry
            for entry, secret in candidates
            if verify_signature(secret, body, header, int(now), self._tolerance)
        ]
        if not matched:
            raise InvalidCredential(f"{HEADER} does not match this request")
        digest = hashlib.sha256(f"{tenant}\0{source}\0{stamp}.".encode() + body).hexdigest()
        if self._replays.seen(digest, now):
            raise InvalidCredential(f"{HEADER}: this signed request was already accepted")
        until = stamp + self._tolerance

        def accepted() -> None:
            self._replays.remember(digest, until, self._clock())

        request[ON_ACCEPTED] = accepted
        entry = matched[0]
        return Principal("ingest_signature", f"{tenant}/{entry}", tenant, _scopes(entry))


class TwilioSignatures:
    """X-Twilio-Signature as a RequestVerifier for ingest:twilio: the tenant named in the
    webhook URL (`?tenant=`) must have a Twilio auth token that signed this request."""

    def __init__(
        self, tokens: Mapping[str, str], default_tenant: str, public_base_url: str | None = None
    ) -> None:
        self._tokens = tokens
        self._default = default_tenant
        self._public = public_base_url

    async def verify(self, request: web.Request, scope: str) -> Principal | None:
        """The principal of a valid signature; None without the header or off ingest:twilio."""
        signature = request.headers.get(TWILIO_HEADER)
        if signature is None or scope != ingest_scope("twilio"):
            return None
        tenant = tenant_named(request, self._default)
        token = self._tokens.get(tenant)
        if token is None:
            raise InvalidCredential(f"{TWILIO_HEADER}: no Twilio auth token for this tenant")
        body = await read_body(request)
        if not self._valid(request, body, token, signature):
            raise InvalidCredential(f"{TWILIO_HEADER} does not match this request")
        return Principal("twilio", f"{tenant}/twilio", tenant, frozenset({scope}))

    def _valid(self, request: web.Request, body: bytes, token: str, signature: str) -> bool:
        form = request.content_type == "application/x-www-form-urlencoded"
        try:
            params = parse_qsl(body.decode(), keep_blank_values=True) if form else None
        except UnicodeDecodeError:
            return False
        return any(
            validate_twilio(token, url, signature, params, body=None if form else body)
            for url in self._urls(request)
        )

    def _urls(self, request: web.Request) -> list[str]:
        # Twilio signs the URL it called; behind a proxy that is the public URL, not ours.
        # Trusting forwarded headers is safe here: the HMAC still needs the auth token.
        if self._public:
            return [self._public + request.raw_path]
        urls = [str(request.url)]
        proto = request.headers.get("X-Forwarded-Proto")
        host = request.headers.get("X-Forwarded-Host") or request.host
        if proto:
            urls.append(f"{proto.split(',')[0].strip()}://{host}{request.raw_path}")
        return urls


@dataclass(frozen=True, slots=True)
class DevOpen:
    """C360_ENV=dev with no ingest credential configured: any ingest request without a
    credential is the default tenant's (a request naming another tenant is then 403)."""

    default_tenant: str

    async def verify(self, request: web.Request, scope: str) -> Principal | None:
        """The default tenant's dev principal on ingest routes; None elsewhere."""
        return dev_principal(self.default_tenant) if source_of(scope) is not None else None


IngestVerifiers = tuple[
    tuple[LegacyTokens, ...], tuple[SignedRequests | TwilioSignatures | DevOpen, ...]
]


def ingest_verifiers(
    settings: IngestSettings, default_tenant: str, clock: Callable[[], float] = time.time
) -> IngestVerifiers:
    """(bearer verifiers, request verifiers) for web.access.Access from the ingest section:
    only the kinds configured; the open dev verifier only in dev with none configured."""
    bearers = (LegacyTokens(settings.tokens),) if settings.tokens else ()
    signed: list[SignedRequests | TwilioSignatures | DevOpen] = []
    if settings.signing_secrets:
        signed.append(SignedRequests(settings.signing_secrets, default_tenant, clock=clock))
    if settings.twilio_auth_tokens:
        signed.append(
            TwilioSignatures(settings.twilio_auth_tokens, default_tenant, settings.public_base_url)
        )
    if settings.open:
        signed.append(DevOpen(default_tenant))
    return bearers, tuple(signed)
