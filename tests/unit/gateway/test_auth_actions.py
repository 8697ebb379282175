"""Desktop tokens, gateway settings and desktop action validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jwt
import pytest

from connectors.gateway import auth
from connectors.gateway.actions import ActionContext, InvalidAction, parse_action
from connectors.gateway.settings import DEV_SECRET, GatewayConfigError, GatewaySettings

# 32 bytes: the length RFC 7518 asks of an HS256 key (PyJWT warns below it).
SECRET = b"0123456789abcdef-test-secret-32b"
CTX = ActionContext("demo", "agent-1", datetime(2025, 3, 1, tzinfo=UTC))


def test_token_round_trip() -> None:
    """A token issued for (tenant, agent) verifies to the same identity until it expires."""
    token = auth.issue(SECRET, "demo", "agent-1", 1000.0, 600)
    assert auth.verify(SECRET, token, 1599.0) == auth.AgentIdentity("demo", "agent-1", 1600)


@pytest.mark.parametrize(
    ("mangle", "now"),
    [
        (lambda t: t, 1600.0),  # expired
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 1000.0),  # signature
        (lambda t: "", 1000.0),
        (lambda t: "a.b", 1000.0),
        (lambda t: "a.b.c", 1000.0),
        (lambda t: t + "x", 1000.0),
    ],
)
def test_bad_tokens_are_rejected(mangle: object, now: float) -> None:
    """Expired, tampered, empty and malformed tokens raise InvalidToken."""
    token = auth.issue(SECRET, "demo", "agent-1", 1000.0, 600)
    with pytest.raises(auth.InvalidToken):
        auth.verify(SECRET, mangle(token), now)  # type: ignore[operator]


def test_token_of_another_secret_and_swapped_claims_fail() -> None:
    """A token signed with another secret, or a body swapped from another token, fails."""
    other = auth.issue(b"another-secret-xxxxxxxxxxxxxxxxx", "demo", "agent-1", 1000.0, 600)
    with pytest.raises(auth.InvalidToken):
        auth.verify(SECRET, other, 1000.0)
    a = auth.issue(SECRET, "demo", "agent-1", 1000.0, 600).split(".")
    b = auth.issue(SECRET, "demo", "agent-2", 1000.0, 600).split(".")
    with pytest.raises(auth.InvalidToken):
        auth.verify(SECRET, ".".join([a[0], b[1], a[2]]), 1000.0)


def _signed(secret: bytes = SECRET, algorithm: str = "HS256", **changes: object) -> str:
    """A JWT with the claims `issue` writes, some changed (None removes one)."""
    claims: dict[str, object] = {
        "iss": auth.ISSUER,
        "aud": auth.AUDIENCE,
        "sub": "agent-1",
        "tenant": "demo",
        "iat": 1000,
        "exp": 1600,
    }
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, secret, algorithm=algorithm
    )


def test_the_token_is_a_standard_jwt() -> None:
    """Any JWT library holding the secret reads (and can mint) a token: HS256, the agent as
    `sub`, the tenant, iat/exp, and the fixed issuer and audience."""
    token = auth.issue(SECRET, "demo", "agent-1", 1000.0, 600)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(
        token,
        SECRET,
        algorithms=["HS256"],
        audience=auth.AUDIENCE,
        issuer=auth.ISSUER,
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": auth.ISSUER,
        "aud": auth.AUDIENCE,
        "sub": "agent-1",
        "tenant": "demo",
        "iat": 1000,
        "exp": 1600,
    }
    assert auth.verify(SECRET, _signed(), 1000.0) == auth.AgentIdentity("demo", "agent-1", 1600)


@pytest.mark.parametrize(
    ("token", "detail"),
    [
        (_signed(aud="another-service"), "malformed token"),
        (_signed(iss="someone-else"), "malformed token"),
        (_signed(tenant=None), "malformed token"),
        (_signed(sub=None), "malformed token"),
        (_signed(exp=None), "malformed token"),
        (_signed(iat=None), "malformed token"),
        (_signed(exp="soon"), "malformed token"),
        (_signed(tenant="de mo"), "malformed token"),
        (_signed(secret=SECRET * 2, algorithm="HS512"), "malformed token"),
        (jwt.encode({"sub": "agent-1"}, None, algorithm="none"), "malformed token"),
        (_signed(secret=b"another-secret-of-thirty-two-byt"), "token signature does not verify"),
        (_signed(iat=1000 + auth.LEEWAY_SECONDS + 1), "token not yet valid"),
        (_signed(nbf=1000 + auth.LEEWAY_SECONDS + 1), "token not yet valid"),
    ],
)
def test_foreign_tokens_are_rejected(token: str, detail: str) -> None:
    """Tokens for another audience or issuer, without a required claim, with an id outside
    the alphabets, with another algorithm (`none` included), another secret, or issued
    beyond the clock-skew leeway in the future are refused, saying only what kind of failure."""
    with pytest.raises(auth.InvalidToken) as err:
        auth.verify(SECRET, token, 1000.0)
    assert str(err.value) == detail
    assert token not in str(err.value)


def test_clock_skew_leeway_applies_to_issue_time_not_expiry() -> None:
    """A minter whose clock runs ahead (iat in our future, within the leeway) is accepted;
    expiry is exact, as an open stream ends exactly then."""
    ahead = _signed(iat=1000 + auth.LEEWAY_SECONDS, nbf=1000 + auth.LEEWAY_SECONDS)
    assert auth.verify(SECRET, ahead, 1000.0).expires_at == 1600
    with pytest.raises(auth.InvalidToken, match="token expired"):
        auth.verify(SECRET, _signed(), 1600.0)
    assert auth.verify(SECRET, _signed(), 1599.0).agent == "agent-1"


def test_issue_refuses_bad_ids() -> None:
    """Tenants outside the key alphabet and agent ids with spaces are refused."""
    with pytest.raises(ValueError, match="tenant"):
        auth.issue(SECRET, "de mo", "agent-1", 0, 60)
    with pytest.raises(ValueError, match="agent"):
        auth.issue(SECRET, "demo", "agent 1", 0, 60)


def test_settings_need_a_secret_outside_dev() -> None:
    """Prod without C360_GATEWAY_SECRET (or with a short one) is a config error; dev is not."""
    with pytest.raises(GatewayConfigError, match="C360_GATEWAY_SECRET is required"):
        GatewaySettings.from_env({})
    with pytest.raises(GatewayConfigError, match="at least 16"):
        GatewaySettings.from_env({"C360_GATEWAY_SECRET": "short"})
    dev = GatewaySettings.from_env({"C360_ENV": "dev", "C360_GATEWAY_DEV_AGENTS": "a, b"})
    assert dev.secret == DEV_SECRET.encode()
    assert dev.dev_agents == ("a", "b")
    assert "secret" not in repr(dev)


def test_settings_report_every_problem() -> None:
    """Several bad values are reported together."""
    with pytest.raises(GatewayConfigError) as err:
        GatewaySettings.from_env(
            {"C360_ENV": "dev", "C360_GATEWAY_BUFFER": "x", "C360_GATEWAY_HEARTBEAT_SECONDS": "0"}
        )
    assert "C360_GATEWAY_BUFFER" in str(err.value)
    assert "C360_GATEWAY_HEARTBEAT_SECONDS" in str(err.value)


def _body(**doc: object) -> bytes:
    return json.dumps(doc).encode()


def test_action_is_scoped_to_the_token_not_the_body() -> None:
    """tenant/agent in the body are ignored: the record carries the token's identity."""
    record = parse_action(
        _body(
            action="relink",
            interaction_id="ix-1",
            profile_id="p-2",
            agent_id="agent-666",
            tenant_id="evil",
        ),
        CTX,
    )
    assert (record.tenant_id, record.agent_id) == ("demo", "agent-1")
    assert (record.action, record.interaction_id, record.profile_id) == ("relink", "ix-1", "p-2")


def test_client_action_id_makes_the_event_id_stable() -> None:
    """The same client_action_id gives the same event id (a retried click = one note)."""
    body = _body(action="add_note", interaction_id="ix-1", text=" hi ", client_action_id="c1")
    one, two = parse_action(body, CTX), parse_action(body, CTX)
    assert one.event_id == two.event_id
    assert one.text == "hi"
    other = parse_action(_body(action="add_note", interaction_id="ix-1", text="hi"), CTX)
    assert other.event_id != one.event_id


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"action": "explode", "interaction_id": "ix"}, "action must be one of"),
        ({"action": "relink"}, "interaction_id is required"),
        ({"action": "relink", "interaction_id": "ix"}, "profile_id is required"),
        ({"action": "add_note", "interaction_id": "ix", "text": "  "}, "text is required"),
        ({"action": "link_record", "interaction_id": "ix"}, "record_id is required"),
        ({"action": "add_note", "interaction_id": "ix", "text": 5}, "text must be a string"),
        ({"action": "add_note", "interaction_id": "ix", "text": "x" * 10_001}, "longer"),
    ],
)
def test_invalid_actions(doc: dict[str, object], problem: str) -> None:
    """Each invalid body names its problem."""
    with pytest.raises(InvalidAction, match=problem):
        parse_action(json.dumps(doc).encode(), CTX)


def test_non_json_and_non_object_bodies() -> None:
    """Bodies that are not a JSON object are invalid."""
    for body in (b"not json", b"[1]"):
        with pytest.raises(InvalidAction):
            parse_action(body, CTX)


def test_optional_text_for_tasks() -> None:
    """add_task/add_call/add_event need no text (the activity gets a fallback subject)."""
    assert parse_action(_body(action="add_call", interaction_id="ix"), CTX).text is None


def test_an_action_nested_beyond_the_limit_is_invalid_not_a_crash():
    with pytest.raises(InvalidAction):
        parse_action(b"[" * 100_000 + b"]" * 100_000, CTX)
