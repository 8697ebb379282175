"""Topic phrase lists per tenant: validation, tenant override, reload on change."""

from __future__ import annotations

import json
import os

import pytest
from structlog.testing import capture_logs

from core.topic_config import TopicConfigError, parse_topics
from projections.topic_config import TopicConfig

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
    config = TopicConfig(str(path), check_seconds=0)
    assert list(config.for_tenant("acme")) == ["Refund"]
    _write(path, {"tenants": {"acme": {"Fraud": ["stolen card"]}}}, bump=1)
    assert list(config.for_tenant("acme")) == ["Fraud"]
    with capture_logs() as logs:
        _write(path, "{oops", bump=2)
        assert list(config.for_tenant("acme")) == ["Fraud"]
        assert list(config.for_tenant("acme")) == ["Fraud"]
    assert config.error is not None and "line 1 column 2" in config.error
    assert [(e["event"], e["log_level"]) for e in logs] == [("topics_reload_failed", "error")]
    _write(path, DOC, bump=3)
    assert list(config.for_tenant("acme")) == ["Refund"]
    assert config.error is None


def test_from_env_reads_the_file_and_checks_it_at_most_once_a_second(tmp_path):
    """C360_TOPICS_FILE is loaded at start; later stats are throttled like the rules file's."""
    path = tmp_path / "topics.json"
    _write(path, DOC)
    assert list(TopicConfig.from_env({"C360_TOPICS_FILE": str(path)}).for_tenant("acme")) == [
        "Refund"
    ]
    now = [0.0]
    config = TopicConfig(str(path), monotonic=lambda: now[0])
    assert list(config.for_tenant("acme")) == ["Refund"]
    _write(path, {"tenants": {"acme": {"Fraud": ["stolen card"]}}}, bump=1)
    now[0] = 0.5
    assert list(config.for_tenant("acme")) == ["Refund"]
    now[0] = 1.5
    assert list(config.for_tenant("acme")) == ["Fraud"]


def test_a_vanished_file_keeps_the_tables_and_a_missing_one_fails_at_start_up(tmp_path):
    """Same policy as the rules file: deleted mid-deploy -> last good, logged once."""
    path = tmp_path / "topics.json"
    _write(path, DOC)
    config = TopicConfig(str(path), check_seconds=0)
    path.unlink()
    with capture_logs() as logs:
        assert list(config.for_tenant("acme")) == ["Refund"]
        assert list(config.for_tenant("acme")) == ["Refund"]
    assert [e["event"] for e in logs] == ["topics_reload_failed"]
    with pytest.raises(TopicConfigError, match="cannot read topics file"):
        TopicConfig(str(path))


def test_no_file_means_no_topics():
    """Without C360_TOPICS_FILE every tenant has no topics."""
    assert dict(TopicConfig.from_env({}).for_tenant("acme")) == {}
