"""The c360 command's dispatch, the dev stack's env wiring and its state-file verbs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from c360 import cli, devstate
from c360.devspecs import StackContext, default_specs, stack_env


def test_longest_tool_words_win() -> None:
    """`c360 contacts import FILE` dispatches on both words, the rest is the tool's argv."""
    assert cli._match_tool(["contacts", "import", "x.csv"]) == ("contacts", "import")
    assert cli._match_tool(["publish", "--topic", "t", "f.json"]) == ("publish",)
    assert cli._match_tool(["dev", "up"]) is None


def test_tool_gets_its_arguments_and_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool module's main(argv) receives everything after its words; its code is ours."""
    (tmp_path / "c360_fake_tool.py").write_text(
        "SEEN = []\ndef main(argv):\n    SEEN.append(argv)\n    return 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.TOOLS, ("fake",), ("c360_fake_tool", "test tool"))
    assert cli.main(["fake", "--flag", "file.csv"]) == 7
    assert sys.modules["c360_fake_tool"].SEEN == [["--flag", "file.csv"]]


def test_missing_tool_module_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tool whose module is not written yet exits 2 and names the module."""
    monkeypatch.setitem(cli.TOOLS, ("later",), ("c360_not_written.tool", "later"))
    assert cli.main(["later", "x"]) == 2
    assert "c360_not_written.tool is missing" in capsys.readouterr().err


def test_stack_env_wires_infra_and_keeps_user_settings(tmp_path: Path) -> None:
    """Children get the stack's bootstrap/redis/port/env; the user's C360_* pass through."""
    ctx = StackContext("127.0.0.1:1234", "redis://127.0.0.1:5/0", 8361, tmp_path, tmp_path)
    env = stack_env(ctx, {"C360_DEFAULT_REGION": "GB", "C360_ENV": "prod", "PATH": "/bin"})
    assert env["C360_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:1234"
    assert env["C360_REDIS_URL"] == "redis://127.0.0.1:5/0"
    assert env["C360_HTTP_PORT"] == "8361"
    assert env["C360_ENV"] == "dev"
    assert env["C360_DATA_DIR"] == str(tmp_path)
    assert env["C360_DEFAULT_REGION"] == "GB"
    assert env["PATH"] == "/bin"


def test_default_specs_name_the_workers_in_start_order(tmp_path: Path) -> None:
    """streams, then web, then crm-sink; each runs the module the docs name."""
    ctx = StackContext("127.0.0.1:1", "redis://x", 8360, tmp_path, tmp_path)
    specs = default_specs(ctx)
    assert [s.name for s in specs] == ["streams", "web", "crm-sink"]
    assert specs[0].argv[1:5] == ("-m", "faust", "-A", "streams.app")
    assert [s.argv[2] for s in specs[1:]] == ["c360.web", "connectors.crm.worker"]


def test_status_and_down_without_a_stack(tmp_path: Path) -> None:
    """No state file: status says not running (exit 3), down is a no-op (exit 0)."""
    lines: list[str] = []
    assert devstate.status(tmp_path, lines.append) == 3
    assert devstate.down(tmp_path, lines.append) == 0
    assert lines == [
        "dev stack: not running",
        f"no dev stack is running (no {tmp_path}/state.json)",
    ]


def test_stale_state_is_reported_and_cleared(tmp_path: Path) -> None:
    """A state file left by a killed supervisor: status says stale, down removes it."""
    devstate.write_state(
        tmp_path,
        {
            "supervisor_pid": 2**22 + 12345,
            "supervisor_cmd": "/nonexistent",
            "children": [{"name": "web", "pid": 2**22 + 12346, "cmd": "/nonexistent", "log": "x"}],
        },
    )
    lines: list[str] = []
    assert devstate.status(tmp_path, lines.append) == 3
    assert "stale" in lines[0]
    assert devstate.down(tmp_path, lines.append) == 0
    assert devstate.read_state(tmp_path) is None
