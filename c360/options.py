"""The help texts of options several `c360` tools share (one wording everywhere)."""

from __future__ import annotations

BOOTSTRAP = (
    "Kafka bootstrap servers, host:port[,host:port] "
    "(default: $C360_KAFKA_BOOTSTRAP_SERVERS; SASL/TLS from the C360_KAFKA_* variables)"
)
PREFIX = "prefix of the topic names, e.g. 'staging.' (default: $C360_TOPIC_PREFIX)"
REDIS_URL = "Redis URL, redis://host:port/db (default: $C360_REDIS_URL)"
