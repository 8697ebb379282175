"""EmulatorHarness: the CrmHarness controls that are the same for every vendor emulator."""

from __future__ import annotations

import aiohttp

from connectors.crm.factory import build_adapter
from connectors.crm.settings import CrmSettingsSet
from tests.emulators.base import Emulator, Fault


class EmulatorHarness:
    """Builds the adapter from the emulator's env through the real factory; vendors supply
    seeding, inspection and their rate-limit answer."""

    supports_contacts = True
    supports_refresh = True

    def __init__(self, emulator: Emulator, session: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.adapter = build_adapter(
            emulator.vendor, CrmSettingsSet.from_env(emulator.env()), session
        )

    def fail_server_error(self) -> None:
        self.emulator.fail_next(Fault(503, "Service unavailable"))

    def fail_timeout(self) -> None:
        self.emulator.fail_next(self.emulator.timeout_fault())

    def fail_timeout_after_write(self) -> None:
        self.emulator.fail_next(self.emulator.timeout_fault(after_write=True))

    def fail_rejected(self, message: str) -> None:
        self.emulator.fail_next(Fault(400, message))

    def expire_token(self) -> None:
        self.emulator.expire_tokens()

    def refreshes(self) -> int:
        return self.emulator.refresh_count
