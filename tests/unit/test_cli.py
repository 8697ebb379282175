"""The c360 command's dispatch, the dev stack's env wiring and its state-file verbs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from c360 import cli, devstate
from c360.devspecs import StackContext, default_specs, stack_env


def test_tool_gets_its_arguments_and_its_exit_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tool module's add_arguments builds its sub-parser; its run(args) code is ours."""
    (tmp_path / "c360_fake_tool.py").write_text(
        "SEEN = []\n"
        "def add_arguments(p):\n"
        "    p.add_argument('file', help='a file')\n"
        "    p.add_argument('--flag', action='store_true', help='a flag')\n"
        "    p.set_defaults(run=run)\n"
        "def run(args):\n    SEEN.append((args.flag, args.file))\n    return 7\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.TOOLS, ("fake",), ("c360_fake_tool", "test tool"))
    assert cli.main(["fake", "--flag", "file.csv"]) == 7
    assert sys.modules["c360_fake_tool"].SEEN == [(True, "file.csv")]


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
    assert specs[0].argv[1:4] == ("-m", "streams", "worker")
    assert [s.argv[2] for s in specs[1:]] == ["web.service", "connectors.crm.worker"]


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


def _ready_state(tmp_path: Path, pid: int, cmd: str) -> None:
    devstate.write_state(tmp_path, {
        "supervisor_pid": pid, "supervisor_cmd": cmd, "phase": "ready", "children": [],
        "bootstrap": "127.0.0.1:4242", "redis_url": "redis://127.0.0.1:4343/0",
        "topic_prefix": "",
    })


def _own_argv0() -> str:
    return Path("/proc/self/cmdline").read_bytes().split(b"\0", 1)[0].decode()


def test_tools_find_the_running_dev_stack_unless_the_user_set_their_own(
    tmp_path: Path,
) -> None:
    """`c360 demo call` etc. reach the stack's random ports; explicit settings win."""
    _ready_state(tmp_path, os.getpid(), _own_argv0())
    env = devstate.tool_env(tmp_path, {"C360_REDIS_URL": "redis://mine:1/0"})
    assert env["C360_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:4242"
    assert env["C360_ENV"] == "dev" and env["C360_TOPIC_PREFIX"] == ""
    assert "C360_REDIS_URL" not in env


def test_tools_ignore_a_stopped_or_starting_dev_stack(tmp_path: Path) -> None:
    """A dead supervisor or a stack not ready yet wires nothing."""
    _ready_state(tmp_path, 2**22 + 12345, "/nonexistent")
    assert devstate.tool_env(tmp_path, {}) == {}
    devstate.write_state(tmp_path, {"supervisor_pid": os.getpid(), "phase": "starting"})
    assert devstate.tool_env(tmp_path, {}) == {}
    assert devstate.tool_env(tmp_path / "none", {}) == {}


def test_a_tool_runs_with_the_dev_stack_wiring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Dispatch applies the running stack's settings before the tool reads its defaults."""
    _ready_state(tmp_path, os.getpid(), _own_argv0())
    (tmp_path / "c360_env_tool.py").write_text(
        "import os\ndef add_arguments(p):\n"
        "    p.add_argument('--bootstrap', default=os.environ.get("
        "'C360_KAFKA_BOOTSTRAP_SERVERS'), help='x')\n"
        "    p.set_defaults(run=run)\n"
        "def run(args):\n    return 0 if args.bootstrap == '127.0.0.1:4242' else 9\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # A command that talks to the stack (only those take its settings).
    monkeypatch.setitem(cli.TOOLS, ("publish",), ("c360_env_tool", "test tool"))
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    for name in ("C360_KAFKA_BOOTSTRAP_SERVERS", "C360_REDIS_URL", "C360_ENV",
                 "C360_TOPIC_PREFIX", "C360_TENANT_REGIONS"):
        monkeypatch.setenv(name, "x")  # recorded, so what the tool run sets is undone too
        monkeypatch.delenv(name)
    assert cli.main(["publish"]) == 0
    assert "using the running dev stack" in capsys.readouterr().err
