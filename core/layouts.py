"""Pure per-tenant screen-pop layout: which profile fields show, in what order, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.profile_schema import TenantSchema, json_object, per_tenant, typed_value
from core.profiles import Profile

# Built-in profile fields a layout may name besides the tenant's custom attributes.
BUILTINS: dict[str, tuple[str, str]] = {
    "display_name": ("Name", "text"),
    "phones": ("Phones", "list"),
    "emails": ("Emails", "list"),
    "profile_id": ("Profile id", "text"),
    "source": ("Source", "text"),
}
DEFAULT_FIELDS = ("display_name", "phones", "emails")
DEFAULT_TIMELINE_LIMIT = 10


@dataclass(frozen=True, slots=True)
class LayoutField:
    """One field of the panel; `label` overrides the schema's label."""

    name: str
    label: str = ""
    editable: bool = False  # the desktop may edit it (PATCH /v1/desktop/profiles/{id})


@dataclass(frozen=True, slots=True)
class TenantLayout:
    """A tenant's panel. `fields=None` means built-ins, then every schema attribute."""

    fields: tuple[LayoutField, ...] | None = None
    timeline_limit: int = DEFAULT_TIMELINE_LIMIT
    suppression: Mapping[str, object] = field(default_factory=dict)  # core.policies reads it


@dataclass(frozen=True, slots=True)
class LayoutConfig:
    """Layouts of every tenant; tenants not listed use `default`."""

    default: TenantLayout = field(default_factory=TenantLayout)
    tenants: dict[str, TenantLayout] = field(default_factory=dict)

    def for_tenant(self, tenant_id: str) -> TenantLayout:
        """The layout of one tenant."""
        return self.tenants.get(tenant_id, self.default)


def _layout(doc: object, where: str, problems: list[str]) -> TenantLayout:
    if not isinstance(doc, dict):
        problems.append(f"{where}: must be an object")
        return TenantLayout()
    fields: tuple[LayoutField, ...] | None = None
    if "fields" in doc:
        raw = doc["fields"]
        items: list[LayoutField] = []
        for n, item in enumerate(raw if isinstance(raw, list) else [None]):
            if isinstance(item, str):
                items.append(LayoutField(item))
            elif isinstance(item, dict) and isinstance(item.get("name"), str):
                editable = item.get("editable", False)
                if not isinstance(editable, bool):
                    problems.append(f"{where}.fields[{n}].editable: true or false")
                    editable = False
                items.append(LayoutField(item["name"], str(item.get("label", "")), editable))
            else:
                problems.append(f"{where}.fields[{n}]: a name or {{name, label, editable}}")
        fields = tuple(items)
    limit = doc.get("timeline_limit", DEFAULT_TIMELINE_LIMIT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 0 <= limit <= 50:
        problems.append(f"{where}.timeline_limit: an integer 0..50")
        limit = DEFAULT_TIMELINE_LIMIT
    suppression = doc.get("suppression", {})
    if not isinstance(suppression, dict):
        problems.append(f"{where}.suppression: must be an object")
        suppression = {}
    return TenantLayout(fields, limit, suppression)


def layout_from_dict(doc: Mapping[str, object]) -> LayoutConfig:
    """Parse {"default": {fields, timeline_limit, suppression}, "tenants": {...}}."""
    default, tenants = per_tenant(doc, _layout, "layout")
    return LayoutConfig(default, tenants)


def layout_from_json(text: str) -> LayoutConfig:
    """Parse the C360_LAYOUT_FILE contents."""
    return layout_from_dict(json_object(text, "layout"))


def _fields_of(layout: TenantLayout, schema: TenantSchema) -> tuple[LayoutField, ...]:
    if layout.fields is not None:
        return layout.fields
    return tuple(LayoutField(n) for n in DEFAULT_FIELDS) + tuple(
        LayoutField(a.name) for a in schema.attributes
    )


def render_fields(
    profile: Profile,
    layout: TenantLayout,
    schema: TenantSchema,
    visible_tokens: frozenset[str] | None = None,
) -> list[dict[str, Any]]:
    """The profile's fields in layout order as {name, label, type, value}; unset ones left out.

    `visible_tokens`: identifiers the profile still resolves to (a phone lost under the
    unique-phone policy is not shown); None shows every identifier.
    """
    def values(kind: str) -> list[str]:
        return [
            i.value
            for i in profile.identifiers
            if i.kind == kind and (visible_tokens is None or i.token in visible_tokens)
        ]

    builtin_values: dict[str, object] = {
        "display_name": profile.display_name,
        "phones": values("phone"),
        "emails": values("email"),
        "profile_id": profile.profile_id,
        "source": profile.source,
    }
    rendered: list[dict[str, Any]] = []
    for item in _fields_of(layout, schema):
        if item.name in BUILTINS:
            label, kind = BUILTINS[item.name]
            value = builtin_values[item.name]
        else:
            spec = schema.spec(item.name)
            raw = profile.attributes.get(item.name)
            if raw is None:
                continue
            label = spec.title if spec else item.name
            kind = spec.type if spec else "text"
            value = typed_value(kind, raw)
        if value in (None, "", []):
            continue
        rendered.append({"name": item.name, "label": item.label or label, "type": kind,
                         "value": value})
    return rendered
