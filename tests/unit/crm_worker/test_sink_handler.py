"""SinkHandler: the failure policy per record (retry, dead-letter, publish, commit)."""

from __future__ import annotations

from confluent_kafka import Message

from connectors.crm.errors import CrmAuthError, CrmRejected, CrmUnavailable
from connectors.crm.kafka_consumer import Done, RetryLater
from connectors.crm.ledger import InMemoryActivityLedger
from connectors.crm.routing import CrmRouting
from connectors.crm.sink import CrmSink
from connectors.crm.sink_handler import SinkHandler
from connectors.crm.worker_settings import WorkerSettings
from infra.kafka_producer import InMemoryPublisher
from schemas import codec
from schemas.records import ActivityResult, DeadLetter
from tests.unit.crm_worker.fakes import FakeCrmAdapter
from tests.unit.crm_worker.test_sink import request

SETTINGS = WorkerSettings.from_env({"C360_TOPIC_PREFIX": "p.", "C360_CRM_DEFAULT": "hubspot",
                                    "C360_CRM_RETRY_DEADLINE_SECONDS": "100"})


def message(value: bytes, offset: int = 7, partition: int = 2) -> Message:
    return Message(topic="p.c360.activities.requested.v1", partition=partition, offset=offset,
                   key=b"acme:ix-1:default:call", value=value)


def handler(crm: FakeCrmAdapter, clock=None) -> tuple[SinkHandler, InMemoryPublisher]:
    publisher = InMemoryPublisher()
    sink = CrmSink({"hubspot": crm}, CrmRouting("hubspot"), InMemoryActivityLedger())
    h = SinkHandler(sink, publisher, SETTINGS)
    if clock is not None:
        h.monotonic = clock
    return h, publisher


def decoded(publisher, topic_suffix):
    return [codec.decode(m.value) for m in publisher.messages if m.topic.endswith(topic_suffix)]


async def test_a_written_activity_publishes_its_result_and_commits():
    """Success -> Done (commit) and one ActivityResult keyed by interaction id."""
    h, publisher = handler(FakeCrmAdapter())
    assert await h(message(codec.encode(request()))) == Done()
    (result,) = decoded(publisher, "activities.results.v1")
    assert isinstance(result, ActivityResult)
    assert result.status == "created"
    assert publisher.messages[0].key == b"ix-1"


async def test_undecodable_and_foreign_records_are_dead_lettered_and_committed():
    """Garbage bytes or a record of another type: DLQ with the original bytes, move on."""
    h, publisher = handler(FakeCrmAdapter())
    assert await h(message(b"\xc3\x01garbage")) == Done()
    letter = DeadLetter(event_id="x", occurred_at=request().occurred_at, topic="t",
                        partition=0, offset=0, original_value=b"", error_type="E",
                        error_message="m", stage="s")
    assert await h(message(codec.encode(letter), offset=8)) == Done()
    letters = decoded(publisher, "dlq.v1")
    assert [d.original_value for d in letters] == [b"\xc3\x01garbage", codec.encode(letter)]
    assert letters[0].stage == "crm_sink"
    assert (letters[0].partition, letters[0].offset) == (2, 7)
    assert "does not belong" in letters[1].error_message


async def test_429_pauses_with_the_vendors_hint_then_succeeds_once():
    """CrmUnavailable -> RetryLater(>= Retry-After), nothing published; then one result."""
    crm = FakeCrmAdapter()
    crm.script = [CrmUnavailable("429", crm="hubspot", status=429, retry_after=3.0),
                  CrmUnavailable("503", crm="hubspot", status=503)]
    h, publisher = handler(crm)
    first = await h(message(codec.encode(request())))
    assert isinstance(first, RetryLater) and first.delay >= 3.0
    second = await h(message(codec.encode(request())))
    assert isinstance(second, RetryLater) and second.delay <= SETTINGS.retry_max_seconds
    assert publisher.messages == []
    assert await h(message(codec.encode(request()))) == Done()
    assert len(crm.activities) == 1
    assert h.failing == {}


async def test_an_auth_failure_is_retried_not_dead_lettered():
    """401 after a refresh is about the credentials, not the record: wait and retry."""
    crm = FakeCrmAdapter()
    crm.script = [CrmAuthError("401", crm="hubspot", status=401)]
    h, publisher = handler(crm)
    assert isinstance(await h(message(codec.encode(request()))), RetryLater)
    assert publisher.messages == []


async def test_a_400_is_dead_lettered_with_the_response_excerpt_and_a_rejected_result():
    """Permanent 4xx: DLQ (original bytes + excerpt) and a 'rejected' result; commit."""
    crm = FakeCrmAdapter()
    crm.script = [CrmRejected("hubspot: HTTP 400", crm="hubspot", status=400,
                              excerpt="VALIDATION_ERROR hs_call_direction invalid")]
    h, publisher = handler(crm)
    raw = codec.encode(request())
    assert await h(message(raw)) == Done()
    (letter,) = decoded(publisher, "dlq.v1")
    assert letter.original_value == raw
    assert letter.error_type == "CrmRejected"
    assert "HTTP 400" in letter.error_message
    assert "VALIDATION_ERROR hs_call_direction invalid" in letter.error_message
    assert letter.tenant_id == "acme"
    (result,) = decoded(publisher, "activities.results.v1")
    assert result.status == "rejected"
    assert "VALIDATION_ERROR" in result.error


async def test_a_failed_publish_retries_and_the_replay_repeats_the_result_only():
    """The CRM write happened but the result did not reach Kafka: retry; no second write."""
    crm = FakeCrmAdapter()
    h, publisher = handler(crm)
    publisher.fail_next = 1
    assert isinstance(await h(message(codec.encode(request()))), RetryLater)
    assert await h(message(codec.encode(request()))) == Done()
    assert crm.upserts() == 1
    (result,) = decoded(publisher, "activities.results.v1")
    assert result.status == "created"


async def test_past_the_deadline_a_transient_failure_is_dead_lettered():
    """A request the CRM keeps refusing as transient cannot hold its partition forever."""
    crm = FakeCrmAdapter()
    crm.script = [CrmUnavailable("503", crm="hubspot", status=503)] * 3
    now = [0.0]
    h, publisher = handler(crm, clock=lambda: now[0])
    assert isinstance(await h(message(codec.encode(request()))), RetryLater)
    now[0] = 50.0
    assert isinstance(await h(message(codec.encode(request()))), RetryLater)
    now[0] = 100.0
    assert await h(message(codec.encode(request()))) == Done()
    (letter,) = decoded(publisher, "dlq.v1")
    assert letter.error_type == "CrmUnavailable"
    (result,) = decoded(publisher, "activities.results.v1")
    assert result.status == "failed"


async def test_a_new_offset_starts_its_own_retry_count():
    """Attempts are per failing offset: the next record's first failure starts over."""
    crm = FakeCrmAdapter()
    crm.script = [CrmUnavailable("503", crm="hubspot", status=503)] * 2
    h, _ = handler(crm)
    await h(message(codec.encode(request()), offset=1))
    await h(message(codec.encode(request(2)), offset=2))
    assert h.failing[("p.c360.activities.requested.v1", 2)][:2] == (2, 1)
