"""Only the holder of the relay lease sends; a borrowed lease is let go after
each relay, even one that fails (else `lethe relay` could never take it)."""

from __future__ import annotations

import threading

import pytest

from lethe.ops.runtime.relayer import LeasedRelay, follow


class FakeLease:
    def __init__(self, free: bool) -> None:
        self.free = free
        self.holding = False
        self.let_go_calls = 0

    def held(self) -> bool:
        self.holding = self.holding or self.free
        return self.holding

    def let_go(self) -> None:
        self.let_go_calls += 1
        self.holding = False

    def release(self) -> None:
        self.holding = False


class CountingRelay:
    def __init__(self, pages: list[int], fail: bool = False) -> None:
        self.pages, self.fail, self.calls = pages, fail, 0

    def relay_pending(self, limit: int | None = None) -> int:
        self.calls += 1
        if self.fail:
            raise RuntimeError("broker down")
        return self.pages.pop(0) if self.pages else 0


def test_a_relay_without_the_lease_sends_nothing() -> None:
    relay = CountingRelay([5])
    assert LeasedRelay(relay, FakeLease(free=False), borrowed=True).relay_pending() == 0
    assert relay.calls == 0


def test_a_borrowed_lease_is_let_go_after_each_relay_even_a_failed_one() -> None:
    lease = FakeLease(free=True)
    leased = LeasedRelay(CountingRelay([3]), lease, borrowed=True)
    assert leased.relay_pending() == 3
    assert (lease.holding, lease.let_go_calls) == (False, 1)
    failing = LeasedRelay(CountingRelay([], fail=True), lease, borrowed=True)
    with pytest.raises(RuntimeError, match="broker down"):
        failing.relay_pending()
    assert (lease.holding, lease.let_go_calls) == (False, 2)


def test_a_dedicated_relay_keeps_its_lease() -> None:
    lease = FakeLease(free=True)
    leased = LeasedRelay(CountingRelay([2, 1]), lease, borrowed=False)
    assert leased.relay_pending() + leased.relay_pending() == 3
    assert (lease.holding, lease.let_go_calls) == (True, 0)


def test_follow_sends_until_stopped_and_waits_only_when_idle() -> None:
    stop = threading.Event()
    relay = CountingRelay([4, 6])

    class StopWhenIdle(CountingRelay):
        def relay_pending(self, limit: int | None = None) -> int:
            sent = relay.relay_pending(limit)
            if not sent:
                stop.set()
            return sent

    leased = LeasedRelay(StopWhenIdle([]), FakeLease(free=True), borrowed=False)
    assert follow(leased, stop, interval_s=0.01) == 10
    assert relay.calls == 3  # two pages back to back, then the idle look
