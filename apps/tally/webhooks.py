"""What Tally's webhook delivers: the ``FORM_RESPONSE`` event of one form submission.

``{"eventId", "eventType": "FORM_RESPONSE", "createdAt", "data": {"responseId", "submissionId",
"respondentId", "formId", "formName", "createdAt", "fields": [{"key", "label", "type", "value",
"options"}]}}`` (https://tally.so/help/webhooks). Fields are keyed by question ids; a form decides
what they mean, so mapping them is the integration's work. Extra keys are kept, never refused: Tally
adds keys over time and that must not start rejecting submissions.

The ingress path imports this module (a spec validates :class:`TallyWebhook`): pydantic only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TallyData", "TallyField", "TallyWebhook"]


class TallyField(BaseModel):
    model_config = ConfigDict(extra="allow")

    key: str
    label: str | None = None
    type: str
    value: Any = None
    options: list[dict[str, Any]] | None = None


class TallyData(BaseModel):
    model_config = ConfigDict(extra="allow")

    responseId: str
    submissionId: str
    respondentId: str
    formId: str
    formName: str
    createdAt: datetime
    fields: list[TallyField]


class TallyWebhook(BaseModel):
    """Tally's ``FORM_RESPONSE`` webhook (https://tally.so/help/webhooks)."""

    model_config = ConfigDict(extra="allow")

    eventId: str = Field(min_length=1, max_length=256)
    eventType: str = Field(pattern=r"^FORM_RESPONSE$")
    createdAt: datetime
    data: TallyData
