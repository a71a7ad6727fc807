"""The lead score: declared rules (``scoring.json``) applied to what is known about a lead.

The rules are data so that the business can change what a warm lead is without touching code: a
pull request that edits ``scoring.json`` (and the README's table). They are validated when this
module is imported - unknown keys, a misspelt company industry or size, a keyword that could never match -
so a broken rule file fails the deploy and the tests, never a lead.

Scoring is a pure function of the lead and the company lookup: the same inputs give the same score
and the same reason, which is what makes a retried event write the same values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.actions.company_values import COMPANY_SIZES, INDUSTRIES

from .domains import DomainKind

__all__ = [
    "RULES",
    "KeywordRules",
    "Reason",
    "Score",
    "ScoringRules",
    "Signals",
    "explain",
    "normalise",
    "score",
]

RULES_FILE: Final = Path(__file__).resolve().with_name("scoring.json")
MAX_SCORE: Final = 100

Points = Annotated[int, Field(ge=-100, le=100)]


def normalise(text: str) -> str:
    """Case- and accent-insensitive form: ``"Café"`` and ``"CAFE"`` both become ``"cafe"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _lower_keys(value: dict[str, int]) -> dict[str, int]:
    for key in value:
        if key != key.strip().lower() or not key.strip():
            raise ValueError(f"key {key!r} must be lower case, without surrounding spaces")
    return value


class KeywordRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Positive keyword points count up to this; negative ones (spam signals) always count.
    max_total: int = Field(ge=0, le=MAX_SCORE)
    #: Term -> points, matched as whole words in the message, in this order, each once.
    terms: dict[str, Points]

    @field_validator("terms")
    @classmethod
    def _terms_are_normalised(cls, value: dict[str, int]) -> dict[str, int]:
        for term in value:
            if not term.strip() or term != " ".join(normalise(term).split()):
                raise ValueError(f"term {term!r} must be written lower case, without accents or extra spaces")
        return value


class ScoringRules(BaseModel):
    """``scoring.json``. Each table adds the points of the lead's value (at most one entry per table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str
    #: Company ``size`` range (``shared.actions.company_values``) -> points.
    company_size: dict[str, Points]
    #: Company ``industry`` (``shared.actions.company_values``) -> points.
    industry: dict[str, Points]
    #: The company's ``country`` (lower case, e.g. ``united kingdom``) -> points.
    country: dict[str, Points]
    #: What the email domain is: ``company``, ``free_mail`` or ``disposable`` -> points.
    email: dict[DomainKind, Points]
    #: ``lead.source`` (``website_form``, ``website_webhook``, ``tally`` ...) -> points.
    source: dict[str, Points]
    utm_source: dict[str, Points]
    utm_medium: dict[str, Points]
    keywords: KeywordRules

    _keys = field_validator("company_size", "industry", "country", "source", "utm_source", "utm_medium")(
        lambda cls, v: _lower_keys(v)
    )

    @field_validator("company_size")
    @classmethod
    def _known_sizes(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(COMPANY_SIZES))
        if unknown:
            raise ValueError(f"not company size ranges: {unknown}; use {list(COMPANY_SIZES)}")
        return value

    @field_validator("industry")
    @classmethod
    def _known_industries(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - INDUSTRIES)
        if unknown:
            raise ValueError(f"not company industries (shared/actions/company_values.py): {unknown}")
        return value


def load_rules(path: Path = RULES_FILE) -> ScoringRules:
    return ScoringRules.model_validate_json(path.read_text(encoding="utf-8"))


RULES: Final = load_rules()


@dataclass(frozen=True)
class Signals:
    """What a score is computed from. Company fields are ``None`` when nothing was looked up or found."""

    email: DomainKind
    source: str
    utm_source: str | None = None
    utm_medium: str | None = None
    message: str | None = None
    company_size: str | None = None
    industry: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Reason:
    points: int
    label: str

    def __str__(self) -> str:
        return f"{self.points:+d} {self.label}"


@dataclass(frozen=True)
class Score:
    score: int
    reasons: tuple[Reason, ...]
    #: The sum before clamping to 0..100.
    total: int

    @property
    def reason(self) -> str:
        """One line a salesperson reads: ``+30 company 51-200 employees; +20 industry food & beverages``."""
        if not self.reasons:
            return "no scoring rule matched"
        text = "; ".join(str(r) for r in self.reasons)
        if self.total != self.score:
            text += f" (total {self.total}, kept within 0-{MAX_SCORE})"
        return text


@cache
def _word_pattern(term: str) -> re.Pattern[str]:
    """A whole-word, whitespace-tolerant pattern: ``a week`` matches "twice a  week", not "a weekend"."""
    words = r"\s+".join(re.escape(w) for w in term.split())
    return re.compile(rf"(?<!\w){words}(?!\w)")


def _table(table: dict[str, int], value: str | None, label: str) -> list[Reason]:
    if not value:
        return []
    key = value.strip().lower()
    points = table.get(key, 0)
    return [Reason(points, label.format(key))] if points else []


def _email(rules: ScoringRules, kind: DomainKind) -> list[Reason]:
    points = rules.email.get(kind, 0)
    return [Reason(points, f"{kind.replace('_', '-')} email address")] if points else []


def _keywords(rules: KeywordRules, message: str | None) -> list[Reason]:
    if not message:
        return []
    text = normalise(message)
    room = rules.max_total
    found: list[Reason] = []
    for term, points in rules.terms.items():
        if not _word_pattern(term).search(text):
            continue
        counted = min(points, room) if points > 0 else points
        room -= max(0, counted)
        if counted:
            found.append(Reason(counted, f"keyword '{term}'"))
    return found


def score(signals: Signals, rules: ScoringRules = RULES) -> Score:
    """The lead's score (0-100) and the rules that gave it, in the order of the rule file."""
    reasons = [
        *_table(rules.company_size, signals.company_size, "company {} employees"),
        *_table(rules.industry, signals.industry, "industry {}"),
        *_table(rules.country, signals.country, "country {}"),
        *_email(rules, signals.email),
        *_table(rules.source, signals.source, "source {}"),
        *_table(rules.utm_source, signals.utm_source, "utm_source {}"),
        *_table(rules.utm_medium, signals.utm_medium, "utm_medium {}"),
        *_keywords(rules.keywords, signals.message),
    ]
    total = sum(r.points for r in reasons)
    return Score(score=max(0, min(MAX_SCORE, total)), reasons=tuple(reasons), total=total)


def explain(
    email: str,
    *,
    source: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    message: str | None = None,
    company_size: str | None = None,
    industry: str | None = None,
    country: str | None = None,
    rules: ScoringRules = RULES,
) -> tuple[Signals, Score]:
    """The score of what is known about a person, from their email address and the rest as given.

    For callers outside the enrichment flow (the ``crm.explain_score`` tool): the email's domain is
    classified as the flow classifies it (:func:`.domains.classify`), and :func:`score` does the rest -
    the same rules, so the same inputs give the same score and reasons as a lead got.
    """
    from .domains import classify

    domain = email.rpartition("@")[2].strip().lower()
    if not domain:
        raise ValueError(f"{email!r} is not an email address")
    signals = Signals(
        email=classify(domain),
        source=source or "",
        utm_source=utm_source,
        utm_medium=utm_medium,
        message=message,
        company_size=company_size,
        industry=industry.strip().lower() if industry else None,
        country=country,
    )
    return signals, score(signals, rules)
