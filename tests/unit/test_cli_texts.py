"""What the `c360` command says: help everywhere, every option described, plain results."""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from c360 import cli, demo, devstate, dlq, keys, reach
from infra.dlq import dead_letter_for
from schemas.errors import SchemaError


def _walk(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*words, name))


def _commands() -> list[tuple[str, ...]]:
    return [words for words, _ in _walk(cli.build_parser())]


def test_every_command_and_option_is_described() -> None:
    """Walk the whole tree: every sub-command has help and a description, every option help."""
    undescribed = []
    for words, parser in _walk(cli.build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    if not choice.help:
                        undescribed.append(f"c360 {' '.join(words)} {choice.dest}")
                continue
            if action.help is None or (action.help == "" and action.help != argparse.SUPPRESS):
                undescribed.append(
                    f"c360 {' '.join(words)} {'/'.join(action.option_strings) or action.dest}"
                )
        if words and not parser.description:
            undescribed.append(f"c360 {' '.join(words)} (no description)")
    assert undescribed == []
    # The ones the first new user found bare.
    for option in ("--bootstrap", "--prefix", "--max-entries"):
        assert any(option in "".join(p.format_help()) for _, p in _walk(cli.build_parser()))


@pytest.mark.parametrize("words", _commands(), ids=lambda w: " ".join(w) or "c360")
def test_help_of_every_command_exits_0_quietly(
    words: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """`c360 ... --help` works at every level and never prints the dev-stack line."""
    argv = [*(" ".join(words).split()), "--help"]
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    out, err = capsys.readouterr()
    assert out.startswith("usage: c360")
    assert "using the running dev stack" not in err


def _ready_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    for name in ("C360_KAFKA_BOOTSTRAP_SERVERS", "C360_REDIS_URL", "C360_TOPIC_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(
        devstate, "tool_env", lambda *_a: {"C360_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    )


def test_stack_line_only_for_stack_commands_and_q_silences_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`c360 dlq list` names the stack it uses, `-q` does not, `dev status` never does."""
    _ready_stack(tmp_path, monkeypatch)
    monkeypatch.setattr(dlq, "run", lambda args: 0)
    monkeypatch.setitem(cli.TOOLS, ("dlq",), cli.TOOLS[("dlq",)])
    seen: list[str] = []
    monkeypatch.setattr(dlq.reach, "require_kafka", lambda kafka, *_a: seen.append(kafka))
    monkeypatch.setattr(dlq, "read_dead_letters", lambda *_a: iter(()))
    assert cli.main(["dlq", "list"]) == 0
    assert "using the running dev stack" in capsys.readouterr().err
    assert cli.main(["-q", "dlq", "list"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("C360_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    cli.main(["dev", "status", "--data-dir", str(tmp_path)])
    assert "using the running dev stack" not in capsys.readouterr().err


def test_empty_dlq_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No dead letters: one plain sentence, not silence."""
    monkeypatch.setattr(dlq.reach, "require_kafka", lambda *_a: None)
    monkeypatch.setattr(dlq, "read_dead_letters", lambda *_a: iter(()))
    assert dlq.main(["list"]) == 0
    assert capsys.readouterr().out == "No dead letters.\n"


def test_dlq_table_cuts_at_a_word_and_show_prints_all(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table's error text ends on a whole word with an ellipsis; `show` prints it all."""
    text = "the field interaction_id is missing from the record " * 4
    letter = dead_letter_for(
        topic="c360.interactions.v1",
        partition=0,
        offset=5,
        key=b"k",
        value=b"x",
        error=SchemaError(text),
        stage="normalize",
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    monkeypatch.setattr(dlq.reach, "require_kafka", lambda *_a: None)
    monkeypatch.setattr(dlq, "read_dead_letters", lambda *_a: iter([(7, letter, b"raw")]))
    assert dlq.main(["list"]) == 0
    out = capsys.readouterr().out
    row = out.splitlines()[1]
    assert row.startswith("7 ") and row.endswith("…")
    cut = row.split("  ")[-1].rstrip("…")
    assert text.startswith(cut) and text[len(cut)] == " "
    assert "c360 dlq show OFFSET" in out
    assert dlq.main(["show", "7"]) == 0
    assert json.loads(capsys.readouterr().out)["error"] == letter.error_message


def test_demo_call_says_who_rings_which_agent_and_where_to_look(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`c360 demo call`: the caller, the agent, the panel link."""
    monkeypatch.setenv("C360_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(demo.reach, "require_kafka", lambda *_a: None)
    monkeypatch.setattr(demo, "make_producer", lambda *_a: None)
    monkeypatch.setattr(demo, "produce_all", lambda _p, _t, batch: len(batch))
    assert demo.main(["call", "--who", "bruno", "--agent", "agent-7"]) == 0
    out = capsys.readouterr().out
    assert "Bruno Costa" in out and "agent-7" in out and "http://127.0.0.1:8360/" in out
    assert demo.main([]) == 0  # `c360 demo` alone is the default call
    assert "Alice Martin (alice) is calling agent-1" in capsys.readouterr().out


def test_unreachable_broker_fails_fast_with_one_sentence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A closed port: exit 3 at once, naming the address and the fix."""
    with pytest.raises(SystemExit) as done:
        dlq.main(["list", "--bootstrap", "127.0.0.1:1"])
    assert done.value.code == 3
    err = capsys.readouterr().err
    assert err.strip() == (
        "c360: cannot reach the Kafka broker at 127.0.0.1:1: is the stack running? "
        "(`c360 dev up`, or set C360_KAFKA_BOOTSTRAP_SERVERS)"
    )
    assert os.linesep not in err.strip()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret-pw@127.0.0.1:1/0", "redis://127.0.0.1:1/0"),
        ("redis://ops:s3cret-pw@127.0.0.1:1/2", "redis://ops@127.0.0.1:1/2"),
    ],
)
def test_unreachable_redis_fails_fast_with_one_sentence_and_no_password(
    url: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A closed Redis port: exit 3 within the bounded wait, one sentence naming the URL
    without its password, and the fix."""
    began = time.monotonic()
    with pytest.raises(SystemExit) as done:
        keys.main(["--redis", url, "list", "--tenant", "acme"])
    assert time.monotonic() - began < reach.timeout_seconds() + 2
    assert done.value.code == 3
    err = capsys.readouterr().err
    assert err.strip() == (
        f"c360: cannot reach Redis at {shown}: is the stack running? "
        "(`c360 dev up`, or set C360_REDIS_URL)"
    )
    assert os.linesep not in err.strip() and "s3cret" not in err
