"""The dev banner's sign-in link: a demo agent's token in the panel URL fragment, dev only."""

from __future__ import annotations

from c360.devsignin import signin_lines, signin_link
from connectors.gateway import auth
from connectors.gateway.settings import DEV_SECRET

NOW = 1_800_000_000.0


def test_the_link_carries_a_token_for_agent_1_of_the_demo_tenant_in_the_fragment() -> None:
    link = signin_link("http://127.0.0.1:8360", {"C360_ENV": "dev"}, NOW)
    assert link is not None
    base, token = link.url.split("#token=")
    assert base == "http://127.0.0.1:8360/desktop/"
    who = auth.verify(DEV_SECRET.encode(), token, NOW)
    assert (who.tenant, who.agent, who.expires_at) == ("demo", "agent-1", NOW + 12 * 3600)
    assert link.validity() == "12 h"


def test_the_stacks_secret_ttl_and_agents_are_honoured() -> None:
    env = {
        "C360_ENV": "dev",
        "C360_GATEWAY_SECRET": "s" * 32,
        "C360_GATEWAY_TOKEN_TTL_SECONDS": "5400",
        "C360_GATEWAY_DEV_AGENTS": "desk-7,desk-8",
    }
    link = signin_link("http://h:1", env, NOW)
    assert link is not None
    who = auth.verify(b"s" * 32, link.url.split("#token=")[1], NOW)
    assert who.agent == "desk-7"
    assert link.validity() == "90 min"


def test_no_link_outside_dev_mode() -> None:
    assert signin_link("http://h:1", {}, NOW) is None
    assert signin_link("http://h:1", {"C360_GATEWAY_SECRET": "s" * 32}, NOW) is None
    assert signin_lines("http://h:1", {}, NOW) == []


def test_the_lines_say_how_long_and_where_a_fresh_link_comes_from() -> None:
    text = "\n".join(signin_lines("http://h:1", {"C360_ENV": "dev"}, NOW))
    assert "sign in" in text
    assert "valid 12 h" in text
    assert "c360 dev status" in text


def test_the_dev_stack_lets_agents_edit_the_demo_profiles(tmp_path):
    """`c360 dev up` uses c360/dev_layout.json (unless C360_LAYOUT_FILE is set): the demo
    tenant's name, phones and emails are editable from the panel; other tenants keep the
    default (nothing editable)."""
    from c360.devspecs import DEV_LAYOUT, StackContext, stack_env  # noqa: PLC0415
    from core.layouts import layout_from_json  # noqa: PLC0415

    ctx = StackContext("127.0.0.1:1", "redis://x", 8360, tmp_path, tmp_path)
    assert stack_env(ctx, {})["C360_LAYOUT_FILE"] == str(DEV_LAYOUT)
    assert stack_env(ctx, {"C360_LAYOUT_FILE": "/etc/l.json"})["C360_LAYOUT_FILE"] == "/etc/l.json"
    layouts = layout_from_json(DEV_LAYOUT.read_text())
    demo = layouts.for_tenant("demo").fields or ()
    assert [(f.name, f.editable) for f in demo] == [
        ("display_name", True), ("phones", True), ("emails", True)]
    assert layouts.for_tenant("other").fields is None
