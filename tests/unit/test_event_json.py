"""The fast mapper (domain/event_json.py) stores what eventsourcing's mapper stores.

For random flat and nested states, and for every event a run of the real
application makes, `FastMapper.to_stored_event` must return the generic
`Mapper.to_stored_event`'s stored event, byte for byte, or raise the same error.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import JSONTranscoder, Mapper
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from lethe.domain.application import Lethe
from lethe.domain.event_json import FastMapper
from lethe.domain.item import Outcome
from lethe.policies import load_shipped
from tests.support.fakes import FakeSubjectVault
from tests.unit import test_lifecycle_properties as lifecycle
from tests.unit.test_lifecycle_properties import ItemLives

APP = Lethe(
    env={"PERSISTENCE_MODULE": "eventsourcing.popo"},
    policies={"sector-alarm": load_shipped("sector-alarm")},
    vault=FakeSubjectVault(),
)
TRANSCODER = APP.mapper.transcoder
GENERIC: Mapper[UUID] = Mapper(TRANSCODER)
FAST: FastMapper[UUID] = FastMapper(TRANSCODER)  # one: its key cache grows


class Flat:
    """An event of class version 1: no `class_version` stored."""


class FlatV3:
    class_version = 3


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    ONE = 1


class Stamp(datetime):
    """A datetime subclass: the transcoder has no transcoding for it."""


class Name(str):
    pass


def event(cls: type, state: dict[str, Any]) -> Any:
    made = object.__new__(cls)
    made.__dict__.update(originator_id=uuid4(), originator_version=7, **state)
    return made


def outcome(mapper: Mapper[UUID], domain_event: Any) -> tuple[str, Any]:
    try:
        stored = mapper.to_stored_event(domain_event)
    except Exception as error:  # the same class of error, from either path
        return "raised", type(error)
    return "stored", stored


TRICKY = st.sampled_from(
    ["", "\x00", "\x1f", "\x7f", '"', "\\", "\u2028", "\u2029", "é", "𝄞", "\ud800"]
)
TEXT = (
    st.text()
    | st.text(st.characters(exclude_categories=()))  # with lone surrogates
    | st.lists(TRICKY).map("".join)
)
OFFSET = st.timedeltas(
    min_value=-timedelta(hours=23, minutes=59),
    max_value=timedelta(hours=23, minutes=59),
)
ZONE = st.none() | st.just(UTC) | st.builds(timezone, OFFSET)
INSTANT = st.builds(
    lambda at, zone, fold: at.replace(tzinfo=zone, fold=fold),
    st.datetimes(),  # years 1 to 9999
    ZONE,
    st.sampled_from([0, 1]),
)
FLAT = (
    TEXT
    | st.integers()
    | st.integers(-(2**200), 2**200)
    | st.booleans()
    | st.none()
    | st.floats()  # NaN and the infinities are left to json
    | INSTANT
)
ODD = (
    st.uuids()
    | st.decimals(allow_nan=False)
    | st.binary(max_size=8)
    | st.just(Colour.RED)
    | st.just(Level.ONE)
    | st.builds(Name, st.text(max_size=4))
    | st.builds(Stamp, st.integers(1, 9999), st.just(1), st.just(1))
    | st.dates()  # not registered: the generic path raises
)
NESTED = st.recursive(
    FLAT | ODD,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(TEXT, inner, max_size=3)
    ),
    max_leaves=6,
)
KEYS = TEXT.filter(lambda key: key not in ("originator_id", "originator_version"))


def assert_both_store_the_same(cls: type, state: dict[str, Any]) -> None:
    made = event(cls, state)
    generic = outcome(GENERIC, made)
    assert outcome(FAST, made) == generic
    assert outcome(FastMapper(TRANSCODER), made) == generic  # before keys are known


@settings(max_examples=400, deadline=None)
@given(
    cls=st.sampled_from([Flat, FlatV3]),
    state=st.dictionaries(KEYS, FLAT, max_size=12),
)
@example(Flat, {"at": datetime(1, 1, 1), "end": datetime.max.replace(tzinfo=UTC)})
@example(Flat, {"at": datetime(2026, 3, 1, 12, tzinfo=UTC), "n": 0})
@example(Flat, {"s": "\ud800"})
@example(FlatV3, {"class_version": 1, "x": True})
@example(Flat, {})
def test_flat_states_are_stored_as_the_generic_mapper_stores_them(
    cls: type, state: dict[str, Any]
) -> None:
    assert_both_store_the_same(cls, state)


@settings(max_examples=300, deadline=None)
@given(
    cls=st.sampled_from([Flat, FlatV3]),
    state=st.dictionaries(KEYS, NESTED, max_size=6),
)
def test_any_other_state_is_left_to_the_generic_mapper(
    cls: type, state: dict[str, Any]
) -> None:
    assert_both_store_the_same(cls, state)


def test_an_int_too_long_to_write_raises_as_the_generic_mapper_does() -> None:
    state = {"n": 10**5000}
    assert outcome(FAST, event(Flat, state)) == ("raised", ValueError)
    assert_both_store_the_same(Flat, state)


def test_a_lone_surrogate_raises_a_unicode_encode_error_on_both_paths() -> None:
    for state in ({"s": "a\udfffb"}, {"\ud800": 1}):
        assert outcome(FAST, event(Flat, state)) == ("raised", UnicodeEncodeError)
        assert_both_store_the_same(Flat, state)


class Reversing:
    """A stand-in cipher: any transformation the generic path must apply."""

    def encrypt(self, data: bytes) -> bytes:
        return data[::-1]

    def decrypt(self, data: bytes) -> bytes:
        return data[::-1]


class Zlib:
    def compress(self, data: bytes) -> bytes:
        return zlib.compress(data)

    def decompress(self, data: bytes) -> bytes:
        return zlib.decompress(data)


@pytest.mark.parametrize(
    "extras",
    [{"cipher": Reversing()}, {"compressor": Zlib()}],
    ids=["cipher", "compressor"],
)
def test_a_cipher_or_compressor_takes_the_generic_path(extras: dict[str, Any]) -> None:
    made = event(Flat, {"at": datetime(2026, 3, 1, tzinfo=UTC), "s": "x"})
    fast = FastMapper(TRANSCODER, **extras).to_stored_event(made)
    assert fast == Mapper(TRANSCODER, **extras).to_stored_event(made)


def test_a_datetime_transcoding_registered_later_is_followed() -> None:
    transcoder = JSONTranscoder()
    mapper: FastMapper[UUID] = FastMapper(transcoder)
    made = event(Flat, {"at": datetime(2026, 3, 1, tzinfo=UTC)})
    assert outcome(mapper, made) == outcome(Mapper(transcoder), made)  # both raise
    APP.register_transcodings(transcoder)
    assert mapper.to_stored_event(made) == Mapper(transcoder).to_stored_event(made)


def test_every_lethe_app_uses_the_fast_mapper() -> None:
    assert type(APP.mapper) is FastMapper
    assert APP.events.mapper is APP.mapper


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[bool]]]:
    """Every event the app stores meanwhile, checked against the generic mapper;
    yields, by event class, whether each one took the fast path."""
    seen: dict[str, list[bool]] = {}
    store, encode = FastMapper.to_stored_event, FastMapper._encode
    fast = [0]

    def counted(self: Any, state: dict[str, Any], values: Any) -> Any:
        encoded = encode(self, state, values)
        fast[0] += encoded is not None
        return encoded

    def checked(self: Any, domain_event: Any) -> Any:
        before = fast[0]
        stored = store(self, domain_event)
        assert stored == Mapper.to_stored_event(self, domain_event)
        seen.setdefault(type(domain_event).__qualname__, []).append(fast[0] > before)
        return stored

    monkeypatch.setattr(FastMapper, "_encode", counted)
    monkeypatch.setattr(FastMapper, "to_stored_event", checked)
    yield seen


def test_every_event_of_a_scripted_life_is_stored_as_generic_would(
    compared: dict[str, list[bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest, holds and restrictions, sweeps, answers, a subject's erasure, a
    redelivery: the real application on SQLite, as test_lifecycle_properties runs it."""
    # Its rules note what they saw for Hypothesis's statistics: only inside a test.
    monkeypatch.setattr(lifecycle, "seen", lambda *_args: None)
    lives = ItemLives()
    lives.start()
    try:
        lives.ingest("cust-A", "alarm-event", timedelta(days=800), False, 3, True)
        lives.ingest("cust-B", "verification-image", timedelta(0), True, 2, False)
        lives.stop_item(0, "hold", "POL-1", True)
        lives.stop_subject("cust-B", "restriction", "POL-2", True)
        lives.sweep(timedelta(hours=1), True)
        lives.free_item(0, "hold", True)
        lives.free_subject("cust-B", "restriction", False)
        lives.relationship("cust-B", True, timedelta(days=800), True)
        lives.sweep(timedelta(days=1), True)
        lives.confirm(1, Outcome.DELETED)
        lives.request_erasure("cust-A", True)
        lives.sweep(timedelta(days=40), True)
        lives.confirm(0, Outcome.NOT_FOUND)
        lives.redeliver(1, True)
        lives.sweep(timedelta(days=1), True)
    finally:
        lives.teardown()
    for needed in (
        "Item.Ingested",
        "Item.ErasureOrdered",
        "Item.Erased",
        "Subject.ErasureRequested",
        "Sweep.Recorded",
    ):
        assert needed in compared, sorted(compared)
    # The hot events take the fast path.
    for hot in ("Item.Ingested", "Item.ErasureOrdered", "Sweep.Recorded"):
        assert all(compared[hot]), (hot, compared[hot])


def test_every_event_of_random_lives_is_stored_as_generic_would(
    compared: dict[str, list[bool]],
) -> None:
    run_state_machine_as_test(
        ItemLives,
        settings=settings(
            max_examples=10,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    assert "Item.Ingested" in compared
    print({name: f"{sum(fast)}/{len(fast)}" for name, fast in sorted(compared.items())})
