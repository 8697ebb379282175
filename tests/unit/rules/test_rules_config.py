"""Rules files: JSON/TOML parsing, every problem listed with its path, reload on change."""

from __future__ import annotations

import json
import os

import pytest
from structlog.testing import capture_logs

from core.errors import ConfigError
from core.rules import default_rules
from core.rules_config import rules_from_dict
from streams.rules_config import RulesSource, load_rules_file

FALLBACK = default_rules(10)
GOOD = {
    "default": [
        {"id": "calls", "when": {"channel": "voice", "min_duration_seconds": 5},
         "create": [{"kind": "call", "subject": "Call {disposition}"}]},
    ],
    "tenants": {
        "acme": [
            {"id": "emails", "when": {"channel": ["email"], "direction": ["inbound"]},
             "create": [{"kind": "email", "email_thread_url": "https://m.test/{interaction_id}",
                         "links": {"recording": False}}]},
        ],
        "quiet": [],
    },
}
TOML = """
[[default]]
id = "calls"
when = { channel = "voice", queue = ["Sales"] }
create = [{ kind = "call", body = "{notes}" }]

[[tenants.acme]]
id = "tasks"
create = [{ kind = "task", subject = "Follow up {title}", crm = "hubspot" }]
"""


def test_a_valid_json_document_builds_rules_per_tenant():
    """Default and tenant lists, string-or-list conditions, templates, link flags."""
    rules = rules_from_dict(GOOD, FALLBACK)
    (calls,) = rules.default
    assert calls.rule_id == "calls"
    assert calls.when.channels == frozenset({"voice"})
    assert calls.actions[0].subject.text == "Call {disposition}"
    (emails,) = rules.for_tenant("acme")
    assert emails.actions[0].link_recording is False
    assert emails.actions[0].email_thread_url is not None
    assert rules.for_tenant("quiet") == ()
    assert rules.for_tenant("other") == rules.default


@pytest.mark.parametrize(
    ("on", "triggers"),
    [
        (None, {"wrapup"}),  # as before triggers existed
        ("voicemail", {"voicemail"}),
        (["missed", "abandoned", "wrapup"], {"missed", "abandoned", "wrapup"}),
    ],
)
def test_on_names_the_triggers_and_defaults_to_wrap_up(on, triggers):
    """`on`: one trigger or a list; a rule without it fires at wrap-up only."""
    rule = {"id": "a", "create": [{"kind": "call"}]} | ({"on": on} if on else {})
    (parsed,) = rules_from_dict({"default": [rule]}, FALLBACK).default
    assert parsed.on == frozenset(triggers)
    assert parsed.actions[0].subject is None  # the trigger's default subject


def test_without_a_default_list_the_built_in_call_rule_stays(tmp_path):
    """A file with tenants only keeps the built-in default for everyone else (TOML here)."""
    path = tmp_path / "rules.toml"
    path.write_text(TOML[TOML.index("[[tenants.acme]]"):])
    rules = load_rules_file(str(path), FALLBACK)
    assert rules.default == FALLBACK.default
    assert rules.for_tenant("acme")[0].actions[0].crm == "hubspot"


def test_toml_files_are_read_by_their_extension(tmp_path):
    """.toml -> tomllib; inline tables and arrays of tables work."""
    path = tmp_path / "rules.toml"
    path.write_text(TOML)
    rules = load_rules_file(str(path), FALLBACK)
    assert rules.default[0].when.queues == frozenset({"Sales"})
    assert rules.default[0].actions[0].body.text == "{notes}"


@pytest.mark.parametrize(
    ("doc", "problems"),
    [
        ([], ["expected a table with 'default' and/or 'tenants'"]),
        ({"defaults": []}, ["rules: unknown key 'defaults'"]),
        ({"default": {}}, ["default: expected a list of rules"]),
        ({"default": [{"id": "a", "create": []}]},
         ["default[0].create: required, a non-empty list"]),
        ({"default": [{"create": [{"kind": "call"}]}]}, ["default[0].id: required"]),
        ({"default": [{"id": "a", "create": [{"kind": "call"}]},
                      {"id": "a", "create": [{"kind": "call"}]}]},
         ["default[1].id: duplicate rule id 'a'"]),
        ({"default": [{"id": "a", "create": [{"kind": "meeting"}]}]},
         ["default[0].create[0].kind: expected one of call, chat, email, note, task, event"]),
        ({"default": [{"id": "a", "when": {"chanel": "voice"}, "create": [{"kind": "call"}]}]},
         ["default[0].when: unknown key 'chanel'"]),
        ({"default": [{"id": "a", "when": {"min_duration_seconds": "10"},
                       "create": [{"kind": "call"}]}]},
         ["default[0].when.min_duration_seconds: expected a non-negative integer"]),
        ({"default": [{"id": "a", "when": {"queue": [1]}, "create": [{"kind": "call"}]}]},
         ["default[0].when.queue: expected a string or a list"]),
        ({"tenants": {"acme": [{"id": "a", "create": [{"kind": "call", "subject": "{whom}"}]}]}},
         ["tenants.acme[0].create[0].subject: unknown placeholder {whom}"]),
        ({"tenants": {"acme": [{"id": "a", "create": [{"kind": "call",
                                                       "links": {"video": True}}]}]}},
         ["tenants.acme[0].create[0].links: expected"]),
        ({"tenants": []}, ["tenants: expected a table"]),
        ({"default": [{"id": "a", "on": ["missed", "hangup"], "create": [{"kind": "call"}]}]},
         ["default[0].on: unknown trigger 'hangup' (known: wrapup, missed, abandoned, "
          "voicemail, parked)"]),
        ({"default": [{"id": "a", "on": [], "create": [{"kind": "call"}]}]},
         ["default[0].on: expected at least one trigger"]),
        ({"default": [{"id": "a", "on": 3, "create": [{"kind": "call"}]}]},
         ["default[0].on: expected a string or a list"]),
        ({"default": [{"id": "a", "when": {"channel": 3}, "create": [{"kind": "x",
                                                                      "body": "{y}"}]}]},
         ["default[0].when.channel", "default[0].create[0].kind"]),
    ],
)
def test_every_problem_is_reported_with_its_path(doc, problems):
    """ConfigError names each bad place (all of them at once), never a traceback later."""
    with pytest.raises(ConfigError) as caught:
        rules_from_dict(doc, FALLBACK)
    for problem in problems:
        assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("r.json", "{not json", "does not parse"),
        ("r.toml", "= nope", "does not parse"),
    ],
)
def test_unparseable_files_are_config_errors(tmp_path, name, text, problem):
    """Syntax errors name the file."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem):
        load_rules_file(str(path), FALLBACK)


def test_a_missing_file_stops_start_up(tmp_path):
    """C360_RULES_FILE pointing nowhere fails at start, not on the first wrap-up."""
    with pytest.raises(ConfigError, match="cannot read rules file"):
        RulesSource.from_env({"C360_RULES_FILE": str(tmp_path / "nope.json")}, 10)


def test_without_a_rules_file_the_settings_call_rule_applies():
    """Unset C360_RULES_FILE -> the call rule with C360_ACTIVITY_MIN_CALL_SECONDS."""
    source = RulesSource.from_env({}, 42)
    assert source.current().default[0].when.min_duration_seconds == 42


def _write(path, doc, bump: int) -> None:
    path.write_text(json.dumps(doc))
    stat = path.stat()
    # Force a distinct mtime: a test runs faster than the filesystem's timestamp granularity.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + bump * 1_000_000_000))


def _source(path) -> RulesSource:
    source = RulesSource(str(path), FALLBACK, check_seconds=0)
    source.load()
    return source


def test_an_edited_file_is_picked_up_without_a_restart(tmp_path):
    """Changing the file changes the rules on the next evaluation."""
    path = tmp_path / "rules.json"
    _write(path, GOOD, 0)
    source = _source(path)
    assert source.current().default[0].rule_id == "calls"
    changed = {"default": [{"id": "notes", "create": [{"kind": "note"}]}]}
    _write(path, changed, 5)
    with capture_logs() as logs:
        assert source.current().default[0].rule_id == "notes"
    assert [entry["event"] for entry in logs] == ["rules_reloaded"]


def test_a_bad_edit_keeps_the_last_good_rules_and_logs_once(tmp_path):
    """Invalid reload: the previous rules stay; the problem is logged once per change."""
    path = tmp_path / "rules.json"
    _write(path, GOOD, 0)
    source = _source(path)
    good = source.current()
    _write(path, {"default": [{"id": "a", "create": [{"kind": "fax"}]}]}, 5)
    with capture_logs() as logs:
        assert source.current() is good
        assert source.current() is good
    assert [entry["event"] for entry in logs] == ["rules_reload_failed"]
    assert "create[0].kind" in logs[0]["error"]
    _write(path, {"default": []}, 9)
    assert source.current().default == ()


def test_a_deleted_file_keeps_the_rules_and_a_recreated_one_loads(tmp_path):
    """The file vanishing (mid-deploy) is logged; its return is loaded again."""
    path = tmp_path / "rules.json"
    _write(path, GOOD, 0)
    source = _source(path)
    good = source.current()
    path.unlink()
    with capture_logs() as logs:
        assert source.current() is good
        assert source.current() is good
    assert [entry["event"] for entry in logs] == ["rules_reload_failed"]
    _write(path, GOOD, 3)
    assert source.current() == good


def test_checks_are_throttled(tmp_path):
    """Between checks the file is not looked at (one stat per interval, not per event)."""
    path = tmp_path / "rules.json"
    _write(path, GOOD, 0)
    now = [0.0]
    source = RulesSource(str(path), FALLBACK, check_seconds=1.0, monotonic=lambda: now[0])
    source.load()
    first = source.current()
    _write(path, {"default": []}, 5)
    now[0] = 0.5
    assert source.current() is first
    now[0] = 1.5
    assert source.current().default == ()
