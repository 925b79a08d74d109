"""The event classes declared for mypy are the ones eventsourcing builds at runtime.

`Item` and `Subject` declare, under `if TYPE_CHECKING:`, the events that
`@event("Name")` creates from a method's signature: the type checker cannot see
those. A declaration that drifts from its method would make mypy vouch for fields
the stored event does not have, so this reads each declaration from the source and
compares it with the runtime class.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest
from eventsourcing.domain import Aggregate, DomainEvent

from lethe.domain.item import Item
from lethe.domain.policy_change import PolicyRecord
from lethe.domain.subject import Subject
from lethe.domain.sweep import Sweep

AGGREGATES = [Item, Subject, Sweep, PolicyRecord]


def _runtime_events(aggregate: type) -> dict[str, type]:
    """The event classes nested in the aggregate, as eventsourcing made them."""
    return {
        name: value
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, DomainEvent)
        and name not in ("Event", "Created")
    }


def _declared_events(aggregate: type) -> dict[str, ast.ClassDef]:
    """Every event class the aggregate's body declares, plainly or for mypy only."""
    tree = ast.parse(inspect.getsource(inspect.getmodule(aggregate)))
    body = next(
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name == aggregate.__name__
    )
    declared: dict[str, ast.ClassDef] = {}
    for node in body.body:
        nodes = node.body if isinstance(node, ast.If) else [node]
        declared.update({c.name: c for c in nodes if isinstance(c, ast.ClassDef)})
    return declared


def _fields(declaration: ast.ClassDef) -> list[str]:
    return [
        statement.target.id
        for statement in declaration.body
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.target.id != "class_version"
    ]


def _own_fields(event: type) -> list[str]:
    base = Aggregate.Created if issubclass(event, Aggregate.Created) else DomainEvent
    inherited = {f.name for f in dataclasses.fields(base)}
    return [f.name for f in dataclasses.fields(event) if f.name not in inherited]


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_every_runtime_event_is_declared_with_its_fields_in_order(
    aggregate: type,
) -> None:
    declared = _declared_events(aggregate)
    runtime = _runtime_events(aggregate)
    assert sorted(runtime) == sorted(declared)
    for name, event in runtime.items():
        assert _fields(declared[name]) == _own_fields(event), name


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_created_events_are_declared_as_created(aggregate: type) -> None:
    # mypy must see `originator_topic` on the creation event and only there.
    declared = _declared_events(aggregate)
    for name, event in _runtime_events(aggregate).items():
        bases = [ast.unparse(b) for b in declared[name].bases]
        is_created = issubclass(event, Aggregate.Created)
        assert ("Aggregate.Created" in bases) == is_created, name


@pytest.mark.parametrize("aggregate", AGGREGATES, ids=lambda a: a.__name__)
def test_stored_topics_name_the_aggregate_and_event(aggregate: type) -> None:
    # The topic is the stored contract: `module:Aggregate.Event`.
    for name, event in _runtime_events(aggregate).items():
        topic = f"{event.__module__}:{event.__qualname__}"
        assert topic == f"{aggregate.__module__}:{aggregate.__name__}.{name}"
