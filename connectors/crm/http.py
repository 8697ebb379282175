"""The one HTTP helper of the CRM adapters: send a request, map statuses to the error types."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from connectors.crm.errors import (
    CrmAuthError,
    CrmRejected,
    CrmUnavailable,
    StaleCrmReference,
)

EXCERPT_CHARS = 300
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DIGITS = re.compile(r"\+?\d[\d ().-]{5,}\d")


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A response read in full: status, headers, parsed JSON body (None if not JSON), text."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str


def _no_message(body: Any) -> str:
    return ""


def _never(status: int, body: Any) -> bool:
    return False


def _no_hint(headers: Mapping[str, str]) -> float | None:
    return None


@dataclass(frozen=True, slots=True)
class ErrorSpeech:
    """How one vendor spells its errors: the message in a body, which 4xx are really
    transient (e.g. Salesforce REQUEST_LIMIT_EXCEEDED on 403), its own rate-limit headers,
    and which 4xx name a referenced record that is gone (e.g. ENTITY_IS_DELETED)."""

    message: Callable[[Any], str] = field(default=_no_message)
    transient: Callable[[int, Any], bool] = field(default=_never)
    retry_hint: Callable[[Mapping[str, str]], float | None] = field(default=_no_hint)
    stale: Callable[[int, Any], bool] = field(default=_never)


class Unauthorized(CrmAuthError):
    """A 401: the caller may refresh its token once and retry."""


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A bounded excerpt of a vendor body with emails and phone-like digit runs masked,
    so an error message can be logged and dead-lettered without PII."""
    masked = _DIGITS.sub("<digits>", _EMAIL.sub("<email>", text))
    flat = " ".join(masked.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
    10.2.3); None when absent or unreadable; never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def send(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    crm: str,
    timeout_s: float,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> HttpReply:
    """One request read in full; a timeout or connection failure becomes CrmUnavailable
    (retry_after None: the worker's backoff decides). Statuses are not judged here."""
    try:
        async with session.request(
            method, url, headers=dict(headers or {}), params=dict(params or {}) or None,
            json=json_body, data=body if body is not None else (
                dict(form) if form is not None else None),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            text = await resp.text()
            return HttpReply(resp.status, dict(resp.headers), _json_or_none(text), text)
    except TimeoutError as exc:
        raise CrmUnavailable(f"{crm}: timed out after {timeout_s}s", crm=crm) from exc
    except aiohttp.ClientError as exc:
        raise CrmUnavailable(f"{crm}: {type(exc).__name__}", crm=crm) from exc


def _json_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def raise_for(
    reply: HttpReply,
    *,
    crm: str,
    speech: ErrorSpeech,
    stale_on_404: bool = False,
    accept: Collection[int] = (),
) -> None:
    """Return when the status is 2xx (or listed in `accept`); otherwise raise the error the
    policy keys on: 429/5xx/vendor-transient -> CrmUnavailable(retry_after), 401 ->
    Unauthorized, 404/410 on a stored id -> StaleCrmReference, other 4xx -> CrmRejected."""
    status = reply.status
    if 200 <= status < 300 or status in accept:
        return
    said = excerpt(speech.message(reply.body) or reply.text)
    where = f"{crm}: HTTP {status}"
    if status == 429 or status >= 500 or speech.transient(status, reply.body):
        wait = parse_retry_after(header(reply.headers, "Retry-After"))
        if wait is None:
            wait = speech.retry_hint(reply.headers)
        raise CrmUnavailable(f"{where} {said}".strip(), crm=crm, status=status, retry_after=wait)
    if status == 401:
        raise Unauthorized(f"{where} {said}".strip(), crm=crm, status=status)
    if (status in (404, 410) and stale_on_404) or speech.stale(status, reply.body):
        raise StaleCrmReference(f"{where} {said}".strip(), crm=crm, status=status)
    raise CrmRejected(f"{where} {said}".strip(), crm=crm, status=status, excerpt=said)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header value looked up case-insensitively (plain dict copies lose CIMultiDict)."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
