"""SqliteActivityLedger: the sink's ledger in one sqlite file under C360_DATA_DIR."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from connectors.crm.ledger import LedgerEntry

# Local to one worker on purpose: it saves a CRM lookup per update and guards against
# stale replays, but correctness does not depend on it. The CRM-side upsert by idempotency
# key is what prevents duplicates when a partition moves to a worker without this file.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS ledger (
    key TEXT NOT NULL, crm TEXT NOT NULL, activity_id TEXT NOT NULL, revision INTEGER NOT NULL,
    fingerprint TEXT NOT NULL, status TEXT NOT NULL, contact_id TEXT, record_url TEXT,
    target TEXT, detail TEXT,
    PRIMARY KEY (key, crm)
)
"""
# Files written before the contact target was recorded get the two columns (NULL = search
# again once).
_ADDED = ("target", "detail")
_UPSERT = """
INSERT INTO ledger (key, crm, activity_id, revision, fingerprint, status, contact_id,
                    record_url, target, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (key, crm) DO UPDATE SET
    activity_id = excluded.activity_id, revision = excluded.revision,
    fingerprint = excluded.fingerprint, status = excluded.status,
    contact_id = excluded.contact_id, record_url = excluded.record_url,
    target = excluded.target, detail = excluded.detail
WHERE excluded.revision >= ledger.revision
"""


class SqliteActivityLedger:
    """ActivityLedger on sqlite (WAL; each put is its own committed transaction)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(ledger)")}
        for column in _ADDED:
            if column not in have:
                self._db.execute(f"ALTER TABLE ledger ADD COLUMN {column} TEXT")

    def get(self, key: str, crm: str) -> LedgerEntry | None:
        row = self._db.execute(
            "SELECT activity_id, revision, fingerprint, status, contact_id, record_url, target, "
            "detail FROM ledger WHERE key = ? AND crm = ?",
            (key, crm),
        ).fetchone()
        return None if row is None else LedgerEntry(*row)

    def put(self, key: str, crm: str, entry: LedgerEntry) -> None:
        self._db.execute(
            _UPSERT,
            (key, crm, entry.crm_activity_id, entry.revision, entry.fingerprint, entry.status,
             entry.crm_contact_id, entry.record_url, entry.target, entry.detail),
        )

    def close(self) -> None:
        self._db.close()
