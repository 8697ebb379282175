"""Stand-in worker for dev-stack tests: serve /health, sleep, die (once); records its env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "ok"}')

    def log_message(self, *_args: object) -> None:
        return


def main(mode: str, name: str) -> int:
    """Record env + pids under C360_DATA_DIR, then behave as `mode` says."""
    data = Path(os.environ["C360_DATA_DIR"])
    # A grandchild proves the stack stops whole process groups, not just its direct children.
    grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    record = {
        "env": {k: v for k, v in os.environ.items() if k.startswith("C360_")},
        "pid": os.getpid(),
        "grandchild": grandchild.pid,
    }
    (data / f"standin-{name}.json").write_text(json.dumps(record))
    if mode == "http":
        address = (os.environ["C360_HTTP_HOST"], int(os.environ["C360_HTTP_PORT"]))
        HTTPServer(address, _Health).serve_forever()
        return 0
    print("standin ready", flush=True)
    first_run = data / f"standin-{name}.ran"
    if mode == "die-once" and not first_run.exists():
        first_run.write_text("")
        time.sleep(1.0)
        print("standin dying once", flush=True)
        return 4
    if mode == "die":
        time.sleep(1.0)
        print("standin giving up on purpose", flush=True)
        return 3
    while True:
        time.sleep(1)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
