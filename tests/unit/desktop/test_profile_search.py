"""core.profile_search: index terms and how a query is read (pure)."""

from __future__ import annotations

import pytest

from core.identity import Identifier, party_token
from core.profile_schema import AttributeSpec, TenantSchema
from core.profile_search import (
    InvalidQuery,
    index_terms,
    plan_query,
    raw_terms,
    term_hash,
)
from core.profiles import Profile

PEPPER = b"unit-pepper"
SCHEMA = TenantSchema((AttributeSpec("tier", "text"),))


def test_terms_are_name_prefixes_and_attribute_values() -> None:
    profile = Profile("t", "p1", (1, "e"), "Ana-María Ñúñez", (), {"tier": "Gold  VIP"})
    terms = raw_terms(profile)
    assert {"n:an", "n:ana", "n:ma", "n:maría", "n:ñú", "n:ñúñez"} <= terms
    assert {"a:tier=gold vip", "v:gold vip"} <= terms
    assert "n:a" not in terms


def test_index_terms_are_keyed_hashes_without_clear_text() -> None:
    profile = Profile("t", "p1", (1, "e"), "Alice Smith", (), {"tier": "gold"})
    hashed = index_terms(profile, PEPPER)
    assert all(len(t) == 32 and "alice" not in t for t in hashed)
    assert term_hash(PEPPER, "t", "n:ali") in hashed
    assert term_hash(PEPPER, "other", "n:ali") not in hashed
    assert index_terms(Profile("t", "p1", (1, "e"), "Alice", deleted=True), PEPPER) == frozenset()


@pytest.mark.parametrize("q", ["+1 (415) 555-0100", "415.555.0100", "tel:+14155550100"])
def test_phone_in_any_format_is_its_party_token(q: str) -> None:
    plan = plan_query(q, "t", PEPPER, "US", SCHEMA)
    assert plan.kind == "phone" and plan.phone == "+14155550100"
    assert plan.tokens == (party_token(PEPPER, "t", Identifier("phone", "+14155550100")),)


def test_email_is_its_party_token() -> None:
    plan = plan_query(" Dana@Example.COM ", "t", PEPPER, "US", SCHEMA)
    assert plan.kind == "email" and plan.email == "dana@example.com"
    assert plan.tokens == (party_token(PEPPER, "t", Identifier("email", "dana@example.com")),)


def test_attribute_and_text_plans() -> None:
    attr = plan_query("tier:Gold", "t", PEPPER, "US", SCHEMA)
    assert attr.kind == "attribute"
    assert attr.groups == ((term_hash(PEPPER, "t", "a:tier=gold"),),)
    text = plan_query("Alice Sm", "t", PEPPER, "US", SCHEMA)
    assert text.kind == "text"
    assert text.groups == (
        (term_hash(PEPPER, "t", "n:alice"), term_hash(PEPPER, "t", "n:sm")),
        (term_hash(PEPPER, "t", "v:alice sm"),),
    )
    unknown = plan_query("colour:red", "t", PEPPER, "US", SCHEMA)  # not a schema attribute
    assert unknown.kind == "text"


@pytest.mark.parametrize("q", ["", " a ", "x" * 201])
def test_query_length_bounds(q: str) -> None:
    with pytest.raises(InvalidQuery):
        plan_query(q, "t", PEPPER, "US", SCHEMA)


def test_layout_fields_parse_editable() -> None:
    """`editable` is parsed per field (default false); a non-boolean is a problem."""
    from core.layouts import LayoutField, layout_from_dict  # noqa: PLC0415
    from core.profile_schema import ProfileSchemaError  # noqa: PLC0415

    config = layout_from_dict({"default": {"fields": [
        "display_name", {"name": "tier", "label": "Tier", "editable": True}]}})
    assert config.default.fields == (LayoutField("display_name"),
                                     LayoutField("tier", "Tier", editable=True))
    with pytest.raises(ProfileSchemaError, match="editable"):
        layout_from_dict({"default": {"fields": [{"name": "tier", "editable": "yes"}]}})
