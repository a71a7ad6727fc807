"""slack_interactivity's worker: put the verified click on the bus as ``chat.button_clicked``.

One step, ``emit.chat.button_clicked`` (:meth:`shared.worker.WorkContext.emit`): the event carries the
click and, as ``source_event_id``, the click's own id, so the flows key their work on it and a
re-put event is still one piece of work for them. The detail is validated as
:class:`shared.events.ButtonClicked` before it is put, so what consumers read is the declared
contract. Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from typing import Any

from shared.events import BUTTON_CLICKED, ButtonClicked
from shared.worker import WorkContext

from .models import Click


def process(item: Click, ctx: WorkContext) -> dict[str, Any]:
    clicked = ButtonClicked(**item.model_dump(), source_event_id=ctx.event_id)
    bus_id = ctx.emit(BUTTON_CLICKED, clicked.model_dump(mode="json", exclude={"source_event_id"}))
    return {"action_id": item.action_id, "channel": item.channel, "bus_event_id": bus_id}
