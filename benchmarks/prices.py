"""AWS list prices used for the dollars-per-million-events figures.

Region us-east-1, on-demand, no free tier, as published on the AWS pricing pages and known to us on
2026-11-21 (the DynamoDB on-demand prices are those in force since the 2024-11-01 reduction). Change
them here, in one place, when AWS does.
"""

from __future__ import annotations

REGION = "us-east-1"
PRICES_AS_OF = "2026-11-21"

#: AWS Lambda, arm64: per GB-second of billed duration (1 ms granularity) and per request.
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
#: API Gateway HTTP API, per request (first 300 million a month).
HTTP_API_REQUEST = 1.00 / 1_000_000
#: SQS standard queue, per request (64 KB chunk).
SQS_REQUEST = 0.40 / 1_000_000
#: DynamoDB on-demand: per write request unit (1 KB) and read request unit (4 KB, strongly consistent).
DYNAMODB_WRU = 0.625 / 1_000_000
DYNAMODB_RRU = 0.125 / 1_000_000
#: EventBridge custom events put on a bus, per event (64 KB chunk).
EVENTBRIDGE_EVENT = 1.00 / 1_000_000
#: Secrets Manager API calls (the per-secret monthly fee is a fixed cost, not per event).
SECRETS_API_CALL = 0.05 / 10_000
#: Amazon SES outbound email, per message.
SES_EMAIL = 0.10 / 1_000
#: CloudWatch Logs ingestion (standard class), per GB.
CLOUDWATCH_LOGS_GB = 0.50
