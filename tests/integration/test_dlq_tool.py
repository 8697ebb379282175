"""`c360 dlq list|redrive` on the real broker: letters from every builder, re-driven bytes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from c360 import dlq
from infra.dlq import dead_letter_for, dead_letter_for_request
from infra.kafka_producer import make_producer, produce_all
from schemas import codec
from schemas.errors import SchemaError
from schemas.topics import DLQ, INTERACTIONS

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_list_shows_every_letter_and_redrive_republishes_kafka_ones(
    kafka_bootstrap: str,
    topic_prefix: str,
    consume_until: Callable[..., Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A Kafka record's letter is re-driven to its topic; an HTTP request's is skipped."""
    source = topic_prefix + INTERACTIONS
    kafka_letter = dead_letter_for(
        topic=source,
        partition=0,
        offset=5,
        key=b"ix-1",
        value=b"\x00bad",
        error=SchemaError("bad bytes"),
        stage="normalize",
        now=NOW,
    )
    http_letter = dead_letter_for_request(
        source="genesys",
        tenant_id="acme",
        body=b"{oops",
        error=SchemaError("not json"),
        received_at=NOW,
    )
    producer = make_producer(kafka_bootstrap)
    letters = [(b"ix-1", codec.encode(kafka_letter)), (None, codec.encode(http_letter))]
    produce_all(producer, topic_prefix + DLQ, [*letters, (None, b"not a letter")])

    args = ["--bootstrap", kafka_bootstrap, "--prefix", topic_prefix]
    assert dlq.main(["list", "--json", *args]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row.get("stage") for row in rows} == {"normalize", "ingest:genesys", None}
    assert {row["from"] for row in rows if "from" in row} == {
        f"{source}/0@5",
        "http:/v1/ingest/genesys/-1@-1",
    }
    assert [row for row in rows if "undecodable_bytes" in row] == [
        {"offset": 2, "undecodable_bytes": 12}
    ]

    assert dlq.main(["redrive", *args]) == 0
    out = capsys.readouterr().out
    assert f"re-drove 1 record(s) to {source}" in out and "re-post it" in out
    [record] = consume_until(source, lambda seen: len(seen) >= 1, 30)
    assert (record.key, record.value) == (b"ix-1", b"\x00bad")

    assert dlq.main(["redrive", "--stage", "no-such-stage", *args]) == 0
    assert capsys.readouterr().out.strip() == "No dead letters to redrive."
