"""The c360kafka transport: Faust's worker consumer fetches with the configured max wait."""

from __future__ import annotations

import faust
import pytest

from streams import transport

pytestmark = pytest.mark.integration


async def test_the_worker_consumer_fetcher_uses_the_configured_wait(kafka_bootstrap):
    transport.register()
    transport.set_fetch_max_wait_ms(7)
    try:
        app = faust.App("c360-transport-test", broker=f"{transport.SCHEME}://{kafka_bootstrap}",
                        store="memory://")
        consumer = app.consumer
        assert isinstance(consumer, transport.Consumer)
        thread = consumer._new_consumer_thread()
        assert isinstance(thread, transport.ConsumerThread)
        client = thread._create_worker_consumer(app.transport)
        await client.start()
        try:
            # Faust alone would have built it with 1500 ms (FACTS.md M2).
            assert client._fetcher._fetch_max_wait_ms == 7
        finally:
            await client.stop()
    finally:
        transport.set_fetch_max_wait_ms(transport.DEFAULT_FETCH_MAX_WAIT_MS)
