"""infra.reload.WatchedFile: the one policy of every hot-reloaded tenant config file."""

from __future__ import annotations

import os

import pytest
from structlog.testing import capture_logs

from core.errors import ConfigError
from core.rules import default_rules
from core.rules_config import parse_rules
from infra.reload import WatchedFile


def _parse(text: str) -> tuple[str, ...]:
    words = tuple(text.split())
    if "bad" in words:
        raise ConfigError(f"line {words.index('bad') + 1}: 'bad' is not allowed")
    return words


def _write(path, text: str, bump: int) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))


def _watch(path, **kw) -> WatchedFile[tuple[str, ...]]:
    return WatchedFile(
        str(path) if path else None,
        _parse,
        ("default",),
        name="words",
        label="words file",
        check_seconds=0,
        **kw,
    )


def test_no_path_is_the_default_without_touching_the_disk():
    """No file configured: the default, and no stat or read ever."""
    watched = _watch(None, monotonic=lambda: pytest.fail("no clock needed"))
    assert watched.load() == ("default",)
    assert watched.current() == ("default",)


def test_start_up_fails_on_a_missing_or_invalid_file(tmp_path):
    """A configured file must exist and parse when the process starts."""
    with pytest.raises(ConfigError, match=r"cannot read words file .*missing"):
        _watch(tmp_path / "missing").load()
    path = tmp_path / "words"
    _write(path, "ok bad", 0)
    with pytest.raises(ConfigError, match="line 2"):
        _watch(path).current()


def test_changes_load_bad_edits_and_vanishing_keep_the_last_good_logged_once(tmp_path):
    """Reload on change (summary logged); a bad edit or a deleted file keeps the last good
    config, logs an error once per change and sets `error`; a fixed file clears it."""
    path = tmp_path / "words"
    _write(path, "a b", 0)
    watched = WatchedFile(
        str(path),
        _parse,
        (),
        name="words",
        label="words file",
        check_seconds=0,
        summary=lambda w: {"count": len(w)},
    )
    assert watched.load() == ("a", "b")
    with capture_logs() as logs:
        _write(path, "c", 1)
        assert watched.current() == ("c",)
        _write(path, "c bad", 2)
        assert watched.current() == ("c",)
        assert watched.current() == ("c",)
        assert watched.error is not None and "line 2" in watched.error
        path.unlink()
        assert watched.current() == ("c",)
        assert watched.current() == ("c",)
        _write(path, "d", 3)
        assert watched.current() == ("d",)
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("words_reloaded", "info"),
        ("words_reload_failed", "error"),
        ("words_reload_failed", "error"),
        ("words_reloaded", "info"),
    ]
    assert logs[0]["count"] == 1
    assert watched.error is None


def test_rule_syntax_errors_name_the_line():
    """The pure parsers report where a syntax error is (JSON and TOML)."""
    with pytest.raises(ConfigError, match="line 2 column 2"):
        parse_rules('{"default": []\n}}', default_rules(10), source="r.json")
    with pytest.raises(ConfigError, match="line 2"):
        parse_rules("[[default]]\n= nope", default_rules(10), toml=True)
