"""The scoring rules: the rule file as data (validated at import) and the score each rule gives."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from functions.lead_enrichment.scoring import (
    RULES,
    RULES_FILE,
    Reason,
    ScoringRules,
    Signals,
    load_rules,
    normalise,
    score,
)

NONE = Signals(email="company", source="website_form")


def with_(**changes: Any) -> Signals:
    return Signals(**{**NONE.__dict__, **changes})


@pytest.mark.parametrize(
    ("signals", "points", "label"),
    [
        # company size: PDL's ranges
        (with_(company_size="1-10"), 10, "company 1-10 employees"),
        (with_(company_size="11-50"), 20, "company 11-50 employees"),
        (with_(company_size="51-200"), 30, "company 51-200 employees"),
        (with_(company_size="201-500"), 25, "company 201-500 employees"),
        (with_(company_size="10001+"), 10, "company 10001+ employees"),
        # industry: PDL's canonical names, any case
        (with_(industry="food & beverages"), 20, "industry food & beverages"),
        (with_(industry="Restaurants"), 20, "industry restaurants"),
        (with_(industry="events services"), 20, "industry events services"),
        (with_(industry="wholesale"), 15, "industry wholesale"),
        (with_(industry="computer software"), 0, None),
        # country
        (with_(country="united kingdom"), 10, "country united kingdom"),
        (with_(country="ireland"), 5, "country ireland"),
        (with_(country="germany"), 0, None),
        # what the email domain is
        (with_(email="disposable"), -20, "disposable email address"),
        (with_(email="free_mail"), 0, None),
        # source and UTM tags
        (with_(source="website_webhook"), 5, "source website_webhook"),
        (with_(source="tally"), 5, "source tally"),
        (with_(source="website_form"), 0, None),
        (with_(utm_source="newsletter"), 5, "utm_source newsletter"),
        (with_(utm_medium="CPC"), 10, "utm_medium cpc"),
        (with_(utm_medium="email"), 5, "utm_medium email"),
        (with_(utm_medium="social"), 0, None),
        # message keywords: whole words, any case, accents ignored
        (with_(message="Do you do WHOLESALE?"), 10, "keyword 'wholesale'"),
        (with_(message="Could you cater a studio opening?"), 10, "keyword 'cater'"),
        (with_(message="Loaves for our Café"), 5, "keyword 'cafe'"),
        (with_(message="twice a\n week please"), 10, "keyword 'a week'"),
        (with_(message="see you at the weekend"), 0, None),  # "a week" is not in "weekend"
        (with_(message="our caterers"), 0, None),  # neither "cater" nor "catering"
        (with_(message="Cheap SEO for bakeries"), -25, "keyword 'seo'"),
    ],
)
def test_each_rule_gives_its_points(signals: Signals, points: int, label: str | None) -> None:
    result = score(signals)
    assert result.reasons == ((Reason(points, label),) if label else ())
    assert result.score == max(0, points)


def test_the_rules_add_up_in_the_order_of_the_rule_file() -> None:
    result = score(
        Signals(
            email="company",
            source="website_webhook",
            utm_medium="cpc",
            message="Hi, we'd like a quote for 40 sourdough loaves a week for our café.",
            company_size="51-200",
            industry="food & beverages",
            country="united kingdom",
        )
    )
    assert result.score == 95
    assert result.reason == (
        "+30 company 51-200 employees; +20 industry food & beverages; +10 country united kingdom; "
        "+5 source website_webhook; +10 utm_medium cpc; +10 keyword 'a week'; +5 keyword 'quote'; "
        "+5 keyword 'cafe'"
    )


def test_positive_keywords_count_up_to_their_cap_and_each_once() -> None:
    message = "Wholesale catering, weekly, a quote please - wholesale wholesale!"
    result = score(with_(message=message))
    assert [str(r) for r in result.reasons] == [
        "+10 keyword 'wholesale'",
        "+10 keyword 'catering'",
        "+5 keyword 'weekly'",  # capped: 5 of its 10; 'quote' finds the cap reached
    ]
    assert result.score == RULES.keywords.max_total == 25


def test_negative_keywords_always_count() -> None:
    result = score(with_(message="Wholesale catering weekly - and our SEO and backlinks service"))
    assert result.score == 0
    assert result.total == 25 - 25 - 25
    assert result.reason.endswith("(total -25, kept within 0-100)")


def test_the_score_is_kept_within_0_and_100() -> None:
    everything = Signals(
        email="company",
        source="tally",
        utm_source="newsletter",
        utm_medium="cpc",
        message="wholesale catering weekly",
        company_size="51-200",
        industry="food & beverages",
        country="united kingdom",
    )
    rules = RULES.model_copy(update={"company_size": {"51-200": 90}})
    result = score(everything, rules)
    assert result.score == 100 and result.total > 100
    assert "kept within 0-100" in result.reason


def test_a_lead_no_rule_matches_says_so() -> None:
    result = score(NONE)
    assert (result.score, result.reason) == (0, "no scoring rule matched")


def test_normalise_ignores_case_and_accents() -> None:
    assert normalise("CAFÉ Crème Brûlée") == "cafe creme brulee"


# --- the rule file --------------------------------------------------------------------------------


def test_the_rule_file_in_the_repository_is_valid_and_what_is_loaded() -> None:
    assert load_rules() == RULES
    assert RULES_FILE.name == "scoring.json"
    assert RULES.email["disposable"] < 0


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"industry": {"food and beverages": 20}}, "not company industries"),
        ({"company_size": {"50-200": 30}}, "not company size ranges"),
        ({"country": {"United Kingdom": 10}}, "must be lower case"),
        ({"utm_medium": {" cpc": 10}}, "must be lower case"),
        ({"email": {"freemail": 5}}, "email.freemail"),
        ({"keywords": {"max_total": 25, "terms": {"Café": 5}}}, "without accents"),
        ({"keywords": {"max_total": 25, "terms": {"a  week": 5}}}, "extra spaces"),
        ({"keywords": {"max_total": 120, "terms": {}}}, "max_total"),
        ({"source": {"tally": 500}}, "less than or equal to 100"),
        ({"typo_table": {}}, "typo_table"),
    ],
)
def test_a_broken_rule_file_is_refused_naming_the_problem(change: dict[str, Any], complaint: str) -> None:
    data = {**json.loads(RULES_FILE.read_text(encoding="utf-8")), **change}
    with pytest.raises(ValidationError) as caught:
        ScoringRules.model_validate(data)
    assert complaint in str(caught.value)
