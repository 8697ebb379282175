"""Webhook signature checks for source platforms (Twilio X-Twilio-Signature)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qs, urlsplit, urlunsplit

Params = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]
_DEFAULT_PORTS = {"https": 443, "http": 80}


def _pairs(params: Params | None) -> dict[str, set[str]]:
    """Name -> distinct values (Twilio signs each distinct value once, sorted)."""
    grouped: dict[str, set[str]] = {}
    items = params.items() if isinstance(params, Mapping) else (params or ())
    for name, value in items:
        values = [value] if isinstance(value, str) else list(value)
        grouped.setdefault(name, set()).update(values)
    return grouped


def twilio_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    """base64(HMAC-SHA1(auth token, url + name+value for names sorted, values sorted))."""
    data = url + "".join(
        name + value for name, values in sorted(_pairs(params).items()) for value in sorted(values)
    )
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as received, with the scheme's default port added, and with any port removed:
    proxies and load balancers disagree with Twilio about whether the port was in the URL."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    variants = [url]
    default = _DEFAULT_PORTS.get(parts.scheme)
    if parts.port is None and default is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}")))
    if parts.port is not None:
        netloc = parts.netloc.rsplit(":", 1)[0] if host else parts.netloc
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants


def validate_twilio(
    auth_token: str,
    url: str,
    signature: str,
    params: Params | None = None,
    *,
    body: bytes | None = None,
) -> bool:
    """True when `signature` is Twilio's signature of this request.

    Form posts: pass the decoded form params. JSON posts: pass the raw body; the URL then
    carries bodySHA256, which must match the body, and no params are signed. Never raises
    for a wrong signature; compares in constant time.
    """
    if not auth_token or not signature:
        return False
    if body is not None:
        claimed = parse_qs(urlsplit(url).query).get("bodySHA256", [""])[0]
        actual = hashlib.sha256(body).hexdigest()
        if not claimed or not hmac.compare_digest(claimed, actual):
            return False
        params = None
    return any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, params), signature)
        for candidate in _url_variants(url)
    )
