"""A local emulator of the Schema Registry REST contract that infra.schema_registry uses."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The subset of the published API c360 uses (docs.confluent.io, Schema Registry API
# reference): POST /subjects/{subject}/versions {"schema": "..."} -> {"id": N} (one id per
# distinct schema, shared across subjects); GET /schemas/ids/{id} -> {"schema": "..."};
# unknown id -> 404 {"error_code": 40403, "message": "Schema not found"}. Query parameters
# (confluent_kafka sends `?normalize=False` on registration) are accepted and ignored.


@dataclass
class RegistryState:
    """What the emulator stores and saw; `faults` are statuses answered before real ones."""

    schemas: list[str] = field(default_factory=list)
    subjects: dict[str, list[int]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    auth: list[str | None] = field(default_factory=list)
    faults: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def register(self, subject: str, schema: str) -> int:
        """Register directly (as another producer would) and return the id."""
        with self.lock:
            if schema not in self.schemas:
                self.schemas.append(schema)
            schema_id = self.schemas.index(schema) + 1
            versions = self.subjects.setdefault(subject, [])
            if schema_id not in versions:
                versions.append(schema_id)
            return schema_id


def _handler(state: RegistryState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, doc: dict) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _path(self) -> str:
            return urllib.parse.urlsplit(self.path).path

        def _fault(self) -> bool:
            state.calls.append(f"{self.command} {self._path()}")
            state.auth.append(self.headers.get("Authorization"))
            if state.faults:
                code = state.faults.pop(0)
                self._send(code, {"error_code": code * 100, "message": "injected fault"})
                return True
            return False

        def do_POST(self) -> None:
            if self._fault():
                return
            match = re.fullmatch(r"/subjects/([^/]+)/versions", self._path())
            doc = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if match is None or not isinstance(doc.get("schema"), str):
                self._send(422, {"error_code": 42201, "message": "Invalid schema"})
                return
            subject = urllib.parse.unquote(match.group(1))
            self._send(200, {"id": state.register(subject, doc["schema"])})

        def do_GET(self) -> None:
            if self._fault():
                return
            match = re.fullmatch(r"/schemas/ids/(\d+)", self._path())
            schema_id = int(match.group(1)) if match else 0
            if not 0 < schema_id <= len(state.schemas):
                self._send(404, {"error_code": 40403, "message": "Schema not found"})
                return
            self._send(200, {"schema": state.schemas[schema_id - 1]})

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def running_registry() -> Iterator[tuple[str, RegistryState]]:
    """Serve the emulator on 127.0.0.1 (free port) in a thread; yields (url, state)."""
    state = RegistryState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
