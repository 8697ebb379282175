"""The web service's access log: method, path, status and time, never the query string."""

from __future__ import annotations

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PathOnlyAccessLogger(AbstractAccessLogger):
    """aiohttp's access logger without the query string or headers: desktop tokens travel in
    the stream URL (`?token=`, an EventSource limitation) and identifiers in read queries
    (`?identifier=`), and neither may reach a log. Emitted on `aiohttp.access`, which
    infra.logs shows only at C360_LOG_LEVEL=DEBUG."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            "%s %s %s %.1fms", request.method, request.path, response.status, time * 1000
        )
