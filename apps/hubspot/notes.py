"""HubSpot notes: the association that ties one to a contact, the body's limit, and its HTML.

Sources: https://developers.hubspot.com/docs/api-reference/crm-notes-v3/guide (``hs_timestamp``
required, ``hs_note_body`` at most 65,536 characters, association type 202 "note to contact" - also
``noteToContact = 202`` in ``HubSpot/hubspot-api-nodejs`` ``src/utils/AssociationTypesEnum.ts``).
"""

from __future__ import annotations

import html
from typing import Final

__all__ = [
    "NOTE_BODY_MAX_CHARS",
    "NOTE_REFERENCE_PREFIX",
    "NOTE_SEARCH_LIMIT",
    "NOTE_TO_CONTACT",
    "note_html",
    "note_text",
]

#: ``associationTypeId`` of the HUBSPOT_DEFINED "note to contact" association.
NOTE_TO_CONTACT: Final = 202
#: HubSpot's documented limit for ``hs_note_body``.
NOTE_BODY_MAX_CHARS: Final = 65_536
#: Starts the line that names what a note was written for (see ``HubSpotClient.create_note``).
NOTE_REFERENCE_PREFIX: Final = "Switchboard ref: "
#: How many of a contact's newest notes ``HubSpotClient.find_note`` reads at most.
NOTE_SEARCH_LIMIT: Final = 500


def note_html(text: str, limit: int = NOTE_BODY_MAX_CHARS) -> str:
    """Plain text as a note body: HTML-escaped, line breaks kept, cut to ``limit`` (HubSpot's).

    HubSpot renders ``hs_note_body`` as HTML, and a website visitor wrote this text: escaping keeps
    their markup from becoming ours, and ``<br>`` keeps their paragraphs readable. An over-long message
    is cut (marked with an ellipsis) rather than rejected, so the lead is never lost over its note.
    """

    def render(t: str) -> str:
        return html.escape(t.replace("\r\n", "\n")).replace("\n", "<br>")

    body = render(text)
    if len(body) <= limit:
        return body
    # The longest prefix that still fits once escaped (escaping can grow a character to 6).
    low, high = 0, min(len(text), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if len(render(text[:mid])) < limit:
            low = mid
        else:
            high = mid - 1
    return render(text[:low]) + "\u2026"


def note_text(body: str) -> str:
    """A note body (:func:`note_html`) back as the plain text it was made from."""
    return html.unescape(body.replace("<br>", "\n"))
