"""The contract every CrmAdapter passes, run against each vendor's emulator and the twin."""

from __future__ import annotations

import abc
from typing import Any, Protocol

import pytest

from connectors.crm.errors import CrmRejected, CrmUnavailable, StaleCrmReference
from core.crm.model import ContactDraft
from core.crm.ports import CrmAdapter
from tests.unit.crm.samples import activity  # shared with the mapping tests

E164 = "+14155550100"
EMAIL = "dana@example.com"


class CrmHarness(Protocol):
    """One adapter wired to one fake CRM, plus the controls the contract needs."""

    adapter: CrmAdapter
    supports_contacts: bool
    supports_refresh: bool

    def seed_contact(self, *, phone: str | None, email: str | None) -> str: ...

    def contact_ids(self) -> list[str]: ...

    def activities(self, idempotency_key: str) -> list[str]: ...

    def delete_activity(self, activity_id: str) -> None: ...

    def contacts_of(self, activity_id: str) -> list[str]:
        """The contact ids the activity is associated with, as the CRM holds it."""
        ...

    def fail_rate_limited(self, seconds: int) -> float | None:
        """Script the vendor's rate-limit answer; returns the retry_after the adapter should
        report (None when the vendor publishes no wait hint)."""
        ...

    def fail_server_error(self) -> None: ...

    def fail_timeout(self) -> None: ...

    def fail_timeout_after_write(self) -> None: ...

    def fail_rejected(self, message: str) -> None: ...

    def expire_token(self) -> None: ...

    def refreshes(self) -> int: ...


class CrmAdapterContract(abc.ABC):
    """What every CrmAdapter must do; one subclass per adapter (vendor emulator or twin)."""

    @abc.abstractmethod
    def harness(self) -> Any:
        """Overridden by a pytest fixture yielding a CrmHarness (async: emulators start
        and stop with the test)."""

    @pytest.mark.parametrize("stored", [E164, "(415) 555-0100", "415-555-0100", "4155550100"])
    async def test_find_by_phone_matches_stored_spellings(
        self, harness: CrmHarness, stored: str
    ) -> None:
        """An E.164 lookup finds a contact whose phone was typed national, dashed or digits."""
        if not harness.supports_contacts:
            pytest.skip("this CRM has no contact lookup")
        ident = harness.seed_contact(phone=stored, email=None)
        found = await harness.adapter.find_contact(phone=E164, email=None)
        assert found is not None and found.id == ident

    async def test_find_by_email(self, harness: CrmHarness) -> None:
        """Email lookup finds the contact; an unknown email and phone find nothing."""
        if not harness.supports_contacts:
            pytest.skip("this CRM has no contact lookup")
        ident = harness.seed_contact(phone=None, email=EMAIL)
        found = await harness.adapter.find_contact(phone=None, email=EMAIL)
        assert found is not None and found.id == ident and found.email == EMAIL
        assert (
            await harness.adapter.find_contact(phone="+14155559999", email="nobody@example.com")
            is None
        )

    async def test_upsert_contact_creates_once(self, harness: CrmHarness) -> None:
        """Upserting the same draft twice leaves exactly one contact, found by phone."""
        if not harness.supports_contacts:
            pytest.skip("this CRM has no contact lookup")
        draft = ContactDraft(phone=E164, email=EMAIL, first_name="Dana", last_name="Scully")
        first = await harness.adapter.upsert_contact(draft)
        second = await harness.adapter.upsert_contact(draft)
        assert first.id == second.id and harness.contact_ids() == [first.id]
        found = await harness.adapter.find_contact(phone=E164, email=None)
        assert found is not None and found.id == first.id

    async def test_search_contacts_by_name_and_email(self, harness: CrmHarness) -> None:
        """The vendor's search finds a contact by a name, a name prefix, both names and its
        email; nothing for an unknown name; `limit` bounds the answer."""
        if not harness.supports_contacts:
            assert await harness.adapter.search_contacts("Dana") == []
            return
        dana = await harness.adapter.upsert_contact(
            ContactDraft(phone=E164, email=EMAIL, first_name="Dana", last_name="Scully"))
        await harness.adapter.upsert_contact(ContactDraft(
            phone="+14155550199", email="fox@example.com", first_name="Fox", last_name="Mulder"))
        for query in ("Dana", "scul", "Dana Scully", EMAIL):
            found = await harness.adapter.search_contacts(query, limit=5)
            assert [c.id for c in found] == [dana.id], query
        assert found[0].first_name == "Dana" and found[0].email == EMAIL
        assert await harness.adapter.search_contacts("Nobody", limit=5) == []
        assert len(await harness.adapter.search_contacts("example", limit=1)) == 1

    async def test_search_escapes_the_vendor_query_language(self, harness: CrmHarness) -> None:
        """Reserved characters of the vendor's query language are searched, not parsed: no
        rejection, no match."""
        weird = "O'Brien (x) {y} [z] & a|b! ^~ c*? d:e \\ \"q\" +f -g, h"
        assert await harness.adapter.search_contacts(weird, limit=5) == []

    async def test_activity_created_then_updated_by_key_without_duplicate(
        self, harness: CrmHarness
    ) -> None:
        """Same idempotency key twice (no stored id): one activity, the later subject wins."""
        contact = (
            harness.seed_contact(phone=E164, email=EMAIL) if harness.supports_contacts else None
        )
        first = await harness.adapter.upsert_activity(
            activity(), contact_id=contact, existing_activity_id=None
        )
        again = await harness.adapter.upsert_activity(
            activity(revision=2, subject="Inbound call: refund agreed"),
            contact_id=contact,
            existing_activity_id=None,
        )
        assert first.created and not again.created
        assert again.crm_activity_id == first.crm_activity_id
        assert harness.activities("ix-1:crm:call") == ["Inbound call: refund agreed"]

    async def test_activity_updated_by_stored_id(self, harness: CrmHarness) -> None:
        """With the stored activity id the same record is updated (created=False)."""
        first = await harness.adapter.upsert_activity(
            activity(), contact_id=None, existing_activity_id=None
        )
        again = await harness.adapter.upsert_activity(
            activity(revision=2, subject="Callback booked"),
            contact_id=None,
            existing_activity_id=first.crm_activity_id,
        )
        assert (again.crm_activity_id, again.created) == (first.crm_activity_id, False)
        assert harness.activities("ix-1:crm:call") == ["Callback booked"]

    async def test_rate_limit_is_unavailable_with_retry_after(self, harness: CrmHarness) -> None:
        """A rate limit becomes CrmUnavailable carrying the vendor's wait in seconds."""
        expected = harness.fail_rate_limited(7)
        with pytest.raises(CrmUnavailable) as info:
            await harness.adapter.upsert_activity(
                activity(), contact_id=None, existing_activity_id=None
            )
        assert info.value.retry_after == expected
        assert harness.activities("ix-1:crm:call") == []

    async def test_server_error_and_timeout_are_unavailable(self, harness: CrmHarness) -> None:
        """A 5xx and a request that outlives the timeout are both transient."""
        harness.fail_server_error()
        with pytest.raises(CrmUnavailable):
            await harness.adapter.upsert_activity(
                activity(), contact_id=None, existing_activity_id=None
            )
        harness.fail_timeout()
        with pytest.raises(CrmUnavailable):
            await harness.adapter.upsert_activity(
                activity(), contact_id=None, existing_activity_id=None
            )

    async def test_retries_after_transient_failures_write_once(self, harness: CrmHarness) -> None:
        """Two 429s, then a write whose answer times out, then the retry: one activity."""
        harness.fail_rate_limited(1)
        harness.fail_rate_limited(1)
        for _ in range(2):
            with pytest.raises(CrmUnavailable):
                await harness.adapter.upsert_activity(
                    activity(), contact_id=None, existing_activity_id=None
                )
        harness.fail_timeout_after_write()
        with pytest.raises(CrmUnavailable):
            await harness.adapter.upsert_activity(
                activity(), contact_id=None, existing_activity_id=None
            )
        write = await harness.adapter.upsert_activity(
            activity(), contact_id=None, existing_activity_id=None
        )
        assert not write.created
        assert harness.activities("ix-1:crm:call") == ["Inbound call: billing question"]

    async def test_rejection_carries_vendor_message_without_pii(self, harness: CrmHarness) -> None:
        """A 4xx becomes CrmRejected whose excerpt quotes the vendor but masks identifiers."""
        harness.fail_rejected("Subject is invalid for dana@example.com +1 415 555 0100")
        with pytest.raises(CrmRejected) as info:
            await harness.adapter.upsert_activity(
                activity(), contact_id=None, existing_activity_id=None
            )
        error = info.value
        assert 400 <= error.status < 500 and "Subject is invalid" in error.excerpt
        assert "dana@" not in str(error) and "555" not in str(error)

    async def test_expired_token_is_refreshed_once(self, harness: CrmHarness) -> None:
        """After a 401 the adapter refreshes once and the write succeeds."""
        if not harness.supports_refresh:
            pytest.skip("this sink has no token to refresh")
        await harness.adapter.upsert_activity(
            activity(), contact_id=None, existing_activity_id=None
        )
        before = harness.refreshes()
        harness.expire_token()
        write = await harness.adapter.upsert_activity(
            activity(revision=2), contact_id=None, existing_activity_id=None
        )
        assert not write.created and harness.refreshes() == before + 1

    async def test_stale_activity_id_is_reported(self, harness: CrmHarness) -> None:
        """A stored id deleted CRM-side raises StaleCrmReference (the worker looks up afresh)."""
        first = await harness.adapter.upsert_activity(
            activity(), contact_id=None, existing_activity_id=None
        )
        harness.delete_activity(first.crm_activity_id)
        with pytest.raises(StaleCrmReference):
            await harness.adapter.upsert_activity(
                activity(revision=2), contact_id=None, existing_activity_id=first.crm_activity_id
            )

    async def test_a_relink_moves_the_activity_to_the_new_contact_and_back(
        self, harness: CrmHarness
    ) -> None:
        """An update with previous_contact_id re-associates the activity (same record,
        created=False): Alice -> Dave, then back to Alice; it is never on both."""
        if harness.supports_contacts:
            alice = harness.seed_contact(phone=E164, email=None)
            dave = harness.seed_contact(phone=None, email=EMAIL)
        else:
            alice, dave = "contact-alice", "contact-dave"
        first = await harness.adapter.upsert_activity(
            activity(), contact_id=alice, existing_activity_id=None
        )
        assert harness.contacts_of(first.crm_activity_id) == [alice]
        moved = await harness.adapter.upsert_activity(
            activity(revision=2), contact_id=dave, existing_activity_id=first.crm_activity_id,
            previous_contact_id=alice,
        )
        assert (moved.crm_activity_id, moved.created) == (first.crm_activity_id, False)
        assert harness.contacts_of(first.crm_activity_id) == [dave]
        back = await harness.adapter.upsert_activity(
            activity(revision=3), contact_id=alice, existing_activity_id=first.crm_activity_id,
            previous_contact_id=dave,
        )
        assert back.crm_activity_id == first.crm_activity_id
        assert harness.contacts_of(first.crm_activity_id) == [alice]
        assert harness.activities("ix-1:crm:call") == ["Inbound call: billing question"]
