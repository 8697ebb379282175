"""The settings model: variable names and defaults kept, errors name variables, secrets hidden."""

from __future__ import annotations

import pytest

from infra.settings import ConfigError, Settings
from infra.settings_streams import DEV_PEPPER, StreamSettings, ToolSettings

PROD = {"C360_PII_PEPPER": "pepper-pepper-pepper", "C360_GATEWAY_SECRET": "s" * 16}


def test_stream_defaults_follow_the_mode() -> None:
    """Dev picks the dev pepper, console logs and replication 1; prod json and 3."""
    dev = StreamSettings.from_env({"C360_ENV": "dev"})
    assert (dev.pii_pepper, dev.log_format, dev.topic_replication_factor) == (
        DEV_PEPPER.encode(),
        "console",
        1,
    )
    prod = StreamSettings.from_env(PROD)
    assert (prod.log_format, prod.topic_replication_factor, prod.redis_url) == (
        "json",
        3,
        "redis://127.0.0.1:6379/0",
    )
    assert "pepper-pepper" not in repr(prod) and "pepper-pepper" not in str(prod.model_dump())


def test_values_are_parsed_and_floors_applied() -> None:
    """Regions, log level, and the knobs raised to their floors."""
    s = StreamSettings.from_env(
        {
            "C360_ENV": "dev",
            "C360_TENANT_REGIONS": "acme=gb, beta=US",
            "C360_LOG_LEVEL": "debug",
            "C360_BATCH_MAX_EVENTS": "0",
            "C360_SESSION_TIMEOUT_SECONDS": "1",
            "C360_HTTP_PORT": "",
        }
    )
    assert s.region_for("acme") == "GB" and s.region_for("zeta") == "US"
    assert (s.log_level, s.batch_max_events, s.session_timeout_seconds, s.http_port) == (
        "DEBUG",
        1,
        3,
        8360,
    )


def test_every_problem_is_named_by_its_variable() -> None:
    """All bad values at once, each by variable name; a missing pepper too."""
    with pytest.raises(ConfigError) as caught:
        StreamSettings.from_env(
            {
                "C360_TIMELINE_MAX_ENTRIES": "many",
                "C360_HTTP_PORT": "-1",
                "C360_DEFAULT_REGION": "USA",
                "C360_TENANT_REGIONS": "x",
            }
        )
    text = str(caught.value)
    for name in (
        "C360_TIMELINE_MAX_ENTRIES",
        "C360_HTTP_PORT",
        "C360_DEFAULT_REGION",
        "C360_TENANT_REGIONS",
        "C360_PII_PEPPER is required outside C360_ENV=dev",
    ):
        assert name in text


def test_tools_need_no_secret() -> None:
    """The CLI's defaults load in prod without a pepper."""
    tools = ToolSettings.from_env({"C360_TOPIC_PREFIX": "p.", "C360_KEY_NAMESPACE": "ns"})
    assert (tools.topic("t"), tools.key_namespace, tools.timeline_max_entries) == ("p.t", "ns", 50)


def test_the_whole_model_loads_every_section_and_reports_each() -> None:
    """Settings.from_env validates every section; problems of several are listed together."""
    s = Settings.from_env(PROD)
    assert s.streams.pii_pepper == b"pepper-pepper-pepper" and s.gateway.secret == b"s" * 16
    assert (s.web.processes, s.read.max_inflight, s.worker.group_id) == (1, 64, "c360-crm-sink")
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    assert "C360_PII_PEPPER" in str(caught.value) and "C360_GATEWAY_SECRET" in str(caught.value)
