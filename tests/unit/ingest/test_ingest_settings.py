"""Ingest credentials: parsing C360_INGEST_* and the 401/403 decision table."""

from __future__ import annotations

import pytest

from connectors.sources.ingest_settings import IngestConfigError, IngestSettings


def test_tokens_parse_per_tenant_and_per_source() -> None:
    """'tenant:token' applies to every source, 'tenant/source:token' to one; both may repeat."""
    s = IngestSettings.from_env(
        {"C360_INGEST_TOKENS": "acme:t1, acme:t2,acme/twilio:tw,beta:b1",
         "C360_TWILIO_AUTH_TOKENS": "acme:auth"}
    )
    assert s.tokens == {("acme", "*"): ("t1", "t2"), ("acme", "twilio"): ("tw",),
                        ("beta", "*"): ("b1",)}
    assert s.twilio_auth_tokens == {"acme": "auth"}
    assert not s.dev and not s.open


def test_bad_entries_are_all_reported_without_secrets() -> None:
    """Every malformed entry is listed; the message never quotes a secret."""
    with pytest.raises(IngestConfigError) as info:
        IngestSettings.from_env(
            {"C360_INGEST_TOKENS": "nocolon,acme:,bad tenant!:sekrit",
             "C360_INGEST_ACK_TIMEOUT_MS": "soon", "C360_INGEST_PUBLIC_URL": "ftp://x"}
        )
    text = str(info.value)
    assert "#1" in text and "#2" in text and "#3" in text
    assert "C360_INGEST_ACK_TIMEOUT_MS" in text and "C360_INGEST_PUBLIC_URL" in text
    assert "sekrit" not in text


def test_defaults_and_options() -> None:
    """Ack timeout in ms, public URL without its trailing slash, dev flag from C360_ENV."""
    s = IngestSettings.from_env(
        {"C360_ENV": "dev", "C360_INGEST_ACK_TIMEOUT_MS": "2500",
         "C360_INGEST_PUBLIC_URL": "https://hooks.example.com/"}
    )
    assert s.ack_timeout_seconds == 2.5
    assert s.public_base_url == "https://hooks.example.com"
    assert s.dev and s.open
    assert IngestSettings.from_env({}).ack_timeout_seconds == 10.0


def test_dev_is_open_only_without_any_credential() -> None:
    """Dev mode alone does not open ingest once any credential is configured."""
    s = IngestSettings.from_env({"C360_ENV": "dev", "C360_TWILIO_AUTH_TOKENS": "acme:x"})
    assert not s.open
    assert s.authorize("acme", "genesys", None, None).status == 401


def test_prod_without_credentials_rejects_everything() -> None:
    """Outside dev, no configured token means nobody may ingest."""
    s = IngestSettings.from_env({})
    assert s.authorize("acme", "canonical", "anything", None).status == 401
    assert s.authorize("acme", "canonical", None, None).status == 401


AUTH = IngestSettings.from_env(
    {"C360_INGEST_TOKENS": "acme:s3cr-all,acme/genesys:s3cr-gen,beta:s3cr-beta",
     "C360_TWILIO_AUTH_TOKENS": "acme:s3cr-tw"}
)


@pytest.mark.parametrize(
    ("tenant", "source", "bearer", "twilio_ok", "status"),
    [
        ("acme", "canonical", "s3cr-all", None, 0),
        ("acme", "genesys", "s3cr-gen", None, 0),
        ("acme", "genesys", "s3cr-all", None, 0),
        ("acme", "asterisk", "s3cr-gen", None, 403),  # valid, but for another source
        ("acme", "canonical", "s3cr-beta", None, 403),  # valid, but for another tenant
        ("beta", "genesys", "s3cr-gen", None, 403),
        ("acme", "canonical", "s3cr-nope", None, 401),
        ("acme", "canonical", None, None, 401),
        ("gamma", "canonical", None, None, 401),
        ("acme", "twilio", None, True, 0),  # Twilio cannot send a bearer: signature only
        ("acme", "twilio", "s3cr-all", None, 401),  # Twilio token set: signature needed
        ("acme", "twilio", None, False, 401),
        ("beta", "twilio", "s3cr-beta", None, 0),  # no Twilio token for beta: bearer rules
    ],
)
def test_decision_table(
    tenant: str, source: str, bearer: str | None, twilio_ok: bool | None, status: int
) -> None:
    """Unknown or missing credentials are 401; credentials for another scope are 403."""
    decision = AUTH.authorize(tenant, source, bearer, twilio_ok)
    assert decision.status == status
    assert decision.allowed is (status == 0)
    assert "s3cr" not in decision.reason
