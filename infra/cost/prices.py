"""Every AWS price Switchboard's cost model uses, in one place, each with where it was read.

Region us-east-1, on-demand, list prices, the first tier of each service (the tier a small business
stays in: named per price). Prices as known on :data:`PRICES_AS_OF` from the AWS pricing pages named
in each :class:`Price` (DynamoDB on-demand: the prices in force since the 2024-11-01 reduction;
Lambda INIT: billed like invocation duration since 2025-08-01). They were read from stored copies of
those pages, not live: check them against the pages and change them here, in one place, when AWS
does.

No free tier is applied unless asked (``switchboard cost --free-tier``): :data:`FREE_TIER` lists the
*always free* monthly allowances per account (not the 12-month ones, not credits), applied once to
a deployment's total, since they are per account and not per integration.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FREE_TIER", "HOURS_PER_MONTH", "PRICES", "PRICES_AS_OF", "REGION", "Price", "price"]

REGION = "us-east-1"
PRICES_AS_OF = "2026-12-05"
#: AWS prices monthly resources (alarms, metrics, secrets, keys) per 730-hour month.
HOURS_PER_MONTH = 730.0


@dataclass(frozen=True)
class Price:
    """One meter's price: ``usd`` per ``per`` units of ``unit``."""

    meter: str
    usd: float
    per: float
    unit: str
    #: The tier this price is for (where the service has tiers).
    tier: str
    source: str

    @property
    def unit_usd(self) -> float:
        return self.usd / self.per


_LAMBDA = "https://aws.amazon.com/lambda/pricing/"
_CW = "https://aws.amazon.com/cloudwatch/pricing/"

PRICES: dict[str, Price] = {
    p.meter: p
    for p in (
        Price("lambda.requests", 0.20, 1e6, "requests", "all", _LAMBDA),
        Price("lambda.gb_s.arm64", 0.0000133334, 1, "GB-second", "first 7.5 billion GB-s a month", _LAMBDA),
        Price("lambda.gb_s.x86_64", 0.0000166667, 1, "GB-second", "first 6 billion GB-s a month", _LAMBDA),
        # INIT of on-demand ZIP functions on managed runtimes is billed as duration since 2025-08-01
        # (https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/):
        # the same GB-s prices, kept as meters of their own so the cost of cold starts shows.
        Price("lambda.init_gb_s.arm64", 0.0000133334, 1, "GB-second", "as duration", _LAMBDA),
        Price("lambda.init_gb_s.x86_64", 0.0000166667, 1, "GB-second", "as duration", _LAMBDA),
        Price(
            "http_api.requests",
            1.00,
            1e6,
            "requests (512 KB chunks)",
            "first 300 million a month",
            "https://aws.amazon.com/api-gateway/pricing/",
        ),
        Price(
            "sqs.requests",
            0.40,
            1e6,
            "requests (64 KB chunks)",
            "standard queues, first 100 billion a month",
            "https://aws.amazon.com/sqs/pricing/",
        ),
        Price(
            "dynamodb.wru",
            0.625,
            1e6,
            "write request units",
            "on-demand, standard table class",
            "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        ),
        Price(
            "dynamodb.rru",
            0.125,
            1e6,
            "read request units",
            "on-demand, standard table class",
            "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        ),
        Price(
            "dynamodb.storage",
            0.25,
            1,
            "GB-month",
            "standard table class, after 25 GB",
            "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        ),
        Price(
            "dynamodb.pitr",
            0.20,
            1,
            "GB-month of table size",
            "continuous backups",
            "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        ),
        Price(
            "secrets.secrets",
            0.40,
            1,
            "secret-month",
            "all",
            "https://aws.amazon.com/secrets-manager/pricing/",
        ),
        Price(
            "ssm.parameters",
            0.0,
            1,
            "standard parameter-month",
            "standard tier (no charge to store; GetParameter at standard throughput is free)",
            "https://aws.amazon.com/systems-manager/pricing/",
        ),
        Price(
            "secrets.api_calls",
            0.05,
            10_000,
            "API calls",
            "all",
            "https://aws.amazon.com/secrets-manager/pricing/",
        ),
        Price(
            "kms.keys", 1.00, 1, "customer managed key-month", "all", "https://aws.amazon.com/kms/pricing/"
        ),
        Price(
            "kms.requests", 0.03, 10_000, "requests", "symmetric keys", "https://aws.amazon.com/kms/pricing/"
        ),
        Price("cloudwatch.alarm_metrics", 0.10, 1, "alarm metric-month", "standard resolution", _CW),
        Price(
            "cloudwatch.metrics", 0.30, 1, "metric-month (prorated by the hour)", "first 10,000 metrics", _CW
        ),
        Price("cloudwatch.dashboards", 3.00, 1, "dashboard-month", "all", _CW),
        Price("logs.ingest", 0.50, 1, "GB ingested", "standard log class", _CW),
        Price("logs.storage", 0.03, 1, "GB-month stored", "standard log class", _CW),
        Price("xray.traces", 5.00, 1e6, "traces recorded", "all", "https://aws.amazon.com/xray/pricing/"),
        # Charged only when traces are read (the X-Ray console, an API query): not a line item.
        Price(
            "xray.retrieved",
            0.50,
            1e6,
            "traces retrieved or scanned",
            "all",
            "https://aws.amazon.com/xray/pricing/",
        ),
        Price(
            "eventbridge.events",
            1.00,
            1e6,
            "custom events (64 KB chunks)",
            "all",
            "https://aws.amazon.com/eventbridge/pricing/",
        ),
        Price(
            "eventbridge.archive",
            0.10,
            1,
            "GB archived",
            "all",
            "https://aws.amazon.com/eventbridge/pricing/",
        ),
        Price(
            "scheduler.invocations",
            1.00,
            1e6,
            "invocations",
            "after 14 million free a month",
            "https://aws.amazon.com/eventbridge/pricing/",
        ),
        Price(
            "ses.emails",
            0.10,
            1_000,
            "emails (each recipient)",
            "outbound",
            "https://aws.amazon.com/ses/pricing/",
        ),
    )
}

#: Always-free monthly allowances per account (``--free-tier``), by meter; a shared allowance names
#: its meters together (Lambda's GB-s covers invocation and INIT duration of both architectures).
FREE_TIER: dict[tuple[str, ...], float] = {
    ("lambda.requests",): 1_000_000,
    ("lambda.gb_s.arm64", "lambda.gb_s.x86_64", "lambda.init_gb_s.arm64", "lambda.init_gb_s.x86_64"): 400_000,
    ("sqs.requests",): 1_000_000,
    ("dynamodb.storage",): 25,
    ("cloudwatch.metrics",): 10,
    ("cloudwatch.alarm_metrics",): 10,
    ("cloudwatch.dashboards",): 3,
    ("logs.ingest", "logs.storage"): 5,
    ("xray.traces",): 100_000,
    ("xray.retrieved",): 1_000_000,
    ("kms.requests",): 20_000,
    ("scheduler.invocations",): 14_000_000,
}


def price(meter: str) -> Price:
    """The price of ``meter``; a meter without a price is a programming error, named."""
    try:
        return PRICES[meter]
    except KeyError:
        raise KeyError(f"no price for meter {meter!r} in infra/cost/prices.py") from None
