"""The vendors' contact-search requests built from what an agent typed (pure, escaped)."""

from __future__ import annotations

import pytest

from core.crm import mapping_dynamics as md
from core.crm import mapping_salesforce as ms
from core.crm import mapping_zendesk as mz
from core.crm import mapping_zoho as mzo


def test_sosl_escapes_every_reserved_character_and_adds_the_prefix_wildcard() -> None:
    assert ms.sosl_escape("a&b|c!(d){e}[f]^g\"h~i*j?k:l\\m'n+o-p") == (
        "a\\&b\\|c\\!\\(d\\)\\{e\\}\\[f\\]\\^g\\\"h\\~i\\*j\\?k\\:l\\\\m\\'n\\+o\\-p")
    assert ms.contact_search("Dana O'Neil", 5) == (
        "FIND {Dana* O\\'Neil*} IN ALL FIELDS RETURNING "
        "Contact(Id, Email, Phone, MobilePhone, FirstName, LastName) LIMIT 5")


def test_odata_search_filter_quotes_the_literal() -> None:
    assert md.search_filter("O'Neil") == (
        "contains(fullname,'O''Neil') or contains(emailaddress1,'O''Neil') or "
        "contains(telephone1,'O''Neil') or contains(mobilephone,'O''Neil')")


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("dana@example.com", {"email": "dana@example.com"}),
        ("+1 415 555 0100", {"phone": "+1 415 555 0100"}),
        ("Smith (Jr), Dana", {"word": "Smith \\(Jr\\)\\, Dana"}),
    ],
)
def test_zoho_search_params(text: str, params: dict[str, str]) -> None:
    assert mzo.search_params(text) == params


def test_zendesk_query_quotes_each_word() -> None:
    assert mz.user_search_query('role:admin -x "dana" ') == '"role:admin" "-x" "dana"'
    assert mz.user_search_query('""') == ""
