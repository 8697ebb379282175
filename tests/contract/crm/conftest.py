"""The contract suite runs each CRM adapter against its emulator fixture."""

from tests.emulators.fixtures import (
    crm_session,
    dynamics365_emulator,
    hubspot_emulator,
    salesforce_emulator,
    webhook_receiver,
    zendesk_emulator,
    zoho_emulator,
)

__all__ = [
    "crm_session",
    "dynamics365_emulator",
    "hubspot_emulator",
    "salesforce_emulator",
    "webhook_receiver",
    "zendesk_emulator",
    "zoho_emulator",
]
