"""Topic phrase lists per tenant: validation, tenant override, reload on change."""

from __future__ import annotations

import json
import os

import pytest
from structlog.testing import capture_logs

from projections.topic_config import TopicConfig, TopicConfigError, parse_topics

DOC = {"default": {"Billing": ["invoice"]}, "tenants": {"acme": {"Refund": ["refund"]}}}


def _write(path, doc, bump: int = 0):
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def test_a_tenant_table_replaces_the_default():
    """acme sees its own topics; any other tenant the default ones."""
    tables = parse_topics(json.dumps(DOC))
    assert dict(tables.for_tenant("acme")) == {"Refund": ("refund",)}
    assert dict(tables.for_tenant("globex")) == {"Billing": ("invoice",)}


def test_every_problem_is_listed():
    """Unknown keys, empty phrase lists and non-strings are all reported at once."""
    bad = {"tenant": {}, "default": {"A": [], "B": ["ok", 3]}}
    with pytest.raises(TopicConfigError) as err:
        parse_topics(json.dumps(bad))
    assert "'tenant'" in str(err.value)
    assert "default.A" in str(err.value)
    assert "default.B" in str(err.value)


def test_an_invalid_file_fails_at_start_up(tmp_path):
    """A broken file given at start-up is an error, not a silent empty config."""
    path = tmp_path / "topics.json"
    _write(path, "{not json")
    with pytest.raises(TopicConfigError):
        TopicConfig(str(path))


def test_edits_are_picked_up_without_restart_and_bad_edits_keep_the_last_good(tmp_path):
    """Changing the file changes the topics; a broken edit keeps the previous tables."""
    path = tmp_path / "topics.json"
    _write(path, DOC)
    config = TopicConfig.from_env({"C360_TOPICS_FILE": str(path)})
    assert list(config.for_tenant("acme")) == ["Refund"]
    _write(path, {"tenants": {"acme": {"Fraud": ["stolen card"]}}}, bump=1)
    assert list(config.for_tenant("acme")) == ["Fraud"]
    with capture_logs() as logs:
        _write(path, "{oops", bump=2)
        assert list(config.for_tenant("acme")) == ["Fraud"]
    assert config.error is not None
    assert logs[0]["event"] == "topics_reload_failed"


def test_no_file_means_no_topics():
    """Without C360_TOPICS_FILE every tenant has no topics."""
    assert dict(TopicConfig.from_env({}).for_tenant("acme")) == {}
