"""Kafka inputs are authenticated: only registered keys of the right role act.

Unsigned, forged, tampered, revoked and wrong-role commands and confirmations
go to the dead-letter topic with the reason, and the next good record is taken;
a forged erasure order makes the reference eraser delete nothing.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kafka import KafkaConsumer, KafkaProducer

from lethe.consumers.codec import Catalogue
from lethe.consumers.deadletter import REASON
from lethe.consumers.signatures import Signer, SignerRole
from lethe.domain.item import ErasureCause, ItemState
from lethe.ops.eraser.files import CONFIRMATIONS_TOPIC, EraserLoop, FileEraser
from lethe.ops.kafka.produce import LetheProducer
from lethe.ops.kafka.relay import ORDERS_TOPIC
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.signing import Keyring, SigningProducer, public_raw
from lethe.ops.kafka.topics import TopicSettings
from lethe.ops.runtime.bootstrap import build_runtime
from lethe.ops.runtime.signers import SignerStore
from lethe.ops.settings import Settings
from tests.support.consuming import one_partition_fixtures
from tests.support.ingest import (
    Consuming,
    metadata,
    producer_for,
    read_topic,
)
from tests.support.signing import (
    TEST_PIPELINE,
    lethe_key_of,
    signing_as_lethe,
    signing_as_store,
    store_signer,
)

pytestmark = pytest.mark.integration

IMAGES, COMMANDS = "alarm.images.v1", "lethe.commands.v1"
CONFIRMATIONS, DLQ = "lethe.erasure-confirmations.v1", "lethe.dlq.v1"
SUBJECT = "cust-signed-1"


env, consuming = one_partition_fixtures("signed")


def image_file(root: Path, item_id: str) -> tuple[Path, str]:
    path = root / f"{item_id}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"jpeg bytes of {item_id}".encode())
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def ingest_image(
    env: dict[str, str], consuming: Consuming, item_id: str, root: Path
) -> Path:
    path, sha = image_file(root, item_id)
    with producer_for(env) as producer:
        producer.send_image(
            item_id,
            metadata(SUBJECT, "verification-image"),
            blob_uri=path.as_uri(),
            sha256=sha,
            content_type="image/jpeg",
            size_bytes=path.stat().st_size,
        )
    consuming.run_until(lambda: consuming.app.find_item(item_id) is not None)
    return path


def producer_signing_with(
    env: dict[str, str], keyring: Keyring | None
) -> LetheProducer:
    return LetheProducer(
        KafkaClientSettings.from_mapping(env),
        TopicSettings.from_env(env),
        keyring=keyring,
    )


def hold(producer: LetheProducer, command_id: str, item_id: str, case: str) -> None:
    producer.send_command(
        command_id, "PLACE_HOLD", "sector-alarm", reason="police case",
        requested_by="intruder", requested_at=datetime.now(UTC) - timedelta(seconds=5),
        item_id=item_id, case_ref=case,
    )  # fmt: skip


def register(env: dict[str, str], signer: Signer, role: SignerRole) -> SignerStore:
    runtime = build_runtime(Settings.from_env(env))
    store = SignerStore(runtime.views)
    store.owner = runtime  # the views' pool closes with the runtime
    raw = public_raw(signer.private_key.public_key())
    store.add(signer.name, role, raw, "test", datetime.now(UTC))
    return store


def dead_reasons(env: dict[str, str], consuming: Consuming, count: int) -> list[str]:
    letters = read_topic(
        env["LETHE_KAFKA_BOOTSTRAP"], consuming.name(DLQ), count, settle=1.0
    )
    return [dict(r.headers)[REASON].decode() for r in letters]


def test_only_a_registered_pipeline_key_places_a_hold_and_it_is_the_recorded_actor(
    env: dict[str, str], consuming: Consuming, tmp_path: Path
) -> None:
    ingest_image(env, consuming, "img-s1", tmp_path)
    stranger = Signer("stranger", Ed25519PrivateKey.generate())
    revoked = Signer("old-pipeline", Ed25519PrivateKey.generate())
    store = register(env, revoked, SignerRole.PIPELINE)
    store.revoke(revoked.key_id, "test", datetime.now(UTC))

    with producer_signing_with(env, None) as unsigned:
        hold(unsigned, "c-unsigned", "img-s1", "case-1")
    with producer_signing_with(env, Keyring(stranger)) as forged:
        hold(forged, "c-forged", "img-s1", "case-2")
    with producer_signing_with(env, Keyring(revoked)) as old:
        hold(old, "c-revoked", "img-s1", "case-3")
    # A store's key is registered, but a store does not give commands.
    with producer_signing_with(env, Keyring(store_signer("images"))) as wrong_role:
        hold(wrong_role, "c-wrong-role", "img-s1", "case-4")
    tampered_with(env, "img-s1")
    with producer_for(env) as good:
        hold(good, "c-good", "img-s1", "case-good")
    consuming.take_through(COMMANDS, 5)

    reasons = dead_reasons(env, consuming, 5)
    assert [r.split(":")[0] for r in reasons] == [
        "unsigned",
        f"signed with unknown key '{stranger.key_id}' (see `lethe signer list`)",
        f"signed with revoked key '{revoked.key_id}' (old-pipeline)",
        f"key '{store_signer('images').key_id}' (images) has role store; "
        "lethe.commands.v1 needs role pipeline",
        "bad signature",
    ]
    item = consuming.app.get_item("img-s1")
    assert list(item.holds) == ["case-good"]
    # The actor is the key that signed, not the free text the record carried.
    assert item.holds["case-good"]["by"] == f"pipeline:{TEST_PIPELINE.name}"


def tampered_with(env: dict[str, str], item_id: str) -> None:
    """A good pipeline's signature on a command, then the command changed."""
    with producer_for(env) as producer:
        value: dict[str, Any] = {
            "command_id": "c-tampered", "kind": "PLACE_HOLD",
            "controller": "sector-alarm", "subject_id": None, "item_id": item_id,
            "reason": "police case", "case_ref": "case-5", "requested_by": "x",
            "requested_at": datetime.now(UTC) - timedelta(seconds=5),
        }  # fmt: skip
        key, signed = producer.encode(COMMANDS, value)
        headers = TEST_PIPELINE.headers(COMMANDS, key, signed, datetime.now(UTC))
        _, changed = producer.encode(COMMANDS, {**value, "case_ref": "case-6"})
        topic = producer.topics.name(COMMANDS)
        producer.producer.send(topic, key=key, value=changed, headers=headers)


def as_images(signer: Signer) -> Keyring:
    """A keyring that signs the store "images"' confirmations with `signer`'s key."""
    return Keyring(stores=(Signer("images", signer.private_key),))


def test_a_forged_deleted_confirmation_records_no_erasure(
    env: dict[str, str], consuming: Consuming, tmp_path: Path
) -> None:
    ingest_image(env, consuming, "img-s2", tmp_path)
    now = datetime.now(UTC)
    order_id = consuming.app.order_erasure("img-s2", ErasureCause.SUBJECT_ERASURE, now)

    def deleted(producer: LetheProducer, store: str) -> None:
        producer.send_confirmation(order_id, "img-s2", store, "DELETED", now)

    with producer_signing_with(env, None) as unsigned:
        deleted(unsigned, "images")
    # A registered store answering for another store's blobs.
    with producer_signing_with(env, as_images(store_signer("backup"))) as other:
        deleted(other, "images")
    # The pipeline's key is registered, but a pipeline is not a store.
    with producer_signing_with(env, as_images(TEST_PIPELINE)) as pipeline:
        deleted(pipeline, "images")
    consuming.take_through(CONFIRMATIONS, 2)

    reasons = dead_reasons(env, consuming, 3)
    assert reasons[0].startswith("unsigned: lethe.erasure-confirmations.v1")
    assert reasons[1] == (
        "store 'backup' signed a confirmation for store 'images': "
        "a store confirms only its own erasures"
    )
    assert reasons[2] == (
        f"key '{TEST_PIPELINE.key_id}' (test-pipeline) has role pipeline; "
        "lethe.erasure-confirmations.v1 needs role store"
    )
    assert consuming.app.get_item("img-s2").state == ItemState.ERASURE_ORDERED

    with producer_for(env) as good:
        deleted(good, "images")
    consuming.take_through(CONFIRMATIONS, 3)
    assert consuming.app.get_item("img-s2").state == ItemState.ERASED


def test_a_forged_order_makes_the_eraser_delete_nothing_and_answer_nothing(
    env: dict[str, str], consuming: Consuming, tmp_path: Path
) -> None:
    root = tmp_path / "store"
    path = ingest_image(env, consuming, "img-s3", root)
    item = consuming.app.get_item("img-s3")
    topics, kafka = TopicSettings.from_env(env), KafkaClientSettings.from_mapping(env)
    order = {
        "order_id": "00000000-0000-5000-8000-000000000000", "item_id": "img-s3",
        "source_topic": topics.name(IMAGES), "category": "verification-image",
        "blob_uri": path.as_uri(), "sha256": item.sha256, "reason": "SUBJECT_ERASURE",
        "rule": "verification-image", "due_at": None,
        "ordered_at": datetime.now(UTC), "attempt": 1,
    }  # fmt: skip
    data = Catalogue.shipped().encode("ErasureOrder", order)
    orders = topics.name(ORDERS_TOPIC)
    raw = KafkaProducer(**kafka.producer_config())
    raw.send(orders, key=b"img-s3", value=data)  # unsigned
    forger = Signer("lethe", Ed25519PrivateKey.generate())
    SigningProducer(raw, forger, {orders: ORDERS_TOPIC}).send(
        orders, key=b"img-s3", value=data
    )
    raw.flush()

    loop, consumer = eraser_loop(env, root)
    try:
        assert run_eraser(loop, at_least=2) == 2
        assert path.exists()
        confirmations = topics.name(CONFIRMATIONS_TOPIC)
        assert (
            read_topic(env["LETHE_KAFKA_BOOTSTRAP"], confirmations, 0, timeout=2) == []
        )

        # The same order signed with Lethe's key is worked: the test can fail.
        signing_as_lethe(env, raw).send(orders, key=b"img-s3", value=data)
        raw.flush()
        assert run_eraser(loop, at_least=1) == 1
        assert not path.exists()
    finally:
        consumer.close(autocommit=False)
        raw.close()


def eraser_loop(env: dict[str, str], root: Path) -> tuple[EraserLoop, KafkaConsumer]:
    topics, kafka = TopicSettings.from_env(env), KafkaClientSettings.from_mapping(env)
    consumer = KafkaConsumer(**kafka.consumer_config(f"eraser-{topics.prefix}"))
    consumer.subscribe([topics.name(ORDERS_TOPIC)])
    producer = signing_as_store(env, KafkaProducer(**kafka.producer_config()), "images")
    loop = EraserLoop(
        consumer, producer, Catalogue.shipped(), FileEraser(root, "images"),
        topics.name(CONFIRMATIONS_TOPIC), lethe_key=lethe_key_of(env),
    )  # fmt: skip
    return loop, consumer


def run_eraser(loop: EraserLoop, at_least: int, polls: int = 100) -> int:
    seen = 0
    for _ in range(polls):
        seen += loop.run_once(timeout_ms=200)
        if seen >= at_least:
            break
    return seen
