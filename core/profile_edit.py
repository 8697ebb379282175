"""Pure parts of the desktop's profile routes: reading a create/edit body, which fields a
tenant's layout lets agents edit, the fields of the create form, merging an edit into the
stored profile, and the JSON shapes of a profile and of a search result (docs/desktop.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.crm.model import CrmContact
from core.layouts import BUILTINS, LayoutField, TenantLayout
from core.profile_schema import TenantSchema, typed_value, validate_attributes
from core.profiles import Profile

MAX_NAME = 200
MAX_LIST = 20
MAX_VALUE = 2000
EDITABLE_BUILTINS = ("display_name", "phones", "emails")
Normalizer = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class ProfileFields:
    """What an agent sends for a profile (raw phones/emails; validated attributes)."""

    display_name: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)


def _text(doc: Mapping[str, Any], name: str, limit: int, problems: list[str]) -> str | None:
    value = doc.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{name}: must be a string")
        return None
    value = " ".join(value.split())
    if len(value) > limit:
        problems.append(f"{name}: longer than {limit} characters")
        return None
    return value or None


def _strings(doc: Mapping[str, Any], name: str, problems: list[str]) -> tuple[str, ...]:
    value = doc.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{name}: must be a list of strings")
        return ()
    if len(value) > MAX_LIST:
        problems.append(f"{name}: at most {MAX_LIST}")
        return ()
    if any(len(v) > MAX_NAME for v in value):
        problems.append(f"{name}: an item is longer than {MAX_NAME} characters")
        return ()
    return tuple(v for v in value if v.strip())


def _raw_attributes(doc: Mapping[str, Any], problems: list[str]) -> dict[str, str]:
    value = doc.get("attributes")
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("attributes: must be an object of name -> value")
        return {}
    raw: dict[str, str] = {}
    for name, item in value.items():
        text = _scalar(item)
        if text is None or len(text) > MAX_VALUE:
            problems.append(f"{name}: not a value (a string, number, boolean or list)")
            continue
        raw[str(name)] = text
    return raw


def _scalar(item: object) -> str | None:
    """An attribute value as the CSV import spells it ("" clears; lists comma-separated)."""
    if item is None:
        return ""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str | int | float):
        return str(item)
    if isinstance(item, list) and all(isinstance(i, str | int | float) for i in item):
        return ",".join(str(i) for i in item)
    return None


def read_fields(
    doc: Mapping[str, Any],
    schema: TenantSchema,
    phone: Normalizer,
    email: Normalizer,
    *,
    partial: bool = False,
) -> tuple[ProfileFields, list[str]]:
    """The fields of a body, attributes validated by the tenant schema; every problem
    (no raw values in them). `partial` (an edit): required attributes are not demanded."""
    problems: list[str] = []
    name = _text(doc, "display_name", MAX_NAME, problems)
    phones = _strings(doc, "phones", problems)
    emails = _strings(doc, "emails", problems)
    for kind, values, norm in (("phones", phones, phone), ("emails", emails, email)):
        for n, raw in enumerate(values, start=1):
            try:
                norm(raw)
            except ValueError as exc:
                problems.append(f"{kind}[{n}]: {exc}")
    given = _raw_attributes(doc, problems)
    attributes, attr_problems = validate_attributes(schema, given, phone, email)
    if partial:  # an edit names some attributes; the others stay as stored
        attr_problems = [p for p in attr_problems if p.split(":", 1)[0] in given]
    problems += attr_problems
    return ProfileFields(name, phones, emails, attributes), problems


def layout_fields(layout: TenantLayout, schema: TenantSchema) -> tuple[LayoutField, ...]:
    """The layout's fields (the default layout: built-ins, then every schema attribute)."""
    if layout.fields is not None:
        return layout.fields
    return tuple(LayoutField(n) for n in EDITABLE_BUILTINS) + tuple(
        LayoutField(a.name) for a in schema.attributes
    )


def editable_names(layout: TenantLayout, schema: TenantSchema) -> frozenset[str]:
    """The fields agents may edit: those the layout marks `editable` (built-ins among
    display_name/phones/emails, or attributes of the schema)."""
    known = set(EDITABLE_BUILTINS) | {a.name for a in schema.attributes}
    return frozenset(f.name for f in layout_fields(layout, schema)
                     if f.editable and f.name in known)


def _values(profile: Profile, kind: str) -> list[str]:
    return [i.value for i in profile.identifiers if i.kind == kind]


def _described(item: LayoutField, schema: TenantSchema) -> dict[str, Any]:
    """A field as the desktop's forms show it: name, label, type, required (and choices)."""
    if item.name in BUILTINS:
        label, kind = BUILTINS[item.name]
        return {"name": item.name, "label": item.label or label, "type": kind, "required": False}
    spec = schema.spec(item.name)
    assert spec is not None  # callers keep schema attributes only
    entry: dict[str, Any] = {"name": item.name, "label": item.label or spec.title,
                             "type": spec.type, "required": spec.required}
    if spec.choices:
        entry["choices"] = list(spec.choices)
    return entry


def profile_doc(profile: Profile, layout: TenantLayout, schema: TenantSchema) -> dict[str, Any]:
    """GET /v1/desktop/profiles/{id}: the profile and its editable fields with their
    current values, in layout order."""
    editable = editable_names(layout, schema)
    fields: list[dict[str, Any]] = []
    for item in layout_fields(layout, schema):
        if item.name not in editable:
            continue
        entry = _described(item, schema)
        if item.name in BUILTINS:
            entry["value"] = (profile.display_name if item.name == "display_name"
                              else _values(profile, item.name[:-1]))
        else:
            raw = profile.attributes.get(item.name)
            entry["value"] = None if raw is None else typed_value(entry["type"], raw)
        fields.append(entry)
    return {
        "profile_id": profile.profile_id,
        "display_name": profile.display_name,
        "phones": _values(profile, "phone"),
        "emails": _values(profile, "email"),
        "attributes": dict(profile.attributes),
        "crm_ids": dict(profile.crm_ids),
        "editable": fields,
    }


def create_form(layout: TenantLayout, schema: TenantSchema) -> list[dict[str, Any]]:
    """GET /v1/desktop/profile-form: the fields an agent fills to create a profile. The
    built-ins (display_name, phones, emails), the attributes the layout marks editable (in
    layout order), then every other required attribute (schema order); labels from the
    layout where it names the field."""
    items = layout_fields(layout, schema)
    named = {f.name: f for f in reversed(items)}  # the first mention of a name wins
    editable = editable_names(layout, schema)
    names = [*EDITABLE_BUILTINS, *(f.name for f in items if f.name in editable),
             *(a.name for a in schema.attributes if a.required)]
    return [_described(named.get(n, LayoutField(n)), schema) for n in dict.fromkeys(names)]


def merge_edit(
    profile: Profile,
    doc: Mapping[str, Any],
    layout: TenantLayout,
    schema: TenantSchema,
    phone: Normalizer,
    email: Normalizer,
) -> tuple[ProfileFields, list[str]]:
    """The profile's new state after an edit body `{display_name?, phones?, emails?,
    attributes?}`, and every problem: a field the layout does not mark editable, an
    unknown key, a value the schema refuses, a required attribute cleared."""
    problems: list[str] = []
    if not isinstance(doc, Mapping):
        return ProfileFields(), ["body must be a JSON object"]
    for key in sorted(set(doc) - {"display_name", "phones", "emails", "attributes"}):
        problems.append(f"{key}: unknown field")
    editable = editable_names(layout, schema)
    named = [k for k in EDITABLE_BUILTINS if k in doc]
    raw_attributes = doc.get("attributes")
    if isinstance(raw_attributes, dict):
        named += [str(k) for k in raw_attributes]
    for name in named:
        if name not in editable:
            problems.append(f"{name}: not editable")
    edit, read_problems = read_fields(doc, schema, phone, email, partial=True)
    problems += read_problems
    attributes = dict(profile.attributes)
    if isinstance(raw_attributes, dict):
        for name in raw_attributes:
            attributes.pop(str(name), None)  # cleared unless a valid value replaces it
        attributes.update(edit.attributes)
        for spec in schema.attributes:
            if spec.required and spec.name in raw_attributes and spec.name not in attributes:
                problems.append(f"{spec.name}: required")
    merged = ProfileFields(
        display_name=edit.display_name if "display_name" in doc else profile.display_name,
        phones=edit.phones if "phones" in doc else tuple(_values(profile, "phone")),
        emails=edit.emails if "emails" in doc else tuple(_values(profile, "email")),
        attributes=attributes,
    )
    return merged, sorted(set(problems), key=problems.index)


def split_name(display_name: str | None) -> tuple[str | None, str | None]:
    """First and last name for a CRM contact (everything after the first word is last)."""
    first, _, last = (display_name or "").strip().partition(" ")
    return first or None, last.strip() or None


def result_of_profile(profile: Profile, crm: str | None) -> dict[str, Any]:
    """A search result from the profile directory (its record in `crm` when it has one)."""
    crm_id = profile.crm_ids.get(crm) if crm else None
    return {
        "source": "c360",
        "profile_id": profile.profile_id,
        "crm": crm if crm_id else None,
        "crm_id": crm_id,
        "display_name": profile.display_name,
        "phones": _values(profile, "phone"),
        "emails": _values(profile, "email"),
        "attributes": dict(profile.attributes),
        "record_url": None,
    }


def result_of_contact(contact: CrmContact, crm: str) -> dict[str, Any]:
    """A search result from a CRM's own search (no c360 profile holds it yet)."""
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) or None
    return {
        "source": crm,
        "profile_id": None,
        "crm": crm,
        "crm_id": contact.id,
        "display_name": name,
        "phones": list(contact.phones),
        "emails": [contact.email] if contact.email else [],
        "attributes": {},
        "record_url": contact.record_url,
    }
