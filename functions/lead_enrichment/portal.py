"""Which optional HubSpot default properties this portal lets us write, and their dropdown options.

``industry`` (single-line text) and ``numemployees`` ("Number of Employees", a dropdown) are HubSpot
default contact properties, but a portal's admin can edit the options of default dropdowns, and a
write with a value the portal does not offer is refused with 400 ``INVALID_OPTION`` - which would send
the whole lead, score included, to the DLQ over a nice-to-have field. So before writing them the
worker asks the portal (``GET /crm/v3/properties/contacts/{name}``, HubSpot's documented endpoint) and
writes only what exists, is writable and, for a dropdown, is one of its options. The answer is cached
per HubSpot client for ten minutes: two small reads per warm worker, not per lead.

The score properties are not optional: they are Switchboard's own custom properties
(``apps.hubspot.CUSTOM_PROPERTIES``) and a portal without them is a setup error that must
surface (DLQ with ``PROPERTY_DOESNT_EXIST``), not be skipped.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import TargetUnavailable

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["CACHE_TTL_S", "OPTIONAL_PROPERTIES", "WritableProperties", "writable_properties"]

#: HubSpot default contact properties this integration fills when the portal has them.
OPTIONAL_PROPERTIES: Final = ("industry", "numemployees")
CACHE_TTL_S: Final = 600.0
_PATH: Final = "/crm/v3/properties/contacts/{name}"

#: Property name -> the option values it takes (a dropdown), or ``None`` (free text).
WritableProperties = Mapping[str, frozenset[str] | None]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Option(_Model):
    value: str
    hidden: bool = False


class _Metadata(_Model):
    read_only_value: bool = Field(default=False, alias="readOnlyValue")


class _Property(_Model):
    """HubSpot's v3 property shape, the fields read here."""

    name: str
    type: str
    options: tuple[_Option, ...] = ()
    modification_metadata: _Metadata = Field(default_factory=_Metadata, alias="modificationMetadata")


_cache: weakref.WeakKeyDictionary[ApiClient, tuple[float, WritableProperties]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def writable_properties(api: ApiClient, *, clock: Callable[[], float] = time.monotonic) -> WritableProperties:
    """The optional properties the portal behind ``api`` has and lets us write (cached)."""
    with _lock:
        cached = _cache.get(api)
        if cached is not None and cached[0] > clock():
            return cached[1]
        found: dict[str, frozenset[str] | None] = {}
        for name in OPTIONAL_PROPERTIES:
            prop = _read(api, name)
            if prop is not None and not prop.modification_metadata.read_only_value:
                enumeration = prop.type == "enumeration"
                found[name] = (
                    frozenset(o.value for o in prop.options if not o.hidden) if enumeration else None
                )
        _cache[api] = (clock() + CACHE_TTL_S, found)
        return found


def _read(api: ApiClient, name: str) -> _Property | None:
    """The property's definition, or ``None`` if the portal has no such property."""
    response = api.request("GET", _PATH.format(name=name), template=_PATH, ok=(404,))
    if response.status_code == 404:
        return None
    try:
        return _Property.model_validate_json(response.content)
    except ValidationError as exc:
        raise TargetUnavailable(f"hubspot GET {_PATH}: unexpected {response.status_code} body") from exc
