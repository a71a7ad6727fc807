"""The flow map: triggers -> integration -> targets and emitted events -> consuming integrations.

The graph is the specs' (:func:`shared.registry.load_specs`), nothing else: each trigger feeds its
integration; an integration calls the apps of its ``api``/``oauth2`` connections (and SES when it sends
email); what it ``emits`` goes to every integration with a bus trigger for that type. The edges carry
the day's counts from the event index: events per trigger, events processed per integration (what
reached its targets), emitted events (``emit.<type>`` steps) and the consumers' bus-fed events.

The picture is an SVG laid out here in columns - sources, integrations, targets and events - drawn by
the template, so the page needs no script; the same edges are listed as a table below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from infra.console.events import EventRow
from shared.registry import load_specs
from shared.spec import BusTrigger, FormTrigger, RouteTrigger, ScheduleTrigger, WebhookTrigger

__all__ = ["Edge", "FlowMap", "Node", "flow_map"]

_COLUMNS = (10, 300, 560)
_WIDTHS = (260, 200, 220)
_ROW = 40
_HEIGHT = 28


@dataclass
class Node:
    id: str
    label: str
    kind: str
    column: int
    row: float = 0.0

    @property
    def x(self) -> int:
        return _COLUMNS[self.column]

    @property
    def y(self) -> int:
        return 20 + round(self.row * _ROW)

    @property
    def width(self) -> int:
        return _WIDTHS[self.column]

    @property
    def height(self) -> int:
        return _HEIGHT


@dataclass
class Edge:
    source: Node
    target: Node
    count: int | None
    what: str

    @property
    def path(self) -> str:
        """A cubic curve from the side of one node to the side of the other."""
        forward = self.target.x > self.source.x
        x1 = self.source.x + self.source.width if forward else self.source.x
        x2 = self.target.x if forward else self.target.x + self.target.width
        y1 = self.source.y + _HEIGHT // 2
        y2 = self.target.y + _HEIGHT // 2
        bend = max(40, abs(x2 - x1) // 2)
        c1 = x1 + bend if forward else x1 - bend
        c2 = x2 - bend if forward else x2 + bend
        if not forward:  # events loop back to a consumer: bend around the right-hand side
            c1, c2 = x1 + 60, x2 + 60
        return f"M{x1},{y1} C{c1},{y1} {c2},{y2} {x2},{y2}"

    @property
    def label_x(self) -> int:
        return (self.source.x + self.source.width + self.target.x) // 2

    @property
    def label_y(self) -> int:
        return (self.source.y + self.target.y) // 2 + _HEIGHT // 2 - 4


@dataclass
class FlowMap:
    nodes: list[Node]
    edges: list[Edge]

    @property
    def width(self) -> int:
        return _COLUMNS[-1] + _WIDTHS[-1] + 80

    @property
    def height(self) -> int:
        return 40 + round((max((n.row for n in self.nodes), default=0.0) + 1) * _ROW)


def _lay_out(nodes: list[Node], edges: list[Edge]) -> None:
    """Rows: sources in order, each integration level with its sources (below the one before it),
    targets and events spread over the same height."""
    sources = [n for n in nodes if n.column == 0]
    for position, n in enumerate(sources):
        n.row = float(position)
    last = -1.0
    for n in (n for n in nodes if n.column == 1):
        feeding = [e.source.row for e in edges if e.target is n and e.source.column == 0]
        n.row = max(sum(feeding) / len(feeding) if feeding else last + 1, last + 1)
        last = n.row
    height = max(last, len(sources) - 1.0, 0.0)
    right = [n for n in nodes if n.column == 2]
    for position, n in enumerate(right):
        n.row = position * height / max(len(right) - 1, 1)


def _trigger_label(trigger: object) -> str:
    if isinstance(trigger, WebhookTrigger | FormTrigger):
        return f"{trigger.method} {trigger.path}"
    if isinstance(trigger, RouteTrigger):
        return f"{trigger.method} {trigger.path} (answers)"
    if isinstance(trigger, ScheduleTrigger):
        return f"schedule {trigger.expression}"
    return str(getattr(trigger, "name", "?"))


def flow_map(rows: Sequence[EventRow]) -> FlowMap:
    """The graph with the counts of ``rows`` (the day's events)."""
    specs = load_specs()
    nodes: dict[str, Node] = {}
    edges: list[Edge] = []

    def node(key: str, label: str, kind: str, column: int) -> Node:
        if key not in nodes:
            nodes[key] = Node(key, label, kind, column)
        return nodes[key]

    by_integration: dict[str, list[EventRow]] = {}
    for row in rows:
        by_integration.setdefault(row.integration, []).append(row)
    for spec in specs:
        mine = by_integration.get(spec.name, [])
        box = node(f"integration:{spec.name}", spec.name, "integration", 1)
        fed = [t for t in spec.triggers if not isinstance(t, BusTrigger)]
        # Scheduled and bus events have no ingress line naming their trigger: a lone schedule takes them.
        scheduled = [t for t in fed if isinstance(t, ScheduleTrigger)]
        bus_fed = any(isinstance(t, BusTrigger) for t in spec.triggers)
        lone = scheduled[0] if len(scheduled) == 1 and not bus_fed else None
        for trigger in fed:
            source = node(f"trigger:{spec.name}.{trigger.name}", _trigger_label(trigger), "trigger", 0)
            if isinstance(trigger, RouteTrigger):
                count: int | None = None
            else:
                count = sum(1 for r in mine if r.trigger == trigger.name)
                if trigger is lone:
                    count += sum(1 for r in mine if not r.trigger)
            edges.append(Edge(source, box, count, f"events via {trigger.name}"))
        apps = sorted({c.app for c in spec.all_connections if c.kind in ("api", "oauth2")})
        if spec.email is not None:
            apps.append("ses")
        processed = sum(1 for r in mine if r.status in ("processed", "duplicate"))
        for app in apps:
            edges.append(Edge(box, node(f"app:{app}", app, "app", 2), processed, "events processed"))
        for detail_type in spec.emits:
            emitted = sum(1 for r in mine if f"emit.{detail_type}" in r.steps)
            edges.append(
                Edge(box, node(f"event:{detail_type}", detail_type, "event", 2), emitted, "events emitted")
            )
    for spec in specs:
        mine = by_integration.get(spec.name, [])
        for bus in (t for t in spec.triggers if isinstance(t, BusTrigger)):
            consumed = sum(1 for r in mine if not r.trigger)
            for detail_type in bus.detail_types:
                source = node(f"event:{detail_type}", detail_type, "event", 2)
                edges.append(
                    Edge(source, nodes[f"integration:{spec.name}"], consumed, f"events via {bus.name}")
                )
    _lay_out(list(nodes.values()), edges)
    return FlowMap(list(nodes.values()), edges)
