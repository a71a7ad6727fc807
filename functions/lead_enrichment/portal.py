"""Which optional HubSpot default properties this portal lets us write, and their dropdown options.

``industry`` (single-line text) and ``numemployees`` ("Number of Employees", a dropdown) are HubSpot
default contact properties, but a portal's admin can edit the options of default dropdowns, and a
write with a value the portal does not offer is refused with 400 ``INVALID_OPTION`` - which would send
the whole lead, score included, to the DLQ over a nice-to-have field. So before writing them the
worker asks the portal (:meth:`apps.hubspot.client.HubSpotClient.get_property`) and writes only what
exists, is writable and, for a dropdown, is one of its options. The answer is cached per HubSpot
client for ten minutes: two small reads per warm worker, not per lead.

The score properties are not optional: they are Switchboard's own custom properties
(``apps.hubspot.properties.CUSTOM_PROPERTIES``) and a portal without them is a setup error that must
surface (DLQ with ``PROPERTY_DOESNT_EXIST``), not be skipped.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from apps.hubspot.client import HubSpotClient

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["CACHE_TTL_S", "OPTIONAL_PROPERTIES", "WritableProperties", "writable_properties"]

#: HubSpot default contact properties this integration fills when the portal has them.
OPTIONAL_PROPERTIES: Final = ("industry", "numemployees")
CACHE_TTL_S: Final = 600.0

#: Property name -> the option values it takes (a dropdown), or ``None`` (free text).
WritableProperties = Mapping[str, frozenset[str] | None]

_cache: weakref.WeakKeyDictionary[ApiClient, tuple[float, WritableProperties]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def writable_properties(api: ApiClient, *, clock: Callable[[], float] = time.monotonic) -> WritableProperties:
    """The optional properties the portal behind ``api`` has and lets us write (cached)."""
    with _lock:
        cached = _cache.get(api)
        if cached is not None and cached[0] > clock():
            return cached[1]
        client = HubSpotClient(api)
        found: dict[str, frozenset[str] | None] = {}
        for name in OPTIONAL_PROPERTIES:
            prop = client.get_property(name)
            if prop is not None and not prop.modification_metadata.read_only_value:
                enumeration = prop.type == "enumeration"
                found[name] = (
                    frozenset(o.value for o in prop.options if not o.hidden) if enumeration else None
                )
        _cache[api] = (clock() + CACHE_TTL_S, found)
        return found
