"""Tenant profile schemas: typed attributes validated, canonicalized, problems listed."""

from __future__ import annotations

import pytest

from core.identity import normalize_email, normalize_phone
from core.profile_schema import (
    SHARED,
    UNIQUE_PHONE,
    ProfileSchemaError,
    config_from_dict,
    config_from_json,
    typed_value,
    validate_attributes,
)


def phone(raw):
    found = normalize_phone(raw, "GB")
    if found.kind != "phone":
        raise ValueError("not a phone number")
    return found.value


def email(raw):
    return normalize_email(raw).value


CONFIG = config_from_dict(
    {
        "default": {"attributes": [{"name": "note", "type": "text"}]},
        "tenants": {
            "acme": {
                "uniqueness": "unique_phone",
                "attributes": [
                    {"name": "tier", "type": "text", "choices": ["gold", "silver"]},
                    {"name": "ltv", "type": "number", "label": "Lifetime value"},
                    {"name": "renewal", "type": "date"},
                    {"name": "vip", "type": "boolean"},
                    {"name": "tags", "type": "list"},
                    {"name": "billing_email", "type": "email"},
                    {"name": "mobile", "type": "phone"},
                    {"name": "portal", "type": "url"},
                    {"name": "account", "type": "text", "required": True},
                ],
            }
        },
    }
)
ACME = CONFIG.for_tenant("acme")

VALID = [
    ("tier", "gold", "gold"),
    ("ltv", "1234.50", "1234.5"),
    ("ltv", "1,234", "1234"),
    ("ltv", "-7", "-7"),
    ("renewal", "2025-03-01", "2025-03-01"),
    ("renewal", "2025-03-01T10:00:00Z", "2025-03-01"),
    ("vip", "Yes", "true"),
    ("vip", "0", "false"),
    ("tags", "a| b |c", '["a","b","c"]'),
    ("tags", '["x","y"]', '["x","y"]'),
    ("billing_email", " Ops@Example.COM ", "ops@example.com"),
    ("mobile", "020 7946 0123", "+442079460123"),
    ("portal", "https://example.com/a", "https://example.com/a"),
]


@pytest.mark.parametrize(("name", "raw", "canonical"), VALID)
def test_valid_values_are_canonicalized(name, raw, canonical):
    """Each type accepts its usual spellings and stores one canonical string."""
    values, problems = validate_attributes(ACME, {"account": "A1", name: raw}, phone, email)
    assert problems == []
    assert values[name] == canonical


INVALID = [
    ("tier", "bronze", "allowed choices"),
    ("ltv", "lots", "not a number"),
    ("ltv", "nan", "finite"),
    ("renewal", "01/03/2025", "ISO date"),
    ("vip", "maybe", "boolean"),
    ("tags", "[1,2]", "array of strings"),
    ("billing_email", "not-an-email", "email"),
    ("mobile", "12", "phone"),
    ("portal", "ftp://example.com", "http"),
    ("colour", "red", "unknown attribute"),
]


@pytest.mark.parametrize(("name", "raw", "reason"), INVALID)
def test_invalid_values_are_reported_with_the_attribute_and_reason(name, raw, reason):
    """A bad value is a problem naming the attribute; the raw value is not echoed."""
    _, problems = validate_attributes(ACME, {"account": "A1", name: raw}, phone, email)
    assert len(problems) == 1
    assert problems[0].startswith(f"{name}:")
    assert reason in problems[0]
    assert raw not in problems[0] or raw in ("nan",)


def test_required_attributes_and_empty_values():
    """Empty means unset; a missing required attribute is a problem."""
    values, problems = validate_attributes(ACME, {"tier": "  ", "account": ""}, phone, email)
    assert values == {}
    assert problems == ["account: required"]


def test_tenant_policy_and_default_schema():
    """Tenants not listed use the default schema and the shared policy."""
    assert CONFIG.policy_for("acme") == UNIQUE_PHONE
    assert CONFIG.policy_for("other") == SHARED
    assert [a.name for a in CONFIG.for_tenant("other").attributes] == ["note"]
    assert ACME.spec("ltv").title == "Lifetime value"
    assert ACME.spec("renewal").title == "Renewal"


BAD_SCHEMAS = [
    ({"default": {"uniqueness": "sometimes"}}, "uniqueness"),
    ({"default": {"attributes": [{"name": "x", "type": "colour"}]}}, "type"),
    ({"default": {"attributes": [{"name": "Phones", "type": "text"}]}}, "name"),
    ({"default": {"attributes": [{"name": "phones", "type": "text"}]}}, "reserved"),
    ({"default": {"attributes": [{"name": "a", "type": "text"}] * 2}}, "duplicate"),
    ({"default": {"attributes": [{"name": f"a{n}", "type": "text"} for n in range(51)]}},
     "at most 50"),
    ({"tenants": []}, "tenants"),
]


@pytest.mark.parametrize(("doc", "problem"), BAD_SCHEMAS)
def test_bad_schemas_are_rejected_with_every_problem(doc, problem):
    """Schema documents are validated up front (attribute count, names, types, policy)."""
    with pytest.raises(ProfileSchemaError, match=problem):
        config_from_dict(doc)


def test_schema_json_must_be_an_object():
    """A JSON file that is not an object is refused."""
    with pytest.raises(ProfileSchemaError):
        config_from_json("[]")
    with pytest.raises(ProfileSchemaError):
        config_from_json("{")


@pytest.mark.parametrize(
    ("kind", "canonical", "value"),
    [("number", "3", 3), ("number", "2.5", 2.5), ("boolean", "true", True),
     ("list", '["a"]', ["a"]), ("date", "2025-01-02", "2025-01-02"), ("text", "x", "x")],
)
def test_typed_values_for_the_view(kind, canonical, value):
    """Canonical strings turn back into JSON-typed values for the screen pop."""
    assert typed_value(kind, canonical) == value
