"""CSV contacts: header mapping and per-row validation into ProfileUpserted (no I/O here)."""

from __future__ import annotations

import csv
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from core.profile_schema import RESERVED, TenantSchema, validate_attributes
from core.profiles import ProfileIdentifier
from schemas.records import ProfileUpserted
from streams.contacts import (
    InvalidProfile,
    check_profile_id,
    email_value,
    identifiers_of,
    phone_normalizer,
)
from streams.settings import StreamSettings

# Header names are compared after lower-casing and turning spaces/hyphens into "_". A
# header that names a schema attribute is that attribute; otherwise these built-ins apply.
_ID = {"profile_id", "id", "external_id", "contact_id"}
_NAME = {"display_name", "name", "full_name"}
_PHONE = re.compile(r"^(phones?|phone_numbers?|phone_?\d+)$")
_EMAIL = re.compile(r"^(e_?mails?|e_?mail_address(es)?|e_?mail_?\d+)$")
_DELETED = {"deleted"}
_MULTI = re.compile(r"[|;]")  # several phones/emails in one cell
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0", ""}


csv.field_size_limit(1_000_000)  # one oversized cell is a rejected row, not a crash


class HeaderError(ValueError):
    """The header row cannot be mapped (nothing is imported); lists every problem."""


@dataclass(frozen=True, slots=True)
class Header:
    """Which column holds what."""

    width: int
    id_col: int
    name_col: int | None = None
    phone_cols: tuple[int, ...] = ()
    email_cols: tuple[int, ...] = ()
    deleted_col: int | None = None
    attr_cols: tuple[tuple[int, str], ...] = ()


def _canon(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lstrip("\ufeff").lower())


def parse_header(names: list[str], schema: TenantSchema) -> Header:
    """Map the header row; unknown, duplicate or missing columns are errors (no silent drops)."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    id_col = name_col = deleted_col = None
    phones: list[int] = []
    emails: list[int] = []
    attrs: list[tuple[int, str]] = []
    for col, raw in enumerate(names):
        name = _canon(raw)
        if not name:
            problems.append(f"column {col + 1} has no name")
            continue
        if name in seen:
            problems.append(f"column {col + 1} ({name}) repeats column {seen[name] + 1}")
            continue
        seen[name] = col
        if schema.spec(name) is not None and name not in RESERVED:
            attrs.append((col, name))
        elif name in _ID:
            if id_col is not None:
                problems.append(f"column {col + 1} ({name}): a second profile id column")
            id_col = col
        elif name in _NAME and name_col is None:
            name_col = col
        elif _PHONE.match(name):
            phones.append(col)
        elif _EMAIL.match(name):
            emails.append(col)
        elif name in _DELETED:
            deleted_col = col
        else:
            problems.append(f"column {col + 1} ({name}): not a profile field or schema attribute")
    if id_col is None:
        problems.append("no profile id column (profile_id, id, external_id or contact_id)")
    mapped = {name for _, name in attrs}
    problems += [
        f"the schema requires a column {a.name}"
        for a in schema.attributes
        if a.required and a.name not in mapped
    ]
    if problems:
        raise HeaderError("; ".join(problems))
    assert id_col is not None
    return Header(
        len(names), id_col, name_col, tuple(phones), tuple(emails), deleted_col, tuple(attrs)
    )


@dataclass(frozen=True, slots=True)
class ImportContext:
    """What every row of one import shares."""

    tenant_id: str
    settings: StreamSettings
    schema: TenantSchema
    occurred_at: datetime
    run: int  # 64 random bits: event ids of one run sort by line number
    source: str = "csv"

    def event_id(self, line: int) -> str:
        """A UUID whose string order is the line order (later lines win ties)."""
        return str(uuid.UUID(int=(self.run << 64) | line, version=4))


@dataclass(frozen=True, slots=True)
class Row:
    """One validated (or rejected) data row."""

    line: int
    profile_id: str | None
    record: ProfileUpserted | None = None
    reasons: tuple[str, ...] = ()
    phones: tuple[ProfileIdentifier, ...] = ()


def _cells(cells: list[str], cols: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for c in cols for v in _MULTI.split(cells[c]) if v.strip())


def validate_row(cells: list[str], header: Header, line: int, ctx: ImportContext) -> Row:
    """Validate one row; a rejected row carries every reason (never the raw values)."""
    if len(cells) != header.width:
        reason = f"has {len(cells)} fields, the header has {header.width}"
        return Row(line, None, reasons=(reason,))
    if any("\ufffd" in cell or "\x00" in cell for cell in cells):
        return Row(line, None, reasons=("not valid UTF-8 text (or contains NUL)",))
    reasons: list[str] = []
    profile_id: str | None = cells[header.id_col].strip()
    try:
        check_profile_id(profile_id or "")
    except InvalidProfile as exc:
        reasons.append(str(exc))
        profile_id = None
    deleted = False
    if header.deleted_col is not None:
        flag = cells[header.deleted_col].strip().lower()
        if flag not in _TRUE | _FALSE:
            reasons.append("deleted: not a boolean")
        deleted = flag in _TRUE
    phones, emails = _cells(cells, header.phone_cols), _cells(cells, header.email_cols)
    identifiers, problems = identifiers_of(ctx.tenant_id, phones, emails, ctx.settings)
    reasons += problems
    region = ctx.settings.region_for(ctx.tenant_id)
    values = {name: cells[col] for col, name in header.attr_cols}
    attributes, problems = validate_attributes(
        ctx.schema, values, phone_normalizer(region), email_value
    )
    reasons += problems
    if reasons or profile_id is None:
        return Row(line, profile_id, reasons=tuple(reasons))
    name = cells[header.name_col].strip() if header.name_col is not None else ""
    record = ProfileUpserted(
        event_id=ctx.event_id(line),
        tenant_id=ctx.tenant_id,
        occurred_at=ctx.occurred_at,
        profile_id=profile_id,
        display_name=name or None,
        phones=tuple(i.value for i in identifiers if i.kind == "phone"),
        emails=tuple(i.value for i in identifiers if i.kind == "email"),
        attributes=attributes,
        source=ctx.source,
        deleted=deleted,
    )
    return Row(line, profile_id, record, (), tuple(i for i in identifiers if i.kind == "phone"))


def read_rows(handle: TextIO) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first line number, cells, csv error) per record; a csv error does not stop the file."""
    reader = csv.reader(handle, strict=False)
    line = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield line, None, f"malformed CSV: {exc}"
            line = reader.line_num + 1
            continue
        yield line, cells, None
        line = reader.line_num + 1
