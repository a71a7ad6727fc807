"""The stand-ins' data, saved and restored: what ``switchboard dev --keep`` carries over a restart.

What counts as an app's data is what :class:`~sandbox.base.SandboxApp`'s contract already says: the
attributes :meth:`~sandbox.base.SandboxApp.reset_data` (re)creates - HubSpot's contacts and its id
counter, QuickBooks' receipts, the calendar's events - plus the attributes of an app's parts that
``reset_data`` resets through them (the :class:`~sandbox.oauth.OAuthServer`'s tokens, whose
rotation must survive with the refresh token the runtime's secret holds). Nothing here lists them:
they are found by running ``reset_data`` on a fresh probe instance of the app's class and recording
the attributes it assigns. So a new stand-in, or a new attribute in one, is kept without a change
here - as long as ``reset_data`` assigns it (a container cleared in place would not be seen).

Everything else stays as the new instance made it: configuration from the constructor, the lock,
routes, webhook subscriptions (wiring: the runtime subscribes the senders again at start), queued
faults and the request log (``GET /_requests``).

The data is pickled (it holds dataclasses, tuples as keys, ``Decimal``, ``deque``...). A pickle
runs code when loaded: a snapshot is for the machine that wrote it, not for sharing.
"""

from __future__ import annotations

import io
import itertools
import pickle
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sandbox.base import SandboxApp

__all__ = [
    "AppData",
    "SnapshotShapeChanged",
    "capture",
    "check",
    "data_attributes",
    "dumps",
    "loads",
    "restore",
]

#: app name -> part ("" for the app itself, else the attribute holding the part) -> attribute -> value.
AppData = dict[str, dict[str, dict[str, Any]]]

_COUNT = re.compile(r"^count\((-?\d+)(?:, (-?\d+))?\)$")


class SnapshotShapeChanged(Exception):
    """The saved data does not fit today's stand-ins (their code changed since it was saved)."""


def data_attributes(app: SandboxApp) -> dict[str, tuple[str, ...]]:
    """``{"": (the app's data attributes), "<part>": (that part's)}``, found on a probe instance.

    The probe is a new instance of the app's class (every stand-in is built without arguments, as
    :func:`sandbox.registry.create_sandboxes` does); its class, and each part's, is swapped for a
    subclass that records assignments while ``reset_data`` runs, then swapped back.
    """
    probe = type(app)()
    holders: dict[str, Any] = {"": probe}
    holders.update({name: value for name, value in vars(probe).items() if _is_part(value)})
    seen: dict[str, list[str]] = {path: [] for path in holders}
    with _recording(holders, seen), probe.lock:
        probe.reset_data()
    return {path: tuple(dict.fromkeys(names)) for path, names in seen.items() if names}


def capture(apps: Mapping[str, SandboxApp]) -> AppData:
    """Each app's data attributes and their values, read under the app's lock."""
    out: AppData = {}
    for name, app in apps.items():
        wanted = data_attributes(app)
        with app.lock:
            out[name] = {
                path: {attr: getattr(_holder(app, path), attr) for attr in attrs}
                for path, attrs in wanted.items()
            }
    return out


def check(apps: Mapping[str, SandboxApp], saved: AppData) -> None:
    """:class:`SnapshotShapeChanged` unless ``saved`` holds exactly the data today's ``apps`` keep."""
    if set(saved) != set(apps):
        raise SnapshotShapeChanged(f"it holds the stand-ins {sorted(saved)}, the code has {sorted(apps)}")
    for name, app in apps.items():
        have = {path: sorted(values) for path, values in saved[name].items()}
        if have != {path: sorted(attrs) for path, attrs in data_attributes(app).items()}:
            raise SnapshotShapeChanged(f"the {name} stand-in keeps other data now than when it was saved")


def restore(apps: Mapping[str, SandboxApp], saved: AppData) -> None:
    """Put ``saved`` back into ``apps``: all of it, or - if its shape differs - none of it.

    Every app is checked before any is changed, so a refused snapshot leaves fresh stand-ins.
    """
    check(apps, saved)
    for name, app in apps.items():
        with app.lock:
            for path, values in saved[name].items():
                holder = _holder(app, path)
                for attr, value in values.items():
                    setattr(holder, attr, value)


def dumps(data: AppData) -> bytes:
    """Pickle ``data``; an ``itertools.count`` (id counters) is saved as its next value."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(data)
    return buffer.getvalue()


def loads(blob: bytes) -> AppData:
    """The data :func:`dumps` wrote; any unpickling error propagates to the caller to report."""
    data = pickle.loads(blob)  # noqa: S301 - our own file, written by dumps on this machine
    if not isinstance(data, dict):
        raise pickle.UnpicklingError(f"expected a dict of stand-ins, found {type(data).__name__}")
    return data


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, itertools.count):
            # Pickling a count is deprecated (Python 3.12) and gone in 3.14; its repr is its state.
            match = _COUNT.match(repr(obj))
            if match is None:
                raise pickle.PicklingError(f"cannot save {obj!r}: only integer counters are kept")
            start, step = int(match[1]), int(match[2] or 1)
            return itertools.count, (start, step)
        return NotImplemented


def _holder(app: SandboxApp, path: str) -> Any:
    return app if path == "" else getattr(app, path)


def _is_part(value: Any) -> bool:
    """An object of the project's own (an OAuth server, a webhook sender) that ``reset_data`` may reset."""
    module = type(value).__module__
    return hasattr(value, "__dict__") and module.split(".")[0] in ("sandbox", "apps") and not callable(value)


@contextmanager
def _recording(holders: Mapping[str, Any], seen: dict[str, list[str]]) -> Iterator[None]:
    swapped: list[tuple[Any, type]] = []
    try:
        for path, obj in holders.items():
            original = type(obj)
            names = seen[path]

            def record(
                self: Any, attr: str, value: Any, _names: list[str] = names, _cls: Any = original
            ) -> None:
                _names.append(attr)
                _cls.__setattr__(self, attr, value)

            try:
                obj.__class__ = type(f"_Recording{original.__name__}", (original,), {"__setattr__": record})
            except TypeError:
                continue  # a part whose class cannot be swapped (slots): not recorded
            swapped.append((obj, original))
        yield
    finally:
        for obj, original in swapped:
            object.__setattr__(obj, "__class__", original)  # not through the recorder
