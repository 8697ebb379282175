"""apply_contacts: c360.contacts.v1 (CSV import, CRM sync, API) -> the profile directory."""

from __future__ import annotations

from typing import Any

from schemas.records import ProfileUpserted
from schemas.topics import CONTACTS
from streams.app import TOPICS, app, deps, raw_topic, send, stats
from streams.contacts import handle_profile_upserted
from streams.processing import process

# Shared with any other agent of this process that reads the topic.
TOPICS.setdefault(CONTACTS, raw_topic(CONTACTS))


@app.agent(TOPICS[CONTACTS])
async def apply_contacts(stream: Any) -> None:
    """Upsert every profile into the directory (idempotent, last writer by stamp wins)."""
    async for event in stream.events():
        await process(
            event.message,
            stage="contacts",
            deps=deps(),
            handle=lambda record, _raw: handle_profile_upserted(record, deps()),
            send=send,
            stats=stats("contacts"),
            expect=(ProfileUpserted,),
        )
