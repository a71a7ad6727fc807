"""Following a connect link as a browser would: the consent page's form, Allow or Deny.

The stand-ins' consent pages are plain HTML forms (hidden fields with the authorization request,
scope checkboxes on Google's, Allow and Deny buttons); this reads one and builds the POST a browser
sends when a button is pressed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin


@dataclass
class ConsentForm:
    action: str = ""
    hidden: list[tuple[str, str]] = field(default_factory=list)
    #: Scope checkboxes (name, value), all ticked as served.
    ticked: list[tuple[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)

    def submit(self, page_url: str, decision: str, *, untick: bool = False) -> tuple[str, str]:
        """URL and urlencoded body of pressing ``decision`` (``allow`` / ``deny``)."""
        assert decision in self.buttons, f"no {decision} button on the page ({self.buttons})"
        pairs = [*self.hidden, *([] if untick else self.ticked), ("decision", decision)]
        return urljoin(page_url, self.action), urlencode(pairs)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form = ConsentForm()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.form.action = a.get("action", "")
        elif tag == "input" and a.get("type") == "hidden":
            self.form.hidden.append((a["name"], a["value"]))
        elif tag == "input" and a.get("type") == "checkbox" and "checked" in a:
            self.form.ticked.append((a["name"], a["value"]))
        elif tag == "button" and a.get("name") == "decision":
            self.form.buttons.append(a["value"])


def consent_form(html: str) -> ConsentForm:
    parser = _Parser()
    parser.feed(html)
    assert parser.form.action, "no form on the consent page"
    return parser.form


FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}
