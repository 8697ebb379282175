"""FernetSealer: the token sets of per-agent CRM identity encrypted at rest (Fernet:
AES-128-CBC + HMAC-SHA256), with key rotation (MultiFernet: the first key seals, every key
opens)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.crm.agent_auth import SealedUnreadable


class FernetSealer:
    """Seals with `keys[0]`; opens with any of `keys` (rotation: put the new key first,
    re-seal with `rotate`, then drop the old one). Raises ValueError for a malformed key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one key is required")
        self._fernet = MultiFernet([Fernet(k.strip().encode()) for k in keys])

    def seal(self, data: bytes) -> bytes:
        """Encrypt (and authenticate) with the first key."""
        return self._fernet.encrypt(data)

    def open(self, sealed: bytes) -> bytes:
        """Decrypt with whichever configured key sealed it."""
        try:
            return self._fernet.decrypt(sealed)
        except InvalidToken:
            raise SealedUnreadable("no configured C360_CRM_TOKEN_KEY opens this record") from None

    def rotate(self, sealed: bytes) -> bytes:
        """The same plaintext sealed with the first key."""
        try:
            return self._fernet.rotate(sealed)
        except InvalidToken:
            raise SealedUnreadable("no configured C360_CRM_TOKEN_KEY opens this record") from None


def new_key() -> str:
    """A fresh key for C360_CRM_TOKEN_KEY (32 random bytes, base64url)."""
    return Fernet.generate_key().decode()
