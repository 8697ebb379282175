"""The tolerant .jsonc loader handles exactly the quirks the published samples have."""

from __future__ import annotations

import json

import pytest

from tests.unit.sources.samples import load_jsonc, sample_json, sample_text

JSONC = [
    "amazon_connect_contact_event_disconnected.jsonc",  # trailing comma
    "amazon_connect_lambda_contact_flow_event.jsonc",  # // comments, a missing comma
    "amazon_connect_contact_lens_call_analysis_original.jsonc",  # one extra closing brace
    "amazon_connect_contact_lens_rules_eventbridge_1.jsonc",  # comments + trailing comma
    "amazon_connect_contact_lens_rules_eventbridge_2.jsonc",
]


@pytest.mark.parametrize("name", JSONC)
def test_published_jsonc_samples_are_not_strict_json_but_load(name: str) -> None:
    """Each .jsonc sample fails strict JSON (as SOURCES.md says) and loads tolerantly."""
    text = sample_text(name)
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    assert isinstance(load_jsonc(text), dict)


def test_strict_json_samples_load_unchanged() -> None:
    """A strict .json sample loads to the same value through either loader."""
    text = sample_text("amazon_connect_contact_lens_chat_analysis_original.json")
    assert load_jsonc(text) == json.loads(text)


def test_agent_event_stream_sample_is_structurally_broken() -> None:
    """The published agent event stream sample closes its object early: no guessing, an error."""
    with pytest.raises(json.JSONDecodeError):
        sample_json("amazon_connect_agent_event_stream.jsonc")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1, // note\n "b": "http://x//y",}', {"a": 1, "b": "http://x//y"}),
        ('{"a": [1, 2,],\n /* block */ "b": 2}', {"a": [1, 2], "b": 2}),
        ('{"a": "x"\n "b": "y"}', {"a": "x", "b": "y"}),
        ('{"a": 1}\n}', {"a": 1}),
    ],
)
def test_each_quirk(text: str, expected: object) -> None:
    """Comments (not inside strings), trailing commas, a missing comma, an extra brace."""
    assert load_jsonc(text) == expected


@pytest.mark.parametrize("text", ['{"a": 1} {"b": 2}', "{'a': 1}", '{"a": 1', "{a: 1}"])
def test_other_damage_is_still_an_error(text: str) -> None:
    """Anything beyond those quirks raises JSONDecodeError."""
    with pytest.raises(json.JSONDecodeError):
        load_jsonc(text)
