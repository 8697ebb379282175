"""Pytest fixtures: one started emulator per CRM and a client session; `emulator.env()` is the
C360_CRM_* mapping that points an adapter at it. Import the fixtures into a conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.emulators import dynamics365, hubspot, salesforce, webhook, zendesk, zoho
from tests.emulators.base import Emulator


async def _serve(emulator: Emulator) -> AsyncIterator[Emulator]:
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
async def crm_session() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for adapters (created inside the test's event loop)."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def hubspot_emulator() -> AsyncIterator[hubspot.HubSpotEmulator]:
    """A running HubSpot emulator."""
    emulator = hubspot.HubSpotEmulator()
    async for _ in _serve(emulator):
        yield emulator



@pytest.fixture
async def salesforce_emulator() -> AsyncIterator[salesforce.SalesforceEmulator]:
    """A running Salesforce emulator."""
    emulator = salesforce.SalesforceEmulator()
    async for _ in _serve(emulator):
        yield emulator


@pytest.fixture
async def zendesk_emulator() -> AsyncIterator[zendesk.ZendeskEmulator]:
    """A running Zendesk emulator."""
    emulator = zendesk.ZendeskEmulator()
    async for _ in _serve(emulator):
        yield emulator


@pytest.fixture
async def zoho_emulator() -> AsyncIterator[zoho.ZohoEmulator]:
    """A running Zoho CRM emulator."""
    emulator = zoho.ZohoEmulator()
    async for _ in _serve(emulator):
        yield emulator


@pytest.fixture
async def dynamics365_emulator() -> AsyncIterator[dynamics365.Dynamics365Emulator]:
    """A running Dynamics 365 (Dataverse) emulator."""
    emulator = dynamics365.Dynamics365Emulator()
    async for _ in _serve(emulator):
        yield emulator


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[webhook.WebhookReceiver]:
    """A running reference receiver for the signed webhook sink."""
    emulator = webhook.WebhookReceiver()
    async for _ in _serve(emulator):
        yield emulator
