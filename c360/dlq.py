"""`c360 dlq list|redrive`: inspect dead letters and re-drive their original bytes."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

from confluent_kafka import Consumer, KafkaException

from c360.replay_offsets import DEFAULT_LIMITS, EOF, Limits, assign
from infra.kafka_config import Brokers, KafkaEndpoint, endpoint_of, reader_config
from infra.kafka_producer import make_producer, produce_all
from infra.settings_streams import ToolSettings
from schemas import codec
from schemas.errors import SchemaError
from schemas.records import DeadLetter
from schemas.topics import DLQ


def read_dead_letters(
    brokers: Brokers, topic: str, timeout: float = 10.0, limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, DeadLetter | None, bytes]]:
    """Every record of the DLQ topic from its start to its end (offset, letter, raw). The
    end is replay's rule (c360.replay_offsets): the high watermark alone stops short of a
    batch's later records on Tansu (FACTS M3)."""
    # A short max wait: Tansu holds every fetch until it (FACTS M1).
    config = reader_config(
        endpoint_of(brokers), "c360-dlq", fetch_wait_max_ms=100, partition_eof=True
    )
    consumer = Consumer(config)
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
        if meta.error is not None:
            raise KafkaException(meta.error)
        ends = assign(consumer, topic, sorted(meta.partitions))
        while ends.todo:
            began = time.monotonic()
            messages = consumer.consume(500, timeout=limits.poll_s)
            waited = time.monotonic() - began
            heard: set[int] = set()
            for msg in messages:
                partition, offset = msg.partition() or 0, msg.offset() or 0
                error = msg.error()
                if error is not None:
                    if error.code() == EOF:
                        ends.eof[partition] = offset
                    continue
                heard.add(partition)
                ends.next[partition] = offset + 1
                raw = msg.value() or b""
                try:
                    letter = codec.decode(raw)
                except SchemaError:
                    letter = None
                yield offset, letter if isinstance(letter, DeadLetter) else None, raw
            ends.polled(heard, waited, time.monotonic(), limits)
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    """List dead letters, or re-drive the selected ones to the topic they came from."""
    defaults = ToolSettings.from_env()  # the C360_* defaults of the options
    parser = argparse.ArgumentParser(prog="c360 dlq", description=__doc__)
    parser.add_argument("action", choices=["list", "redrive"])
    parser.add_argument("--stage", help="only letters of this agent/worker stage")
    parser.add_argument("--error-type", help="only letters with this error type")
    parser.add_argument("--offset", type=int, action="append", help="only these DLQ offsets")
    parser.add_argument("--bootstrap", default=defaults.kafka_bootstrap_servers)
    parser.add_argument("--prefix", default=defaults.topic_prefix)
    args = parser.parse_args(argv)
    kafka = KafkaEndpoint.from_settings(defaults, args.bootstrap)  # --bootstrap: servers only
    selected: list[DeadLetter] = []
    for offset, letter, raw in read_dead_letters(kafka, args.prefix + DLQ):
        if letter is None:
            print(json.dumps({"offset": offset, "undecodable_bytes": len(raw)}))
            continue
        if (
            (args.stage and letter.stage != args.stage)
            or (args.error_type and letter.error_type != args.error_type)
            or (args.offset and offset not in args.offset)
        ):
            continue
        selected.append(letter)
        print(
            json.dumps(
                {
                    "offset": offset,
                    "stage": letter.stage,
                    "error_type": letter.error_type,
                    "error": letter.error_message[:200],
                    "from": f"{letter.topic}/{letter.partition}@{letter.offset}",
                    "bytes": len(letter.original_value or b""),
                    "occurred_at": letter.occurred_at.isoformat(),
                }
            )
        )
    if args.action == "redrive":
        by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
        for letter in selected:
            if not letter.topic or letter.topic.startswith("http:"):
                # Rejected at the HTTP edge (ingest): not a Kafka topic to re-drive into;
                # fix the payload and POST it again (docs/ingest.md).
                print(f"skipped DLQ record from {letter.topic}: re-post it to the endpoint")
                continue
            if letter.original_value is not None:
                by_topic.setdefault(letter.topic, []).append(
                    (letter.original_key, letter.original_value)
                )
        producer = make_producer(kafka)
        for topic, batch in by_topic.items():
            produce_all(producer, topic, batch)
            print(f"re-drove {len(batch)} record(s) to {topic}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
