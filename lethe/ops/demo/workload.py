"""Synthetic alarm-centre day: customers arming, alarms with images, calls, departures.

Records are contract-shaped dicts (the Avro values), keyed by topic, so the demo
and the benchmarks publish exactly what a real pipeline would. Deterministic
for a given seed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS, IMAGES, RECORDINGS = "alarm.events.v1", "alarm.images.v1", "alarm.recordings.v1"
LIFECYCLE = "customer.lifecycle.v1"
COMMANDS = "lethe.commands.v1"


@dataclass(frozen=True)
class Outbound:
    topic: str
    key: str
    record: str  # the schema's short name
    value: dict[str, Any]


@dataclass
class DayShape:
    customers: int = 200
    controller: str = "sector-alarm"
    armings_per_day: tuple[int, int] = (2, 4)
    alarm_probability: float = 0.08
    images_per_alarm: tuple[int, int] = (3, 10)
    police_probability: float = 0.1
    service_call_probability: float = 0.05
    departure_probability: float = 0.01
    # Operator commands: 0 keeps the day (and its random draws) as it was.
    police_hold_probability: float = 0.0  # per alarm: a hold on the alarm event
    erasure_request_probability: float = 0.0  # per customer: GDPR art. 17
    seed: int = 7


def synthetic_day(
    day: datetime, shape: DayShape, blob_root: Path | None = None
) -> Iterator[Outbound]:
    """Every record an ARC would publish on `day`, in time order.

    `day` is an aware datetime at local midnight.
    """
    rng = random.Random(shape.seed)
    out: list[tuple[datetime, Outbound]] = []
    for n in range(shape.customers):
        customer = _Customer(f"cust-{shape.seed}-{n:06d}", shape, rng, day, blob_root)
        out.extend(customer.records())
    out.sort(key=lambda pair: pair[0])
    for _, outbound in out:
        yield outbound


class _Customer:
    def __init__(
        self,
        subject_id: str,
        shape: DayShape,
        rng: random.Random,
        day: datetime,
        blob_root: Path | None,
    ) -> None:
        self.subject_id, self.shape, self.rng, self.day = subject_id, shape, rng, day
        self.blob_root = blob_root
        self.serial = 0
        # Item ids must not carry the customer's id: Lethe logs item ids, and an
        # id made of the customer's would put it in every log line (the suite's
        # leak scan found the demo doing so). An opaque token a customer, from an
        # rng of its own so the day's draws stay what they were.
        self.token = (
            f"{random.Random(f'{shape.seed}/{subject_id}').getrandbits(48):012x}"
        )

    def records(self) -> list[tuple[datetime, Outbound]]:
        records = [
            self._arming(i)
            for i in range(self.rng.randint(*self.shape.armings_per_day))
        ]
        if self.rng.random() < self.shape.alarm_probability:
            records.extend(self._alarm())
        if self.rng.random() < self.shape.service_call_probability:
            records.append(self._call("CUSTOMER_SERVICE", self._moment()))
        if self.rng.random() < self.shape.departure_probability:
            records.append(self._departure())
        if self._draw(self.shape.erasure_request_probability):
            records.append(self._erasure_request())
        return records

    def _draw(self, probability: float) -> bool:
        # No draw at 0, so a shape without commands yields the same day as before.
        return probability > 0 and self.rng.random() < probability

    def _moment(self) -> datetime:
        return self.day + timedelta(seconds=self.rng.randrange(86_400))

    def _item_id(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}-{self.token}-{self.serial:04d}"

    def _metadata(
        self, category: str, at: datetime, police: bool = False
    ) -> dict[str, Any]:
        return {
            "controller": self.shape.controller,
            "category": category,
            "subject_id": self.subject_id,
            "site_id": None,
            "captured_at": at,
            "police_relevant": police,
            "legal_basis": None,
        }

    def _arming(self, _i: int) -> tuple[datetime, Outbound]:
        at, item_id = self._moment(), self._item_id("arm")
        value = {
            "item_id": item_id,
            "event_code": self.rng.choice(["CL", "OP"]),
            "zone": None,
            "metadata": self._metadata("arming-log", at),
        }
        return at, Outbound(EVENTS, item_id, "AlarmEvent", value)

    def _alarm(self) -> list[tuple[datetime, Outbound]]:
        at, alarm_id = self._moment(), self._item_id("alarm")
        police = self.rng.random() < self.shape.police_probability
        event = {
            "item_id": alarm_id,
            "event_code": "BA",
            "zone": f"{self.rng.randint(1, 12):02d}",
            "metadata": self._metadata("alarm-event", at),
        }
        records = [(at, Outbound(EVENTS, alarm_id, "AlarmEvent", event))]
        for k in range(self.rng.randint(*self.shape.images_per_alarm)):
            records.append(self._image(alarm_id, at + timedelta(seconds=2 * k), police))
        records.append(self._call("ALARM_CENTRAL", at + timedelta(seconds=40)))
        if self._draw(self.shape.police_hold_probability):
            records.append(self._hold(alarm_id, at + timedelta(minutes=30)))
        return records

    def _image(
        self, alarm_id: str, at: datetime, police: bool
    ) -> tuple[datetime, Outbound]:
        item_id = self._item_id("img")
        uri, sha, size = self._blob(item_id, "jpg")
        value = {
            "item_id": item_id,
            "alarm_item_id": alarm_id,
            "blob_uri": uri,
            "sha256": sha,
            "content_type": "image/jpeg",
            "size_bytes": size,
            "metadata": self._metadata("verification-image", at, police),
        }
        return at, Outbound(IMAGES, item_id, "VerificationImage", value)

    def _call(self, line: str, at: datetime) -> tuple[datetime, Outbound]:
        item_id = self._item_id("call")
        uri, sha, _ = self._blob(item_id, "opus")
        category = (
            "alarm-call-recording"
            if line == "ALARM_CENTRAL"
            else "service-call-recording"
        )
        value = {
            "item_id": item_id,
            "line": line,
            "blob_uri": uri,
            "sha256": sha,
            "duration_ms": self.rng.randint(20_000, 400_000),
            "metadata": self._metadata(category, at),
        }
        return at, Outbound(RECORDINGS, item_id, "CallRecording", value)

    def _departure(self) -> tuple[datetime, Outbound]:
        at = self._moment()
        value = {
            "subject_id": self.subject_id,
            "controller": self.shape.controller,
            "kind": "RELATIONSHIP_ENDED",
            "occurred_at": at,
        }
        return at, Outbound(LIFECYCLE, self.subject_id, "CustomerLifecycle", value)

    def _hold(self, alarm_id: str, at: datetime) -> tuple[datetime, Outbound]:
        case = f"POL-{alarm_id}"
        value = self._command(
            f"hold-{alarm_id}",
            "PLACE_HOLD",
            at,
            item_id=alarm_id,
            reason="police request",
            case_ref=case,
        )
        return at, Outbound(COMMANDS, alarm_id, "LetheCommand", value)

    def _erasure_request(self) -> tuple[datetime, Outbound]:
        at = self._moment()
        value = self._command(
            f"erase-{self.subject_id}",
            "ERASE_SUBJECT",
            at,
            subject_id=self.subject_id,
            reason="GDPR art. 17 request",
        )
        return at, Outbound(COMMANDS, self.subject_id, "LetheCommand", value)

    def _command(
        self,
        command_id: str,
        kind: str,
        at: datetime,
        *,
        reason: str,
        item_id: str | None = None,
        subject_id: str | None = None,
        case_ref: str | None = None,
    ) -> dict[str, Any]:
        return {
            "command_id": command_id,
            "kind": kind,
            "controller": self.shape.controller,
            "subject_id": subject_id,
            "item_id": item_id,
            "reason": reason,
            "case_ref": case_ref,
            "requested_by": "arc-operator",
            "requested_at": at,
        }

    def _blob(self, item_id: str, suffix: str) -> tuple[str, str, int]:
        # Synthetic bytes, never real media: the demo's eraser deletes these files.
        content = hashlib.sha256(item_id.encode()).digest() * 8
        sha = hashlib.sha256(content).hexdigest()
        if self.blob_root is None:
            return f"s3://arc-media/{item_id}.{suffix}", sha, len(content)
        path = self.blob_root / f"{item_id}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        return path.resolve().as_uri(), sha, len(content)
