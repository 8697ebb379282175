"""The pure access model: scopes, tenant binding, API key format and checks, rate limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.access import Principal, decide, ingest_scope, valid_scope
from core.api_keys import ApiKey, InvalidKey, compose, secret_hash, split, verify
from core.rate_limits import RateLimit, gcra, parse_rate_limits

READER = Principal("api_key", "k1", "acme", frozenset({"timeline:read"}))


def test_no_credential_is_401_and_a_missing_scope_403():
    assert decide(None, "timeline:read").status == 401
    assert decide(READER, "desktop").status == 403
    assert "desktop" in decide(READER, "desktop").reason
    assert decide(READER, "timeline:read").allowed


def test_naming_another_tenant_is_403_whatever_the_scopes():
    root = Principal("api_key", "k0", "acme", frozenset({"*"}))
    assert decide(root, "admin", "acme").allowed
    assert decide(root, "admin", "beta").status == 403
    assert decide(READER, "timeline:read", "beta").status == 403


def test_ingest_wildcard_covers_every_source_and_only_ingest():
    ingest = Principal("api_key", "k2", "acme", frozenset({"ingest:*"}))
    assert decide(ingest, ingest_scope("twilio")).allowed
    assert decide(ingest, "timeline:read").status == 403
    only = Principal("api_key", "k3", "acme", frozenset({"ingest:genesys"}))
    assert decide(only, ingest_scope("twilio")).status == 403


def test_scope_vocabulary():
    for scope in ("timeline:read", "desktop", "admin", "ingest:*", "ingest:amazon_connect", "*"):
        assert valid_scope(scope)
    for scope in ("", "timeline", "ingest:", "read:all", "ingest:Twilio!"):
        assert not valid_scope(scope)


def record(**kw: object) -> ApiKey:
    base = {"key_id": "0123456789abcdef", "tenant": "acme", "scopes": frozenset({"admin"}),
            "name": "ops", "created_ms": 0, "expires_ms": 1_000,
            "secret_sha256": secret_hash("x" * 43)}
    return ApiKey(**{**base, **kw})  # type: ignore[arg-type]


def test_api_key_round_trip_and_every_refusal():
    key_id, secret = split(compose("0123456789abcdef", "x" * 43))
    assert (key_id, secret) == ("0123456789abcdef", "x" * 43)
    assert verify(record(), secret, 10).scopes == frozenset({"admin"})
    with pytest.raises(InvalidKey, match="expired"):
        verify(record(), secret, 1_000)
    with pytest.raises(InvalidKey, match="revoked"):
        verify(record(revoked_ms=5), secret, 10)
    with pytest.raises(InvalidKey, match="unknown"):
        verify(record(), "y" * 43, 10)
    with pytest.raises(InvalidKey, match="unknown"):
        verify(None, secret, 10)
    for garbage in ("", "Bearer x", "c360k_short_x", "c360k_0123456789abcdef_" + "x" * 42):
        with pytest.raises(InvalidKey):
            split(garbage)


def test_refusals_never_quote_the_secret():
    with pytest.raises(InvalidKey) as info:
        verify(record(), "z" * 43, 10)
    assert "z" * 10 not in str(info.value)


def test_rate_limit_config():
    limits = parse_rate_limits("acme:10/s:5, *:2/s", RateLimit(50, 100))
    assert limits.of("acme") == RateLimit(10, 5)
    assert limits.of("other") == RateLimit(2, 4)
    with pytest.raises(ValueError, match="entry #1"):
        parse_rate_limits("acme:fast", RateLimit(1, 1))
    with pytest.raises(ValueError, match="entry #2"):
        parse_rate_limits("acme:1/s,{bad}:1/s", RateLimit(1, 1))


@given(st.floats(0.5, 200), st.integers(1, 50), st.lists(st.floats(0, 50), max_size=200))
def test_gcra_never_admits_more_than_burst_plus_rate_times_elapsed(rate, burst, gaps):
    limit = RateLimit(rate, burst)
    now, tat, admitted = 0.0, 0.0, 0
    for gap in gaps:
        now += gap
        ok, tat, wait = gcra(tat, now, limit)
        admitted += ok
        assert ok == (wait == 0.0)
    assert admitted <= burst + rate * now / 1000 + 1
