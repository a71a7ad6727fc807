"""Xero's shapes: its three date spellings, exact decimals on the way out and back, line rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from apps.xero.models import (
    ContactRef,
    InvoiceOut,
    LineItem,
    Payment,
    ms_date,
    parse_xero_date,
    parse_xero_datetime,
    wire,
)


def test_xero_dates_in_every_spelling() -> None:
    # From the createInvoices example: Date /Date(1552262400000+0000)/ with DateString 2019-03-11T00:00:00.
    assert parse_xero_date("/Date(1552262400000+0000)/") == date(2019, 3, 11)
    assert parse_xero_datetime("/Date(1552327126164)/") == datetime(
        2019, 3, 11, 17, 58, 46, 164000, tzinfo=UTC
    )
    nz = parse_xero_datetime("/Date(1552262400000+1300)/")  # the instant is UTC; the offset its zone
    assert nz.utcoffset() == timedelta(hours=13) and nz.date() == date(2019, 3, 11)
    assert parse_xero_date("/Date(1552215600000+1300)/") == date(2019, 3, 11)  # 10 March 11:00 UTC
    assert parse_xero_datetime("2019-03-11T00:00:00") == datetime(2019, 3, 11, tzinfo=UTC)
    assert parse_xero_datetime("2024-06-21T01:15:39.902").microsecond == 902000
    assert parse_xero_datetime("2019-03-11T00:00:00+02:00").tzinfo == timezone(timedelta(hours=2))
    assert ms_date(date(2019, 3, 11)) == "/Date(1552262400000+0000)/"
    assert parse_xero_date(ms_date(date(2026, 11, 20))) == date(2026, 11, 20)
    with pytest.raises(ValueError, match="not a Xero date"):
        parse_xero_datetime("/Date(abc)/")


def test_amounts_leave_exact_and_come_back_exact() -> None:
    assert wire({"a": Decimal("19.99"), "b": Decimal("2"), "c": [Decimal("0.1")]}) == {
        "a": 19.99,
        "b": 2,
        "c": [0.1],
    }
    with pytest.raises(ValueError, match="exact JSON number"):
        wire(Decimal("0.12345678901234567"))
    invoice = InvoiceOut.model_validate(
        {"InvoiceID": "x", "Total": 33.99, "Date": "/Date(1552262400000+0000)/"}
    )
    assert invoice.Total == Decimal("33.99") and invoice.day == date(2019, 3, 11)


def test_line_and_payment_rules() -> None:
    with pytest.raises(ValidationError, match="not both"):
        LineItem(Description="x", UnitAmount=Decimal(1), DiscountRate=Decimal(5), DiscountAmount=Decimal(1))
    with pytest.raises(ValidationError, match="ContactID or a Name"):
        ContactRef()
    with pytest.raises(ValidationError, match="one invoice or one credit note"):
        Payment.model_validate({"Account": {"Code": "090"}, "Date": "2026-11-20", "Amount": "1.00"})
    body = LineItem(
        Description="Loaf", Quantity=Decimal(2), UnitAmount=Decimal("3.50"), AccountCode="200"
    ).body()
    assert body == {"Description": "Loaf", "Quantity": 2, "UnitAmount": 3.5, "AccountCode": "200"}
