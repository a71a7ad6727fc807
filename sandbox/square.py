"""Square's Catalog and Inventory APIs, offline, in Square's own request and response shapes.

Served (paths as on ``https://connect.squareup.com``, API version :data:`shared.apps.square.SQUARE_VERSION`):

* ``POST /v2/catalog/search`` (SearchCatalogObjects) - ``object_types``, ``query`` with
  ``exact_query``, ``set_query`` (at most 250 values) or ``prefix_query`` on ``sku`` or ``name``,
  ``include_deleted_objects``, ``include_related_objects`` (a variation's parent item),
  ``begin_time``, ``limit`` and ``cursor``; answers ``objects``, ``related_objects``, ``cursor``,
  ``latest_time``. Value matching is case-insensitive, as Square documents.
* ``POST /v2/inventory/counts/batch-retrieve`` (BatchRetrieveInventoryCounts) -
  ``catalog_object_ids``, ``location_ids``, ``states``, ``updated_after``, ``limit`` (1-1000) and
  ``cursor``; answers ``counts`` newest ``calculated_at`` first, quantities as decimal strings.

Checks as Square makes them: a bearer token (401 ``AUTHENTICATION_ERROR``/``UNAUTHORIZED`` with
Square's own ``detail`` texts), the ``Square-Version`` format (400
``INVALID_SQUARE_VERSION_FORMAT``), cursors (400 ``INVALID_CURSOR``), enum values, limits. Every
answer carries the ``Square-Version`` it was served with, as Square's do. Error bodies are
``{"errors": [{"category", "code", "detail", "field"}]}``; where Square documents no exact ``detail``
text, the text is ours, in that shape.

The seeded data is a small bakery (:data:`LOCATIONS`, :data:`SEED_ITEMS`). Besides the base class's
control endpoints, ``POST /_stock {"sku": "LOAF-RYE", "quantity": "12", "location_id": "...",
"state": "IN_STOCK"}`` sets a count (as a physical count would), for tests and demos.

Built to grow by API: each Square API is a section with its own data (``reset_data``), routes
(``routes``) and controls (``controls``), so Payments, Refunds and outgoing webhooks slot in beside
Catalog and Inventory.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final

from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse, iso_ms
from shared.apps.square import MAX_COUNTS_PAGE, MAX_SET_QUERY_VALUES, SQUARE_VERSION

__all__ = [
    "DEFAULT_TOKEN",
    "LOCATIONS",
    "SEED_ITEMS",
    "SeedItem",
    "SeedVariation",
    "SquareSandbox",
]

DEFAULT_TOKEN: Final = "sandbox-square-token"

#: Location id -> name. The first is the default location of ``POST /_stock``.
LOCATIONS: Final[Mapping[str, str]] = {
    "L8M2Q9ZB3XW1P": "Bramble Bakery - High Street",
    "LQ7T4N1V6K2RD": "Bramble Bakery - Market Hall stall",
    "LW3C5H8J0P9SE": "Bramble Bakery - Central kitchen",
}
_HIGH_STREET, _MARKET, _KITCHEN = LOCATIONS


@dataclass(frozen=True)
class SeedVariation:
    id: str
    name: str
    sku: str
    price: int
    #: (location id, state, quantity) as Square would report them.
    counts: tuple[tuple[str, str, str], ...] = ()
    is_deleted: bool = False


@dataclass(frozen=True)
class SeedItem:
    id: str
    name: str
    description: str
    variations: tuple[SeedVariation, ...]


SEED_ITEMS: Final = (
    SeedItem(
        "R4QKX2MZ7VHJ3TNB5WGEP6DA",
        "Sourdough loaf",
        "Naturally leavened white sourdough, 800 g.",
        (
            SeedVariation(
                "GZ4BN6QYT2XWCM7RLVKP3HDJ",
                "Regular",
                "LOAF-SOURDOUGH",
                650,
                ((_HIGH_STREET, "IN_STOCK", "12"), (_MARKET, "IN_STOCK", "6"), (_HIGH_STREET, "WASTE", "1")),
            ),
        ),
    ),
    SeedItem(
        "M7TD2KQW9XBR4HNV6CZPJ3EF",
        "Rye loaf",
        "Dark Danish-style rye with seeds.",
        (
            SeedVariation(
                "P2VK8XHN4QMB7ZRT3WJD6CLA",
                "Regular",
                "LOAF-RYE",
                595,
                ((_HIGH_STREET, "IN_STOCK", "3"), (_MARKET, "IN_STOCK", "0")),
            ),
        ),
    ),
    SeedItem(
        "T9HB3WQZ6KXM2DRN7VJC4PFE",
        "Chocolate cake",
        "Dark chocolate sponge with ganache.",
        (
            SeedVariation(
                "K6RW2TJX9NBQ4MZH7VDC3PLE",
                "8 inch",
                "CAKE-CHOC-8IN",
                3200,
                ((_HIGH_STREET, "IN_STOCK", "2"), (_KITCHEN, "IN_STOCK", "10")),
            ),
            SeedVariation(
                "X3NC7QHM2WKT9BRZ4JVD6PGA",
                "6 inch",
                "CAKE-CHOC-6IN",
                2200,
                ((_HIGH_STREET, "IN_STOCK", "0"),),
            ),
        ),
    ),
    SeedItem(
        "B5KZ9TMQ3XWH7NRD2VJC6PLE",
        "Butter croissant",
        "Laminated with cultured butter.",
        (
            SeedVariation(
                "W8DJ3KQX6NMB2TZR9VHC4PFA",
                "Single",
                "CROISSANT-BUTTER",
                280,
                ((_HIGH_STREET, "IN_STOCK", "30"), (_MARKET, "IN_STOCK", "14")),
            ),
        ),
    ),
    SeedItem(
        "F2WQ7ZKX4TMB9HRN3VJD6CPE",
        "Stoneground rye flour",
        "Sold loose, by the kilogram.",
        (
            SeedVariation(
                "J7MX2QKT9WZB4NRH6VDC3PLA",
                "Per kg",
                "FLOUR-RYE-KG",
                320,
                ((_HIGH_STREET, "IN_STOCK", "7.25"),),
            ),
        ),
    ),
    SeedItem(
        "D6TN3XQK8ZWM2BRH7VJC4PFA",
        "Classic baguette",
        "Discontinued.",
        (SeedVariation("H4QZ9KXT2WMB7NRD3VJC6PLE", "Regular", "BAGUETTE-CLASSIC", 250, (), is_deleted=True),),
    ),
)

_CURRENCY: Final = "GBP"
#: States BatchRetrieveInventoryCounts accepts in ``states`` (``InventoryState``).
_STATES: Final = frozenset(
    {
        "CUSTOM",
        "IN_STOCK",
        "SOLD",
        "RETURNED_BY_CUSTOMER",
        "RESERVED_FOR_SALE",
        "SOLD_ONLINE",
        "ORDERED_FROM_VENDOR",
        "RECEIVED_FROM_VENDOR",
        "IN_TRANSIT_TO",
        "NONE",
        "WASTE",
        "UNLINKED_RETURN",
        "COMPOSED",
        "DECOMPOSED",
        "SUPPORTED_BY_NEWER_VERSION",
        "IN_TRANSIT",
    }
)
#: "Ignored are untracked states of NONE, SOLD, and UNLINKED_RETURN."
_UNTRACKED: Final = frozenset({"NONE", "SOLD", "UNLINKED_RETURN"})
#: Searchable attributes the sandbox knows, per object type.
_SEARCHABLE: Final[Mapping[str, frozenset[str]]] = {
    "ITEM": frozenset({"name", "description"}),
    "ITEM_VARIATION": frozenset({"name", "sku"}),
}
#: Page size when a search sends no usable ``limit`` (Square documents no default; ours).
_DEFAULT_SEARCH_PAGE: Final = 100
_VERSION: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_QUANTITY: Final = re.compile(r"^-?\d{1,12}(\.\d{1,5})?$")

# Square's own ``detail`` texts for authentication failures.
_NO_AUTH: Final = (
    "Your request did not include an `Authorization` http header with an access token. The header "
    'value is expected to be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to '
    'be replaced with your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_MALFORMED_AUTH: Final = (
    "The `Authorization` http header of your request was malformed. The header value is expected to "
    'be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to be replaced with '
    'your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_BAD_TOKEN: Final = "This request could not be authorized."

#: Status -> (category, code) for answers without a more specific error (faults, unknown routes).
_STATUS_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST"),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED"),
    403: ("AUTHENTICATION_ERROR", "FORBIDDEN"),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND"),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED"),
    409: ("INVALID_REQUEST_ERROR", "CONFLICT"),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    501: ("API_ERROR", "NOT_IMPLEMENTED"),
    502: ("API_ERROR", "BAD_GATEWAY"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}


def _error(status: int, category: str, code: str, detail: str, field: str | None = None) -> SandboxResponse:
    entry: dict[str, str] = {"category": category, "code": code, "detail": detail}
    if field is not None:
        entry["field"] = field
    return SandboxResponse.json({"errors": [entry]}, status)


class _Invalid(Exception):
    """Raised inside a handler to answer with a Square error body."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _invalid(code: str, detail: str, field: str | None = None) -> _Invalid:
    return _Invalid(_error(400, "INVALID_REQUEST_ERROR", code, detail, field))


def _quantity_text(value: Decimal) -> str:
    """``Decimal("12.50")`` -> ``"12.5"``; ``Decimal("1E+1")`` -> ``"10"``: Square's decimal strings."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _parse_time(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise _invalid("EXPECTED_STRING", f"Expected a string value for `{name}`.", name)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid("INVALID_TIME", f"`{name}` must be an RFC 3339 timestamp.", name) from None
    if when.tzinfo is None:
        raise _invalid("INVALID_TIME", f"`{name}` must carry a UTC offset.", name)
    return when.timestamp()


@dataclass
class _Object:
    """A catalog object as the sandbox stores it (``ITEM`` or ``ITEM_VARIATION``)."""

    type: str
    id: str
    data: dict[str, Any]
    updated_at: float
    version: int
    is_deleted: bool = False
    parent_id: str | None = None


@dataclass
class _Count:
    catalog_object_id: str
    location_id: str
    state: str
    quantity: Decimal
    calculated_at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "catalog_object_id": self.catalog_object_id,
            "catalog_object_type": "ITEM_VARIATION",
            "state": self.state,
            "location_id": self.location_id,
            "quantity": _quantity_text(self.quantity),
            "calculated_at": iso_ms(self.calculated_at),
        }


@dataclass
class _Page:
    """Cursor pagination: an opaque cursor naming the endpoint and the offset of the next page."""

    endpoint: str
    items: list[Any]
    size: int
    offset: int = 0
    out: list[Any] = field(default_factory=list)

    def take(self) -> str | None:
        self.out = self.items[self.offset : self.offset + self.size]
        nxt = self.offset + self.size
        if nxt >= len(self.items):
            return None
        raw = json.dumps({"e": self.endpoint, "o": nxt}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def open(cls, endpoint: str, cursor: Any, items: list[Any], size: int) -> _Page:
        if cursor in (None, ""):
            return cls(endpoint, items, size)
        try:
            text = str(cursor)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            offset = int(data["o"]) if data.get("e") == endpoint else -1
        except (ValueError, TypeError, KeyError, binascii.Error, AttributeError):
            offset = -1
        if offset < 0:
            raise _invalid("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
        return cls(endpoint, items, size, offset)


class SquareSandbox(SandboxApp):
    """Square stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "square"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        items: Sequence[SeedItem] = SEED_ITEMS,
        max_page_size: int = MAX_COUNTS_PAGE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.seed = tuple(items)
        #: Caps every page below what the request asked, so tests can see cursors with few objects.
        self.max_page_size = max_page_size
        super().__init__(clock=clock)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v2/catalog/search", self._search_catalog),
            ("POST", "/v2/inventory/counts/batch-retrieve", self._batch_retrieve_counts),
        )

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        """This app's own control endpoints (beside the base class's ``/_requests``, ``/_faults`` ...)."""
        return {("POST", "/_stock"): self._set_stock}

    def reset_data(self) -> None:
        now = self.clock()
        self.catalog: dict[str, _Object] = {}
        self.counts: dict[tuple[str, str, str], _Count] = {}
        for n, item in enumerate(self.seed):
            updated = now - 86_400 + n * 60  # created a day ago, a minute apart
            version = int(updated * 1000)
            variations = []
            for ordinal, v in enumerate(item.variations):
                data = {
                    "item_id": item.id,
                    "name": v.name,
                    "sku": v.sku,
                    "ordinal": ordinal,
                    "pricing_type": "FIXED_PRICING",
                    "price_money": {"amount": v.price, "currency": _CURRENCY},
                    "track_inventory": True,
                }
                obj = _Object("ITEM_VARIATION", v.id, data, updated, version, v.is_deleted, item.id)
                self.catalog[v.id] = obj
                variations.append(obj)
                for location, state, quantity in v.counts:
                    self.counts[(v.id, location, state)] = _Count(
                        v.id, location, state, Decimal(quantity), now - 3600 + n * 60
                    )
            item_data = {"name": item.name, "description": item.description, "product_type": "REGULAR"}
            deleted = all(v.is_deleted for v in variations)
            self.catalog[item.id] = _Object("ITEM", item.id, item_data, updated, version, deleted)

    def state(self) -> Any:
        return {
            "locations": [{"id": k, "name": v} for k, v in LOCATIONS.items()],
            "variations": [
                {"id": o.id, "sku": o.data["sku"], "name": o.data["name"], "item_id": o.parent_id}
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted
            ],
            "counts": [c.as_json() for c in self.counts.values()],
        }

    # --- hooks: auth, version, error shapes -----------------------------------------------------

    def handle(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        control = self.controls().get((req.method.upper(), req.path.split("?", 1)[0]))
        if control is None:
            return super().handle(req, read_timeout=read_timeout)
        with self.lock:
            return control(req, {})

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        header = req.header("authorization")
        if not header:
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _NO_AUTH)
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _MALFORMED_AUTH)
        if token.strip() != self.token:
            return _error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _BAD_TOKEN)
        version = req.header("square-version")
        if version is not None and not _VERSION.match(version):
            detail = f"Invalid Square-Version format: {version!r}. Expected YYYY-MM-DD."
            return _error(400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT", detail)
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        version = req.header("square-version") or SQUARE_VERSION
        return resp.with_headers({"square-version": version})

    def error_response(self, status: int, message: str) -> SandboxResponse:
        category, code = _STATUS_ERRORS.get(status, ("API_ERROR", "INTERNAL_SERVER_ERROR"))
        return _error(status, category, code, message)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _error(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded. Retry later.")

    # --- Catalog API ----------------------------------------------------------------------------

    def _search_catalog(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = self._json_object(req)
            types = self._object_types(body.get("object_types"))
            matches = self._query(body.get("query"), types)
            if body.get("begin_time") is not None:
                since = _parse_time(body["begin_time"], "begin_time")
                matches = [o for o in matches if o.updated_at > since]
            if body.get("include_deleted_objects") is not True:
                matches = [o for o in matches if not o.is_deleted]
            limit = body.get("limit")
            size = limit if isinstance(limit, int) and 0 < limit <= MAX_COUNTS_PAGE else _DEFAULT_SEARCH_PAGE
            page = _Page.open(
                "catalog/search",
                body.get("cursor"),
                sorted(matches, key=lambda o: o.id),
                min(size, self.max_page_size),
            )
        except _Invalid as invalid:
            return invalid.response
        cursor = page.take()
        out: dict[str, Any] = {"objects": [self._object_json(o) for o in page.out]}
        if body.get("include_related_objects") is True:
            parents = {o.parent_id for o in page.out if o.parent_id} - {o.id for o in page.out}
            related = [self._object_json(self.catalog[p]) for p in sorted(parents) if p in self.catalog]
            if related:
                out["related_objects"] = related
        if cursor:
            out["cursor"] = cursor
        out["latest_time"] = iso_ms(max((o.updated_at for o in self.catalog.values()), default=0))
        return SandboxResponse.json(out)

    @staticmethod
    def _object_types(value: Any) -> frozenset[str]:
        if value is None:
            return frozenset({"ITEM"})  # ITEM_VARIATION is nested: not among the default types
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise _invalid(
                "EXPECTED_ARRAY", "Expected `object_types` to be an array of strings.", "object_types"
            )
        unknown = [t for t in value if t not in _SEARCHABLE]
        if unknown:
            detail = f"The sandbox catalog holds ITEM and ITEM_VARIATION objects, not {', '.join(unknown)}."
            raise _invalid("INVALID_ENUM_VALUE", detail, "object_types")
        return frozenset(value)

    def _query(self, query: Any, types: frozenset[str]) -> list[_Object]:
        candidates = [o for o in self.catalog.values() if o.type in types]
        if query is None:
            return candidates
        if not isinstance(query, dict) or len(query) != 1:
            raise _invalid(
                "BAD_REQUEST", "The sandbox supports exactly one of exact_query, set_query, prefix_query."
            )
        ((kind, spec),) = query.items()
        if not isinstance(spec, dict) or not isinstance(spec.get("attribute_name"), str):
            raise _invalid("MISSING_REQUIRED_PARAMETER", "Missing `attribute_name`.", f"query.{kind}")
        attribute = spec["attribute_name"]
        wanted: Any
        if kind == "exact_query":
            wanted = [spec.get("attribute_value")]
        elif kind == "set_query":
            wanted = spec.get("attribute_values")
            where = "query.set_query.attribute_values"
            if not isinstance(wanted, list) or not wanted:
                raise _invalid("ARRAY_EMPTY", "`attribute_values` must not be empty.", where)
            if len(wanted) > MAX_SET_QUERY_VALUES:
                detail = f"A maximum of {MAX_SET_QUERY_VALUES} values may be searched in a request."
                raise _invalid("ARRAY_LENGTH_TOO_LONG", detail, where)
        elif kind == "prefix_query":
            prefix = spec.get("attribute_prefix")
            if not isinstance(prefix, str) or not prefix:
                raise _invalid("VALUE_EMPTY", "`attribute_prefix` must not be empty.", "query.prefix_query")
            return [
                o for o in candidates if self._attr(o, attribute).casefold().startswith(prefix.casefold())
            ]
        else:
            raise _invalid("BAD_REQUEST", f"The sandbox does not support `{kind}`.", "query")
        if not all(isinstance(w, str) for w in wanted):
            raise _invalid("EXPECTED_STRING", "Attribute values must be strings.", f"query.{kind}")
        folded = {w.casefold() for w in wanted}
        return [o for o in candidates if self._attr(o, attribute).casefold() in folded]

    @staticmethod
    def _attr(obj: _Object, attribute: str) -> str:
        if attribute not in _SEARCHABLE[obj.type]:
            return ""
        value = obj.data.get(attribute)
        return value if isinstance(value, str) else ""

    def _object_json(self, obj: _Object) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": obj.type,
            "id": obj.id,
            "updated_at": iso_ms(obj.updated_at),
            "version": obj.version,
            "is_deleted": obj.is_deleted,
            "present_at_all_locations": True,
        }
        if obj.type == "ITEM_VARIATION":
            out["item_variation_data"] = dict(obj.data)
        else:
            variations = [
                self._object_json(v)
                for v in self.catalog.values()
                if v.parent_id == obj.id and (obj.is_deleted or not v.is_deleted)
            ]
            out["item_data"] = {**obj.data, "variations": variations}
        return out

    # --- Inventory API --------------------------------------------------------------------------

    def _batch_retrieve_counts(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = self._json_object(req)
            ids = self._strings(body, "catalog_object_ids")
            locations = self._strings(body, "location_ids")
            states = self._strings(body, "states")
            bad = [s for s in states or () if s not in _STATES]
            if bad:
                raise _invalid("INVALID_ENUM_VALUE", f"`{bad[0]}` is not a valid InventoryState.", "states")
            since = None
            if body.get("updated_after") is not None:
                since = _parse_time(body["updated_after"], "updated_after")
            limit = body.get("limit", MAX_COUNTS_PAGE)
            if not isinstance(limit, int) or isinstance(limit, bool):
                raise _invalid("EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit")
            if limit < 1:
                raise _invalid("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
            if limit > MAX_COUNTS_PAGE:
                raise _invalid("VALUE_TOO_HIGH", f"`limit` must be at most {MAX_COUNTS_PAGE}.", "limit")
            found = [
                c
                for c in self.counts.values()
                if (ids is None or c.catalog_object_id in ids)
                and (locations is None or c.location_id in locations)
                and (states is None or c.state in set(states) - _UNTRACKED)
                and (since is None or c.calculated_at > since)
            ]
            found.sort(key=lambda c: (-c.calculated_at, c.catalog_object_id, c.location_id, c.state))
            page = _Page.open("inventory/counts", body.get("cursor"), found, min(limit, self.max_page_size))
        except _Invalid as invalid:
            return invalid.response
        cursor = page.take()
        # As in Square's documented example answer: an empty "errors" array beside the counts.
        out: dict[str, Any] = {"errors": [], "counts": [c.as_json() for c in page.out]}
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    @staticmethod
    def _strings(body: Mapping[str, Any], name: str) -> list[str] | None:
        value = body.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _invalid("EXPECTED_ARRAY", f"Expected `{name}` to be an array of strings.", name)
        return value

    # --- controls -------------------------------------------------------------------------------

    def _set_stock(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``POST /_stock``: set one count, as a physical count in Square's dashboard would."""
        try:
            data = req.json()
        except ValueError:
            return SandboxResponse.json({"error": "body must be JSON"}, 400)
        if not isinstance(data, dict):
            return SandboxResponse.json({"error": "body must be a JSON object"}, 400)
        sku, quantity = data.get("sku"), str(data.get("quantity", ""))
        location = data.get("location_id", next(iter(LOCATIONS)))
        state = data.get("state", "IN_STOCK")
        variation = next(
            (
                o
                for o in self.catalog.values()
                if o.type == "ITEM_VARIATION" and not o.is_deleted and o.data.get("sku") == sku
            ),
            None,
        )
        problems = []
        if variation is None:
            problems.append(f"no live variation has sku {sku!r}")
        if not _QUANTITY.match(quantity):
            problems.append("quantity must be a decimal string with at most 5 places")
        if location not in LOCATIONS:
            problems.append(f"location_id must be one of {sorted(LOCATIONS)}")
        if state not in _STATES - _UNTRACKED:
            problems.append(f"state {state!r} is not a tracked InventoryState")
        if problems or variation is None:
            return SandboxResponse.json({"error": "; ".join(problems)}, 400)
        try:
            amount = Decimal(quantity)
        except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
            return SandboxResponse.json({"error": "quantity is not a decimal"}, 400)
        count = _Count(variation.id, location, state, amount, self.clock())
        self.counts[(variation.id, location, state)] = count
        return SandboxResponse.json(count.as_json())

    # --- shapes ---------------------------------------------------------------------------------

    @staticmethod
    def _json_object(req: SandboxRequest) -> dict[str, Any]:
        try:
            data = req.json()
        except ValueError as exc:
            raise _invalid("BAD_REQUEST", f"The request body is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise _invalid("EXPECTED_OBJECT", "Expected the request body to be a JSON object.")
        return data
