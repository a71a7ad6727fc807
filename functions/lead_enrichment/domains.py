"""Which email domains name an employer worth looking up, and which do not.

A company lookup by website only makes sense for a company's own domain: ``gmail.com`` would match
Google (and cost a credit), a throw-away ``mailinator.com`` address has no company at all. The two
lists are data (``free_mail_domains.txt``, ``disposable_domains.txt`` beside this module), checked
when the module is imported so that a malformed or duplicated entry fails the deploy, not a lead.

They live in this integration, not in ``apps/``: they are knowledge about mailbox providers,
not about People Data Labs or any other SaaS Switchboard calls. If a second integration needs them,
they move to ``shared/`` unchanged.

Test domains: RFC 2606 reserves ``.example``, ``.test``, ``.invalid`` and ``.localhost``. Samples use
them to stand for real domains (``gmail.example`` for ``gmail.com``), so under a reserved TLD a
domain is compared by its name alone: ``gmail.example`` is free mail, ``northwind-traders.example``
is a company (the PDL sandbox knows it), ``mailinator.test`` is disposable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

__all__ = ["DISPOSABLE", "FREE_MAIL", "RESERVED_TLDS", "DomainKind", "DomainList", "classify"]

DomainKind = Literal["company", "free_mail", "disposable"]

#: RFC 2606 / RFC 6761 top-level domains that never resolve; used by samples and tests.
RESERVED_TLDS: Final = frozenset({"example", "test", "invalid", "localhost"})

_HERE = Path(__file__).resolve().parent
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ENTRY = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.(?:{_LABEL}|\*)$")
#: Second-level labels of two-label public suffixes (co.uk, com.au, ne.jp ...): what ``name.*`` may
#: end in besides a single TLD. ``yahoo.acme.com`` is a company's host, not Yahoo.
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "ne", "or", "ac"})


@dataclass(frozen=True)
class DomainList:
    """Exact domains (subdomains included) and ``name.*`` patterns (``name.<public suffix>``)."""

    name: str
    exact: frozenset[str]
    wildcards: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> DomainList:
        exact: set[str] = set()
        wildcards: set[str] = set()
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            entry = raw.split("#", 1)[0].strip()
            if not entry:
                continue
            if not _ENTRY.match(entry):
                raise ValueError(f"{path.name}:{number}: {entry!r} is not a lower-case domain or name.*")
            target, value = (wildcards, entry[:-2]) if entry.endswith(".*") else (exact, entry)
            if value in target:
                raise ValueError(f"{path.name}:{number}: {entry!r} is listed twice")
            target.add(value)
        if not exact and not wildcards:
            raise ValueError(f"{path.name}: no domains")
        return cls(path.stem, frozenset(exact), frozenset(wildcards))

    @property
    def names(self) -> frozenset[str]:
        """The first label of every entry (``gmail`` for ``gmail.com``): how test domains compare."""
        return frozenset(e.split(".", 1)[0] for e in self.exact) | self.wildcards

    def contains(self, domain: str) -> bool:
        labels = domain.lower().rstrip(".").split(".")
        if labels[-1] in RESERVED_TLDS:
            return len(labels) >= 2 and labels[-2] in self.names
        for start in range(len(labels) - 1):  # the domain itself, then each parent
            if ".".join(labels[start:]) in self.exact:
                return True
            if labels[start] in self.wildcards and _is_public_suffix(labels[start + 1 :]):
                return True
        return False


def _is_public_suffix(labels: list[str]) -> bool:
    """``com``, ``de``, ``co.uk``, ``com.au``: one label, or a known second level and a country code."""
    if len(labels) == 1:
        return True
    return len(labels) == 2 and labels[0] in _SECOND_LEVEL and len(labels[1]) == 2


FREE_MAIL: Final = DomainList.load(_HERE / "free_mail_domains.txt")
DISPOSABLE: Final = DomainList.load(_HERE / "disposable_domains.txt")


def _check_disjoint(a: DomainList, b: DomainList) -> None:
    both = (a.exact & b.exact) | (a.wildcards & b.wildcards)
    if both:
        raise ValueError(f"listed as both {a.name} and {b.name}: {', '.join(sorted(both))}")


_check_disjoint(FREE_MAIL, DISPOSABLE)


def classify(domain: str) -> DomainKind:
    """``disposable``, ``free_mail`` or ``company`` (look it up) for an email's domain."""
    if DISPOSABLE.contains(domain):
        return "disposable"
    if FREE_MAIL.contains(domain):
        return "free_mail"
    return "company"
