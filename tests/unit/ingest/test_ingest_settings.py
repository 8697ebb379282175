"""Ingest credentials: parsing C360_INGEST_* and the 401/403 decision table."""

from __future__ import annotations

import pytest

from connectors.sources.ingest_settings import IngestConfigError, IngestSettings


def test_tokens_parse_per_tenant_and_per_source() -> None:
    """'tenant:token' applies to every source, 'tenant/source:token' to one; both may repeat."""
    s = IngestSettings.from_env(
        {
            "C360_INGEST_TOKENS": "acme:t1, acme:t2,acme/twilio:tw,beta:b1",
            "C360_TWILIO_AUTH_TOKENS": "acme:auth",
        }
    )
    assert s.tokens == {
        ("acme", "*"): ("t1", "t2"),
        ("acme", "twilio"): ("tw",),
        ("beta", "*"): ("b1",),
    }
    assert s.twilio_auth_tokens == {"acme": "auth"}
    assert not s.dev and not s.open


def test_bad_entries_are_all_reported_without_secrets() -> None:
    """Every malformed entry is listed; the message never quotes a secret."""
    with pytest.raises(IngestConfigError) as info:
        IngestSettings.from_env(
            {
                "C360_INGEST_TOKENS": "nocolon,acme:,bad tenant!:sekrit",
                "C360_INGEST_ACK_TIMEOUT_MS": "soon",
                "C360_INGEST_PUBLIC_URL": "ftp://x",
            }
        )
    text = str(info.value)
    assert "#1" in text and "#2" in text and "#3" in text
    assert "C360_INGEST_ACK_TIMEOUT_MS" in text and "C360_INGEST_PUBLIC_URL" in text
    assert "sekrit" not in text


def test_defaults_and_options() -> None:
    """Ack timeout in ms, public URL without its trailing slash, dev flag from C360_ENV."""
    s = IngestSettings.from_env(
        {
            "C360_ENV": "dev",
            "C360_INGEST_ACK_TIMEOUT_MS": "2500",
            "C360_INGEST_PUBLIC_URL": "https://hooks.example.com/",
        }
    )
    assert s.ack_timeout_seconds == 2.5
    assert s.public_base_url == "https://hooks.example.com"
    assert s.dev and s.open
    assert IngestSettings.from_env({}).ack_timeout_seconds == 10.0


def test_dev_is_open_only_without_any_credential() -> None:
    """Dev mode alone does not open ingest once any credential is configured."""
    for env in (
        {"C360_TWILIO_AUTH_TOKENS": "acme:x"},
        {"C360_INGEST_TOKENS": "acme:x"},
        {"C360_INGEST_SIGNING_SECRETS": "acme:0123456789abcdef"},
    ):
        assert not IngestSettings.from_env({"C360_ENV": "dev", **env}).open
    assert not IngestSettings.from_env({"C360_ENV": "prod"}).open
    assert not IngestSettings.from_env({}).open


def test_signing_secrets_parse_like_tokens_and_must_be_long() -> None:
    """C360_INGEST_SIGNING_SECRETS: tenant[/source]:secret, several for rotation, >= 16
    characters; the error names the scope, never the secret."""
    s = IngestSettings.from_env(
        {"C360_INGEST_SIGNING_SECRETS": f"acme:{'a' * 16},acme:{'b' * 16},beta/genesys:{'c' * 16}"}
    )
    assert s.signing_secrets == {
        ("acme", "*"): ("a" * 16, "b" * 16),
        ("beta", "genesys"): ("c" * 16,),
    }
    assert "aaaa" not in repr(s) and "aaaa" not in str(s.model_dump())
    with pytest.raises(IngestConfigError) as info:
        IngestSettings.from_env({"C360_INGEST_SIGNING_SECRETS": "acme/genesys:short-sekrit"})
    assert "acme/genesys" in str(info.value) and "short-sekrit" not in str(info.value)


def test_one_token_cannot_belong_to_two_tenants() -> None:
    """The tenant of an event is the token's: a token shared by tenants is refused."""
    with pytest.raises(IngestConfigError) as info:
        IngestSettings.from_env({"C360_INGEST_TOKENS": "acme:same-sekrit,beta:same-sekrit"})
    assert "acme" in str(info.value) and "same-sekrit" not in str(info.value)
    ok = IngestSettings.from_env({"C360_INGEST_TOKENS": "acme:t,acme/genesys:t"})
    assert ok.tokens == {("acme", "*"): ("t",), ("acme", "genesys"): ("t",)}
