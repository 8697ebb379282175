"""CSV contacts parsing: header mapping, line numbers across quoted newlines, row verdicts."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from c360.contacts_csv import HeaderError, ImportContext, parse_header, read_rows, validate_row
from core.profile_schema import config_from_dict
from streams.settings import StreamSettings

SCHEMA = config_from_dict({"default": {"attributes": [
    {"name": "tier", "type": "text"}, {"name": "mobile", "type": "phone"},
    {"name": "renewal", "type": "date", "required": True}]}}).for_tenant("acme")
CTX = ImportContext("acme", StreamSettings.from_env({"C360_ENV": "dev",
                                                     "C360_DEFAULT_REGION": "GB"}),
                    SCHEMA, datetime(2025, 1, 1, tzinfo=UTC), 42)


def test_header_maps_builtins_aliases_and_attributes():
    """Aliases, several phone/email columns, and schema attributes (even 'mobile')."""
    header = parse_header(
        ["ID", "Full Name", "Phone", "phone_2", "E-mail", "email_2", "tier", "Mobile",
         "renewal", "deleted"], SCHEMA)
    assert (header.id_col, header.name_col) == (0, 1)
    assert header.phone_cols == (2, 3)
    assert header.email_cols == (4, 5)
    assert header.attr_cols == ((6, "tier"), (7, "mobile"), (8, "renewal"))
    assert header.deleted_col == 9


@pytest.mark.parametrize(
    ("names", "problem"),
    [(["name", "renewal"], "no profile id column"),
     (["id", "renewal", "favourite"], "favourite"),
     (["id", "renewal", "Colour-Code"], "colour_code"),
     (["id", "renewal", "tier", "Tier"], "repeats"),
     (["id", "tier"], "requires a column renewal"),
     (["id", "renewal", ""], "has no name")],
)
def test_header_problems_are_fatal(names, problem):
    """Unknown, duplicate, unnamed and missing columns stop the import."""
    with pytest.raises(HeaderError, match=problem):
        parse_header(names, SCHEMA)


def test_line_numbers_count_physical_lines():
    """A quoted cell with newlines moves the next row's line number on."""
    text = 'id,note\n1,"a\nb\nc"\n2,x\n\n3,y\n'
    rows = list(read_rows(io.StringIO(text, newline="")))
    assert [(line, cells) for line, cells, _ in rows] == [
        (1, ["id", "note"]), (2, ["1", "a\nb\nc"]), (5, ["2", "x"]), (6, []), (7, ["3", "y"])]


def test_a_csv_error_rejects_the_line_and_reading_goes_on():
    """An oversized field is a csv error for that record only."""
    text = "id\n1\n" + "x" * 1_000_001 + "\n3\n"
    rows = list(read_rows(io.StringIO(text, newline="")))
    errors = [(line, error) for line, cells, error in rows if error]
    assert len(errors) == 1 and errors[0][0] == 3
    assert "malformed CSV" in errors[0][1]
    assert rows[-1][:2] == (4, ["3"])


HEADER = parse_header(["id", "name", "phones", "emails", "tier", "mobile", "renewal",
                       "deleted"], SCHEMA)


@pytest.mark.parametrize(
    ("cells", "reasons"),
    [(["p-1", "A", "020 7946 0123|+44 20 7946 0456", "a@x.io;b@x.io", "", "", "2025-01-01", ""],
      ()),
     (["p-1", "A", "", "", "", "999", "2025-01-01", ""], ("mobile: not a customer phone",)),
     (["p-1", "A", "", "", "", "", "", ""], ("renewal: required",)),
     (["p-1", "A", "", "", "", "", "2025-01-01", "perhaps"], ("deleted: not a boolean",)),
     (["p 1", "A", "", "", "", "", "2025-01-01", ""], ("without spaces",)),
     (["p-1", "A\ufffd", "", "", "", "", "2025-01-01", ""], ("UTF-8",)),
     (["p-1"], ("has 1 fields",))],
    ids=["valid", "bad phone attribute", "missing required", "bad deleted", "bad id",
         "bad encoding", "short row"],
)
def test_row_verdicts(cells, reasons):
    """Each row is valid or rejected with every reason, never echoing a raw value."""
    row = validate_row(cells, HEADER, 7, CTX)
    assert row.line == 7
    assert len(row.reasons) == len(reasons)
    assert all(want in got for want, got in zip(reasons, row.reasons, strict=True))
    if not reasons:
        assert row.record.phones == ("+442079460123", "+442079460456")
        assert row.record.emails == ("a@x.io", "b@x.io")
        assert row.record.event_id == CTX.event_id(7)


def test_event_ids_sort_by_line_within_a_run():
    """Later lines of one import win stamp ties: their event ids sort after earlier ones."""
    ids = [CTX.event_id(n) for n in (2, 10, 100, 99_999)]
    assert ids == sorted(ids)
