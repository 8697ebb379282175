"""Faust's (aiokafka's) broker credentials from the same C360_KAFKA_* security settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

from infra.kafka_config import KafkaSecurity, KafkaSettings


def broker_credentials(settings: KafkaSettings) -> faust.auth.Credentials | None:
    """`faust.App(broker_credentials=...)`: SASL (with a TLS context for SASL_SSL), TLS
    only, or None for PLAINTEXT. The TLS context trusts C360_KAFKA_SSL_CA_FILE (else the
    system's store) and presents the client certificate when one is configured."""
    return credentials_of(settings.kafka_security())


def credentials_of(security: KafkaSecurity) -> faust.auth.Credentials | None:
    """The Faust credentials of a KafkaSecurity (see `broker_credentials`)."""
    context = security.ssl_context()
    if security.sasl:
        return faust.SASLCredentials(
            username=security.username,
            password=security.password,
            ssl_context=context,  # None: SASL_PLAINTEXT
            mechanism=security.mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def aiokafka_auth(settings: KafkaSettings) -> Mapping[str, Any]:
    """The keyword arguments a bare aiokafka client needs (security_protocol, sasl_*,
    ssl_context): Faust's own mapping of the credentials above."""
    auth: Mapping[str, Any] = credentials_to_aiokafka_auth(broker_credentials(settings))
    return auth
