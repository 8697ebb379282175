"""One contract for the CRM sink's ActivityLedger: the in-memory twin and SQLite pass it."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.crm.ledger import ActivityLedger, InMemoryActivityLedger, LedgerEntry
from connectors.crm.sqlite_ledger import SqliteActivityLedger

FIRST = LedgerEntry("a1", 5, "f5", "created", "c1", "https://x/a1")


class ActivityLedgerContract(abc.ABC):
    """What every ActivityLedger must do."""

    @abc.abstractmethod
    def make(self) -> ActivityLedger:
        """A fresh, empty ledger (closed after the test)."""

    @pytest.fixture
    def ledger(self) -> Iterator[ActivityLedger]:
        store = self.make()
        yield store
        store.close()

    def test_a_key_never_written_is_unknown(self, ledger: ActivityLedger) -> None:
        assert ledger.get("k", "hubspot") is None

    def test_entries_are_per_key_and_crm(self, ledger: ActivityLedger) -> None:
        """Every field reads back; the same key to another CRM is another entry."""
        ledger.put("k", "hubspot", FIRST)
        zoho = LedgerEntry("z9", 1, "fz", "updated")
        ledger.put("k", "zoho", zoho)
        assert ledger.get("k", "hubspot") == FIRST
        assert ledger.get("k", "zoho") == zoho
        assert ledger.get("k2", "hubspot") is None

    def test_a_lower_revision_never_replaces_a_higher_one(self, ledger: ActivityLedger) -> None:
        """A stale replay is ignored, whatever it carries."""
        ledger.put("k", "hubspot", FIRST)
        ledger.put("k", "hubspot", LedgerEntry("a2", 3, "f3", "updated"))
        assert ledger.get("k", "hubspot") == FIRST

    def test_an_equal_or_higher_revision_replaces(self, ledger: ActivityLedger) -> None:
        """Equal revision with new content (a new fingerprint) is a write too; the optional
        fields are replaced, not kept."""
        ledger.put("k", "hubspot", FIRST)
        same = LedgerEntry("a1", 5, "f5b", "updated", "c2")
        ledger.put("k", "hubspot", same)
        assert ledger.get("k", "hubspot") == same
        higher = LedgerEntry("a1", 9, "f9", "updated")
        ledger.put("k", "hubspot", higher)
        assert ledger.get("k", "hubspot") == higher

    def test_writing_the_same_entry_again_changes_nothing(self, ledger: ActivityLedger) -> None:
        ledger.put("k", "hubspot", FIRST)
        ledger.put("k", "hubspot", FIRST)
        assert ledger.get("k", "hubspot") == FIRST


class TestInMemoryActivityLedger(ActivityLedgerContract):
    """The twin (also the `C360_CRM_LEDGER=memory` choice)."""

    def make(self) -> ActivityLedger:
        return InMemoryActivityLedger()


class TestSqliteActivityLedger(ActivityLedgerContract):
    """The SQLite ledger in a temporary directory (its parent is created on open)."""

    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.path = tmp_path / "sub" / "ledger.sqlite3"

    def make(self) -> ActivityLedger:
        return SqliteActivityLedger(self.path)

    def test_the_file_survives_a_restart(self) -> None:
        """SQLite only: a worker restart finds its entries."""
        first = SqliteActivityLedger(self.path)
        first.put("k", "hubspot", LedgerEntry("a1", 1, "f", "created"))
        first.close()
        second = SqliteActivityLedger(self.path)
        assert second.get("k", "hubspot") == LedgerEntry("a1", 1, "f", "created")
        second.close()
