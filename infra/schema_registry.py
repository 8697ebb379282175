"""The Confluent Schema Registry client (confluent_kafka.schema_registry) for schemas.confluent."""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, SchemaRegistryError

try:  # the HTTP library under confluent_kafka.schema_registry (httpx2, else httpx)
    import httpx2 as _http
except ImportError:  # pragma: no cover - older confluent-kafka releases use httpx
    import httpx as _http  # type: ignore[no-redef]

from schemas.confluent import ConfluentCodec, RegistryUnavailable
from schemas.errors import SchemaError, UnknownRecordType

# Statuses the registry answers when it is overloaded or down (the library's own list of
# retriable ones): transient, the caller retries in place; any other refusal is permanent.
_TRANSIENT = frozenset({408, 429, 500, 502, 503, 504})


def _split_credentials(url: str) -> tuple[str, str | None]:
    """(url without userinfo, "user:secret" or None): credentials go to basic auth, never
    into the URL the library keeps (and may print in an error)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, None
    user = urllib.parse.unquote(parts.username)
    secret = urllib.parse.unquote(parts.password or "")
    bare = parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1])
    return urllib.parse.urlunsplit(bare), f"{user}:{secret}"


@dataclass
class RegistryClient:
    """schemas.confluent.SchemaSource on confluent_kafka's SchemaRegistryClient.

    Credentials may be given in the URL (`https://key:secret@host`): sent as HTTP basic auth,
    never logged. Calls block (the streams worker runs them in a thread, the gateway's feed
    already is one). The library's own retries are off: a registry outage surfaces at once
    as RegistryUnavailable and c360's retry-in-place policy decides how long to wait.
    """

    url: str = field(repr=False)
    timeout: float = 5.0
    _client: SchemaRegistryClient = field(init=False, repr=False)

    def __post_init__(self) -> None:
        base, userinfo = _split_credentials(self.url)
        conf: dict[str, Any] = {"url": base, "timeout": self.timeout, "max.retries": 0}
        if userinfo is not None:
            conf["basic.auth.user.info"] = userinfo
        self._client = SchemaRegistryClient(conf)

    def __repr__(self) -> str:
        return f"RegistryClient(url={_split_credentials(self.url)[0]!r}, timeout={self.timeout})"

    def register(self, subject: str, schema_json: str) -> int:
        """The id of `schema_json` under `subject` (registers it on first use)."""
        where = f"POST /subjects/{subject}/versions"
        schema_id = self._call(
            where, self._client.register_schema, subject, Schema(schema_json, "AVRO")
        )
        if not isinstance(schema_id, int):
            raise SchemaError(f"registry answered {where} without an id")
        return schema_id

    def schema(self, schema_id: int) -> dict[str, Any]:
        """The writer schema (JSON document) of an id."""
        found = self._call(f"GET /schemas/ids/{schema_id}", self._client.get_schema, schema_id)
        if found.schema_type not in (None, "AVRO"):
            raise SchemaError(f"schema id {schema_id} is not an Avro schema")
        try:
            doc = json.loads(found.schema_str)
        except (TypeError, ValueError):
            raise SchemaError(f"schema id {schema_id}: registry sent no schema") from None
        if not isinstance(doc, dict):
            raise UnknownRecordType(f"schema id {schema_id} is not a c360 record")
        return doc

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    @staticmethod
    def _call(where: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except SchemaRegistryError as exc:
            status = exc.http_status_code
            detail = str(exc.error_message)[:300]
            if status in _TRANSIENT or status >= 500:
                raise RegistryUnavailable(f"registry {status}: {detail}") from None
            raise SchemaError(f"registry rejected {where}: {status} {detail}") from None
        except (_http.HTTPError, OSError, ValueError, TypeError) as exc:
            # Refused, reset, timed out or DNS (the transport's errors), or an answer that
            # is not the registry's JSON (ValueError/TypeError from the library's parsing).
            raise RegistryUnavailable(f"registry unreachable: {type(exc).__name__}") from None


def registry_codec(url: str, timeout: float = 5.0) -> ConfluentCodec:
    """The Confluent wire-format codec on the registry at `url`."""
    return ConfluentCodec(RegistryClient(url, timeout))
