"""CRM tests outside the contract suite (auth, HTTP, mapping) use the emulator fixtures."""

from tests.emulators.fixtures import (
    crm_session,
    dynamics365_emulator,
    hubspot_emulator,
    salesforce_emulator,
    webhook_receiver,
    zendesk_emulator,
    zoho_emulator,
)

__all__ = ["crm_session", "dynamics365_emulator", "hubspot_emulator", "salesforce_emulator",
           "webhook_receiver", "zendesk_emulator", "zoho_emulator"]
