"""`lethe run`: the consumers, projections on a timer, and a clean stop on a signal."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from lethe.consumers.batch import BatchTaker
from lethe.consumers.codec import Catalogue
from lethe.consumers.deadletter import DLQ_TOPIC, DeadLetters
from lethe.consumers.loop import ConsumeLoop
from lethe.domain.application import Lethe
from lethe.ops import logging as lethe_logging
from lethe.ops.kafka.offsets import BrokerOffsets
from lethe.ops.kafka.produce_check import contract_for
from lethe.ops.kafka.rdkafka import RdKafkaProducer
from lethe.ops.kafka.relay import Producer
from lethe.ops.kafka.settings import KafkaClientSettings
from lethe.ops.kafka.topics import TopicSettings, check_item_topics
from lethe.ops.runtime.bootstrap import build_app
from lethe.ops.runtime.heartbeat import Heartbeat
from lethe.ops.runtime.lease import lease_for
from lethe.ops.runtime.ledger import reapply_before_serving
from lethe.ops.runtime.lethe_key import lethe_signer, signing_orders
from lethe.ops.runtime.metrics import Metrics
from lethe.ops.runtime.metrics_server import start_metrics
from lethe.ops.runtime.preflight import describe_store
from lethe.ops.runtime.projector import Projector, at_start
from lethe.ops.runtime.relayer import LeasedRelay, follow, relay_lease, relays
from lethe.ops.runtime.signers import SignerStore
from lethe.ops.settings import Settings
from lethe.projections.aside import PartitionStates, set_aside_statement
from lethe.projections.dead_letters import DeadLetterNotes
from lethe.projections.store import SqlViews

POLL_TIMEOUT_MS = 500  # how soon a stop request is noticed when nothing arrives

log = lethe_logging.get_logger("lethe.run")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RunConfig:
    """Everything `lethe run` reads from the environment, read once."""

    settings: Settings
    kafka: KafkaClientSettings
    topics: TopicSettings

    @classmethod
    def from_env(cls, settings: Settings) -> RunConfig:
        env = settings.env or {}
        return cls(
            settings, KafkaClientSettings.from_mapping(env), TopicSettings.from_env(env)
        )


def build_app_at_start(settings: Settings) -> Lethe:
    return at_start(lambda: build_app(settings))


def build_loop(
    config: RunConfig,
    app: Lethe,
    consumer: KafkaConsumer,
    producer: KafkaProducer,
    clock: Callable[[], datetime] = now,
    offsets: BrokerOffsets | None = None,
    metrics: Metrics | None = None,
) -> ConsumeLoop:
    settings, topics = config.settings, config.topics
    # The same contract `lethe produce` checks records against before sending,
    # and the registered keys commands and confirmations must be signed with.
    contract = replace(
        contract_for(settings, app.policies, Catalogue.shipped()),
        signatories=SignerStore(SqlViews(app.process_recorder)),
    )
    # Each letter Kafka took is noted without its contents, for the monthly
    # disposal report (the topic deletes letters after days).
    notes = DeadLetterNotes(SqlViews(app.process_recorder))
    dead_letters = DeadLetters(producer, topics.name(DLQ_TOPIC), kept=notes)
    # Before the taker: it creates lethe_set_aside, where records go that the
    # store refuses on save.
    ledger = PartitionStates(SqlViews(app.process_recorder))
    set_aside_row = partial(set_aside_statement, "consumer")
    taker = BatchTaker(app, dead_letters, contract, clock, set_aside_row=set_aside_row)
    return ConsumeLoop(
        consumer,
        app.process_recorder,
        taker,
        topics.inbound_kinds(),
        config.kafka.max_poll_records,
        ledger=ledger,
        clock=clock,
        broker_offsets=offsets.below if offsets is not None else None,
        on_taken=metrics.count_taken if metrics is not None else None,
    )


def build_projector(
    config: RunConfig,
    producer: Producer,
    stop: threading.Event,
    metrics: Metrics | None = None,
) -> Projector:
    settings = config.settings

    def make_relay(app: Lethe) -> LeasedRelay:
        # Borrowed: a `lethe relay` beside this process takes the sending over.
        return LeasedRelay(
            relays(app, producer, config.topics, settings),
            relay_lease(settings),
            borrowed=True,
        )

    return Projector(
        lambda: build_app(settings),
        make_relay,
        interval_s=settings.sweep_interval_s,
        stop=stop,
        batch_size=settings.batch_size,
        confirm_timeout_s=settings.confirm_timeout_s,
        lease=lease_for(settings),
        observer=Heartbeat(settings.sweep_interval_s, metrics),
    )


def check_topics(config: RunConfig) -> None:
    """ItemTopicError unless the item topics exist and are compacted (or allowed)."""
    admin = KafkaAdminClient(**config.kafka.admin_config())
    try:
        allow = config.settings.allow_uncompacted_item_topics
        for problem in check_item_topics(admin, config.topics, allow):
            log.warning("item topic not seen compacted, allowed", problem=problem)
    finally:
        admin.close()


def run(config: RunConfig, stop: threading.Event) -> None:
    """Consume until `stop` is set; the current batch is always finished first."""
    check_topics(config)
    # Before anything starts: on PostgreSQL a missing key is a one-line refusal.
    signer = lethe_signer(config.settings, create=True)
    app = build_app_at_start(config.settings)
    # Before a record is taken: a key restored with the database dies again.
    reapply_before_serving(config.settings, app).log()
    metrics = Metrics()
    server = start_metrics(app, config.settings, metrics)
    producer = KafkaProducer(**config.kafka.producer_config())  # dead letters
    # The relay's own, on librdkafka: ~8 µs of CPU a record, kafka-python's ~34.
    relay_producer = signing_orders(
        RdKafkaProducer(config.kafka.rdkafka_producer_config()), signer, config.topics
    )
    consumer_config = config.kafka.consumer_config(config.settings.group_id)
    consumer = KafkaConsumer(**consumer_config)
    offsets = BrokerOffsets(consumer_config)
    loop = build_loop(config, app, consumer, producer, offsets=offsets, metrics=metrics)
    projector = build_projector(config, relay_producer, stop, metrics)
    log.info(
        "started",
        group_id=config.settings.group_id,
        store=describe_store(config.settings),
        topics=sorted(loop.kinds),
    )
    try:
        loop.subscribe()
        projector.start()
        while not stop.is_set():
            loop.run_once(timeout_ms=POLL_TIMEOUT_MS)
            metrics.observe_lag(
                loop.next_offsets, consumer.highwater, consumer.assignment()
            )
        if projector.failed is not None:
            raise RuntimeError("the projector failed") from projector.failed
    except Exception:
        # Not poison: a failure. Stop loudly; a restart re-reads from the store.
        log.exception("failed")
        raise
    finally:
        stop.set()
        if server is not None:
            server.close()
        consumer.close(autocommit=False)
        offsets.close()
        projector.join()
        relay_producer.close()
        producer.close()
        log.info("stopped")


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (the handler only flags: the loop stops)."""
    stop = threading.Event()
    handler: Callable[[int, object], None] = lambda signum, frame: _stop(stop, signum)  # noqa: E731
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def _stop(stop: threading.Event, signum: int) -> None:
    log.info("stop requested", signal=signal.Signals(signum).name)
    stop.set()


class RelayOnEmbeddedStoreError(ValueError):
    """`lethe relay` was started on the embedded store, where `lethe run` relays."""


def check_relay_store(settings: Settings) -> None:
    if settings.store != "postgres":
        raise RelayOnEmbeddedStoreError(
            "`lethe relay` runs beside `lethe run` on PostgreSQL "
            "(LETHE_STORE=postgres); on the embedded store `lethe run` relays itself"
        )


def run_relay(config: RunConfig, stop: threading.Event) -> None:
    """Send orders and tombstones from the store until `stop` (`lethe relay`)."""
    settings = config.settings
    check_relay_store(settings)
    signer = lethe_signer(settings)
    app = build_app_at_start(settings)
    producer = signing_orders(
        RdKafkaProducer(config.kafka.rdkafka_producer_config()), signer, config.topics
    )
    lease = relay_lease(settings)
    relay = LeasedRelay(
        relays(app, producer, config.topics, settings), lease, borrowed=False
    )
    log.info("relay started", store=describe_store(settings))
    try:
        sent = follow(relay, stop)
    except Exception:
        log.exception("relay failed")
        raise
    finally:
        lease.release()
        producer.close()
        app.close()
    log.info("relay stopped", records=sent)
