"""Pure per-tenant profile schema: typed custom attributes, their validation, uniqueness policy."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar
from urllib.parse import urlsplit

from schemas.errors import C360Error

ATTRIBUTE_TYPES = ("text", "number", "date", "boolean", "list", "email", "phone", "url")
MAX_ATTRIBUTES = 50
UNIQUE_PHONE = "unique_phone"
SHARED = "shared"
POLICIES = (UNIQUE_PHONE, SHARED)
# Attribute names become JSON keys and CSV headers; built-in profile columns are reserved.
RESERVED = frozenset({"profile_id", "id", "display_name", "name", "phones", "emails", "deleted"})
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_TRUE = frozenset({"true", "yes", "y", "1", "t"})
_FALSE = frozenset({"false", "no", "n", "0", "f"})
MAX_TEXT = 2000
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")

# Identifier validation lives in core.identity, which this pure package must not import;
# callers pass the two normalizers in (they raise ValueError for invalid input).
Normalizer = Callable[[str], str]


class ProfileSchemaError(C360Error, ValueError):
    """A profile schema (or layout) document that is not valid; lists every problem."""


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One typed custom attribute of a tenant's profiles."""

    name: str
    type: str
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()  # allowed values (text, and each item of list)

    @property
    def title(self) -> str:
        """What the desktop shows as the field label."""
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True, slots=True)
class TenantSchema:
    """A tenant's attribute schema and identifier uniqueness policy."""

    attributes: tuple[AttributeSpec, ...] = ()
    uniqueness: str = SHARED

    def spec(self, name: str) -> AttributeSpec | None:
        """The attribute named `name`, if the schema has it."""
        return next((a for a in self.attributes if a.name == name), None)


@dataclass(frozen=True, slots=True)
class ProfileConfig:
    """Schemas of every tenant; tenants not listed use `default`."""

    default: TenantSchema = field(default_factory=TenantSchema)
    tenants: dict[str, TenantSchema] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> TenantSchema:
        """The schema of one tenant."""
        return self.tenants.get(tenant_id, self.default)

    def policy_for(self, tenant_id: str) -> str:
        """The tenant's uniqueness policy (`unique_phone` or `shared`)."""
        return self.for_tenant(tenant_id).uniqueness


def _tenant_schema(doc: object, where: str, problems: list[str]) -> TenantSchema:
    if not isinstance(doc, dict):
        problems.append(f"{where}: must be an object")
        return TenantSchema()
    policy = doc.get("uniqueness", SHARED)
    if policy not in POLICIES:
        problems.append(f"{where}.uniqueness: must be one of {', '.join(POLICIES)}")
        policy = SHARED
    raw_attrs = doc.get("attributes", [])
    if not isinstance(raw_attrs, list):
        problems.append(f"{where}.attributes: must be a list")
        raw_attrs = []
    if len(raw_attrs) > MAX_ATTRIBUTES:
        problems.append(f"{where}.attributes: at most {MAX_ATTRIBUTES} attributes per tenant")
    specs: list[AttributeSpec] = []
    for n, item in enumerate(raw_attrs):
        at = f"{where}.attributes[{n}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: must be an object")
            continue
        name, kind = item.get("name"), item.get("type")
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            problems.append(f"{at}.name: lowercase identifier, not reserved, got {name!r}")
            continue
        if kind not in ATTRIBUTE_TYPES:
            problems.append(f"{at}.type: must be one of {', '.join(ATTRIBUTE_TYPES)}")
            continue
        if any(s.name == name for s in specs):
            problems.append(f"{at}.name: duplicate attribute {name!r}")
            continue
        choices = item.get("choices", [])
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            problems.append(f"{at}.choices: must be a list of strings")
            choices = []
        specs.append(
            AttributeSpec(
                name=name,
                type=kind,
                label=str(item.get("label", "")),
                required=bool(item.get("required", False)),
                choices=tuple(choices),
            )
        )
    return TenantSchema(tuple(specs), policy)


T = TypeVar("T")


def per_tenant(
    doc: Mapping[str, object], parse: Callable[[object, str, list[str]], T], what: str
) -> tuple[T, dict[str, T]]:
    """(default, tenants) of a {"default": {...}, "tenants": {...}} document, each entry
    parsed by `parse(entry, where, problems)`; raises ProfileSchemaError with all problems."""
    problems: list[str] = []
    default = parse(doc.get("default", {}), "default", problems)
    tenants_doc = doc.get("tenants", {})
    tenants: dict[str, T] = {}
    if not isinstance(tenants_doc, dict):
        problems.append("tenants: must be an object")
    else:
        for tenant, sub in tenants_doc.items():
            tenants[str(tenant)] = parse(sub, f"tenants.{tenant}", problems)
    if problems:
        raise ProfileSchemaError(f"invalid {what}: " + "; ".join(problems))
    return default, tenants


def json_object(text: str, what: str) -> dict[str, object]:
    """A JSON document that must be an object (config files)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileSchemaError(f"{what} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProfileSchemaError(f"{what} must be a JSON object")
    return doc


def config_from_dict(doc: Mapping[str, object]) -> ProfileConfig:
    """Parse a schema document: {"default": {...}, "tenants": {"acme": {...}}}.

    A tenant entry is {"uniqueness": "unique_phone"|"shared", "attributes": [{"name",
    "type", "label"?, "required"?, "choices"?}]}. Raises ProfileSchemaError with all problems.
    """
    default, tenants = per_tenant(doc, _tenant_schema, "profile schema")
    return ProfileConfig(default, tenants)


def config_from_json(text: str) -> ProfileConfig:
    """Parse a schema document from JSON text (the C360_PROFILE_SCHEMA_FILE contents)."""
    return config_from_dict(json_object(text, "profile schema"))


def _number(raw: str) -> str:
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("not a number") from None
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _date(raw: str) -> str:
    day = raw[:10] if len(raw) > 10 and raw[10] in "T " else raw  # a datetime keeps its date
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        raise ValueError("not an ISO date (YYYY-MM-DD)") from None


def _boolean(raw: str) -> str:
    word = raw.lower()
    if word in _TRUE:
        return "true"
    if word in _FALSE:
        return "false"
    raise ValueError("not a boolean (true/false, yes/no, 1/0)")


def _items(raw: str) -> list[str]:
    if raw.startswith("["):
        try:
            items = json.loads(raw)
        except json.JSONDecodeError:
            raise ValueError("list is not a JSON array") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError("list must be an array of strings")
        return [i.strip() for i in items if i.strip()]
    return [part.strip() for part in raw.split("|") if part.strip()]


def _url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in raw:
        raise ValueError("not an http(s) URL")
    return raw


def canonical_value(spec: AttributeSpec, raw: str, phone: Normalizer, email: Normalizer) -> str:
    """The canonical string of one attribute value; raises ValueError saying why not."""
    text = raw.strip()
    if spec.type == "text":
        if len(text) > MAX_TEXT:
            raise ValueError(f"longer than {MAX_TEXT} characters")
        if spec.choices and text not in spec.choices:
            raise ValueError("not one of the allowed choices")
        return text
    if spec.type == "number":
        return _number(text)
    if spec.type == "date":
        return _date(text)
    if spec.type == "boolean":
        return _boolean(text)
    if spec.type == "list":
        items = _items(text)
        if spec.choices and any(i not in spec.choices for i in items):
            raise ValueError("has an item that is not one of the allowed choices")
        return json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    if spec.type == "email":
        return email(text)
    if spec.type == "phone":
        return phone(text)
    return _url(text)


def validate_attributes(
    schema: TenantSchema, raw: Mapping[str, str], phone: Normalizer, email: Normalizer
) -> tuple[dict[str, str], list[str]]:
    """Canonical attributes and the problems (one string per bad attribute, no raw values).

    Empty values mean "not set". Unknown attribute names and missing required ones are
    problems: nothing is dropped silently.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    for name, value in raw.items():
        spec = schema.spec(name)
        if spec is None:
            problems.append(f"{name}: unknown attribute")
            continue
        if value is None or not str(value).strip():
            continue
        try:
            values[name] = canonical_value(spec, str(value), phone, email)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    for spec in schema.attributes:
        if spec.required and spec.name not in values and not any(
            p.startswith(f"{spec.name}:") for p in problems
        ):
            problems.append(f"{spec.name}: required")
    return values, problems


def typed_value(spec_type: str, canonical: str) -> object:
    """The JSON-typed value of a canonical attribute string (for the screen-pop view)."""
    if spec_type == "number":
        number = float(canonical)
        return int(number) if number.is_integer() else number
    if spec_type == "boolean":
        return canonical == "true"
    if spec_type == "list":
        items = json.loads(canonical)
        return [str(i) for i in items] if isinstance(items, list) else [canonical]
    return canonical
