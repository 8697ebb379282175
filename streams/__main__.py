"""`python -m streams worker ...`: settings from the environment, deps, the app, run."""

from __future__ import annotations

import sys

from infra.logs import configure_logging
from infra.metrics import new_registry
from streams.app import create_app
from streams.bootstrap import build_deps
from streams.pop_metrics import PopMetrics
from streams.settings import StreamSettings


def main() -> None:
    """Build everything once, at process start, then hand over to Faust's command line."""
    settings = StreamSettings.from_env()
    configure_logging(settings.log_format, settings.log_level)
    if settings.log_format == "json" and not {"-q", "--quiet"} & set(sys.argv):
        # Faust prints a banner table to stdout at start; in JSON mode every line of the
        # output is a record (its contents are in the worker's own start-up records).
        sys.argv.insert(1, "--quiet")
    # Faust's aiokafka consumer runs in a thread of its own. While it decodes a fetched
    # batch it holds the GIL, and every socket call of the event loop (Redis, producer) then
    # waits up to the switch interval (5 ms by default) to get it back: a quarter of the
    # loop's samples in the profile (docs/performance.md). A shorter interval bounds that.
    sys.setswitchinterval(0.0005)
    # A bad C360_RULES_FILE, layout or profile schema stops the start here, with the list of
    # problems; the Redis clients connect lazily, inside the worker's loop.
    # One metrics registry for the process (with its runtime collectors), served at /metrics.
    deps = build_deps(settings, pop_metrics=PopMetrics(new_registry()))
    create_app(settings, deps).main()


if __name__ == "__main__":
    main()
