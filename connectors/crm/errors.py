"""Errors the CRM adapters raise on purpose; the sink worker's policy is keyed on the type."""

from __future__ import annotations

from schemas.errors import C360Error


class CrmError(C360Error):
    """Root of CRM adapter errors; `crm` names the vendor, `status` the HTTP status (0 = none).

    Messages never quote phone numbers, emails or tokens: vendor bodies are excerpted only
    after identifiers are masked (connectors.crm.http.excerpt).
    """

    def __init__(self, message: str, *, crm: str = "", status: int = 0) -> None:
        super().__init__(message)
        self.crm = crm
        self.status = status


class CrmRejected(CrmError):
    """A permanent 4xx: the same request will fail again (dead-letter it, commit).

    `excerpt` is a bounded, PII-masked excerpt of the vendor's error body (its message/code).
    """

    def __init__(self, message: str, *, crm: str = "", status: int = 0, excerpt: str = "") -> None:
        super().__init__(message, crm=crm, status=status)
        self.excerpt = excerpt


class CrmUnavailable(CrmError):
    """Transient: 429, 5xx, timeout or connection error; retry after `retry_after` seconds
    (None = the vendor gave no hint: use the worker's backoff)."""

    def __init__(
        self, message: str, *, crm: str = "", status: int = 0, retry_after: float | None = None
    ) -> None:
        super().__init__(message, crm=crm, status=status)
        self.retry_after = retry_after


class CrmAuthError(CrmError):
    """401/403 auth failure that one token refresh did not cure (or no way to refresh)."""


class StaleCrmReference(CrmError):
    """404/410 on a stored contact/activity id (merged or deleted CRM-side): look up afresh."""
