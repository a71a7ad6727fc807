"""Which email domains are looked up: the free-mail and disposable lists as data, and how they match."""

from __future__ import annotations

from pathlib import Path

import pytest

from functions.lead_enrichment.domains import DISPOSABLE, FREE_MAIL, DomainList, classify


@pytest.mark.parametrize(
    ("domain", "kind"),
    [
        # free mail, exact
        ("gmail.com", "free_mail"),
        ("GMail.com", "free_mail"),
        ("googlemail.com", "free_mail"),
        ("icloud.com", "free_mail"),
        ("proton.me", "free_mail"),
        ("web.de", "free_mail"),
        ("btinternet.com", "free_mail"),
        ("privaterelay.appleid.com", "free_mail"),
        # free mail, name.* patterns: any TLD or two-label public suffix
        ("yahoo.com", "free_mail"),
        ("yahoo.co.uk", "free_mail"),
        ("yahoo.com.au", "free_mail"),
        ("hotmail.fr", "free_mail"),
        ("outlook.de", "free_mail"),
        ("gmx.net", "free_mail"),
        ("gmx.co.uk", "free_mail"),
        # subdomains of a listed domain
        ("mail.yahoo.com", "free_mail"),
        # disposable
        ("mailinator.com", "disposable"),
        ("mailinator.net", "disposable"),
        ("10minutemail.com", "disposable"),
        ("10minutemail.net", "disposable"),
        ("guerrillamail.org", "disposable"),
        ("sharklasers.com", "disposable"),
        ("yopmail.fr", "disposable"),
        ("my-alias.33mail.com", "disposable"),
        # companies: looked up
        ("northwind-traders.example", "company"),
        ("bramble-bakery.co.uk", "company"),
        ("yahoo.acme.com", "company"),  # a company's host named yahoo, not Yahoo
        ("hotmail.acme.io", "company"),
        ("gmail.com.evil.io", "company"),
        ("notgmail.com", "company"),
        ("mailinator-reviews.com", "company"),
        # RFC 2606 test domains compare by name: gmail.example stands for gmail.com
        ("gmail.example", "free_mail"),
        ("yahoo.test", "free_mail"),
        ("mailinator.example", "disposable"),
        ("okafor-events.example", "company"),
        ("example", "company"),
    ],
)
def test_classify(domain: str, kind: str) -> None:
    assert classify(domain) == kind


def test_the_lists_are_well_formed_and_disjoint() -> None:
    assert len(FREE_MAIL.exact) + len(FREE_MAIL.wildcards) > 100
    assert len(DISPOSABLE.exact) + len(DISPOSABLE.wildcards) > 30
    assert not FREE_MAIL.exact & DISPOSABLE.exact
    assert not FREE_MAIL.wildcards & DISPOSABLE.wildcards
    for listed in (FREE_MAIL, DISPOSABLE):
        for domain in listed.exact:
            assert listed.contains(domain)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("gmail.com\nGMAIL.org\n", "domains.txt:2: .GMAIL.org. is not a lower-case domain"),
        ("gmail.com\ngmail.com\n", "listed twice"),
        ("*.gmail.com\n", "not a lower-case domain"),
        ("gmail\n", "not a lower-case domain"),
        ("# only a comment\n\n", "no domains"),
    ],
)
def test_a_malformed_list_is_refused(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "domains.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        DomainList.load(path)


def test_comments_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "domains.txt"
    path.write_text("# providers\n\nexample.org  # trailing comment\nyahoo.*\n", encoding="utf-8")
    listed = DomainList.load(path)
    assert listed.exact == {"example.org"} and listed.wildcards == {"yahoo"}
