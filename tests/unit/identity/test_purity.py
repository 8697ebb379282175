"""core.identity is pure: importing it pulls in no I/O framework; results are cached."""

from __future__ import annotations

import subprocess
import sys

import phonenumbers

from core import identity


def test_import_pulls_no_io_frameworks() -> None:
    """A fresh interpreter importing core.identity has no faust/redis/kafka/structlog."""
    code = (
        "import sys, core.identity\n"
        "bad = [m for m in ('faust', 'redis', 'confluent_kafka', 'structlog', 'aiohttp')"
        " if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_results_are_cached_and_bounded() -> None:
    """Repeated normalizations hit the LRU cache, which has a maximum size."""
    cache = identity._normalize_cached
    assert cache.cache_info().maxsize is not None
    identity.normalize("+12015550123", "US")
    hits = cache.cache_info().hits
    identity.normalize("+12015550123", "US")
    assert cache.cache_info().hits == hits + 1


def test_version_names_the_rules_and_the_metadata() -> None:
    """NORMALIZER_VERSION carries the rule versions and the libphonenumber version."""
    assert identity.NORMALIZER_VERSION.startswith("phone-1+email-1+")
    assert identity.NORMALIZER_VERSION.endswith(phonenumbers.__version__)
