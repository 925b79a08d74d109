"""`lethe produce`: JSON lines to an inbound topic, refused if `lethe run` would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import click

from lethe.consumers.codec import Catalogue
from lethe.ops.cli.kafka import run_config
from lethe.ops.cli.support import UserError
from lethe.ops.cli.trial_keys import keyring_for
from lethe.ops.kafka.produce import LetheProducer, line_encoder
from lethe.ops.kafka.produce_check import Judged, contract_for, judge_lines
from lethe.ops.runtime.bootstrap import shipped_policies
from lethe.ops.runtime.run import RunConfig

REFUSED_EXIT = 1

_META = (
    '"metadata": {{"controller": "sector-alarm", "category": "{category}", '
    '"subject_id": "cust-1", "captured_at": "2026-03-25T11:00:00Z"}}'
)
_SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
# One accepted record per topic (tests/e2e/test_produce_checks.py sends each).
EXAMPLES = {
    "alarm.events.v1": '{"item_id": "ev-1", "event_code": "BA", "zone": "3", '
    + _META.format(category="alarm-event")
    + "}",
    "alarm.images.v1": '{"item_id": "img-1", "alarm_item_id": "ev-1", '
    f'"blob_uri": "s3://images/img-1.jpg", "sha256": "{_SHA256}", '
    '"content_type": "image/jpeg", "size_bytes": 48213, '
    + _META.format(category="verification-image")
    + "}",
    "alarm.recordings.v1": '{"item_id": "rec-1", "line": "ALARM_CENTRAL", '
    f'"blob_uri": "s3://calls/rec-1.opus", "sha256": "{_SHA256}", '
    '"duration_ms": 95000, ' + _META.format(category="alarm-call-recording") + "}",
    "customer.lifecycle.v1": '{"subject_id": "cust-1", "controller": '
    '"sector-alarm", "kind": "RELATIONSHIP_ENDED", '
    '"occurred_at": "2026-03-25T11:00:00Z"}',
    "lethe.commands.v1": '{"command_id": "cmd-1", "kind": "PLACE_HOLD", '
    '"controller": "sector-alarm", "subject_id": "cust-1", "reason": '
    '"police investigation", "case_ref": "POL-2026-77", "requested_by": "ola", '
    '"requested_at": "2026-03-25T11:00:00Z"}',
    "lethe.erasure-confirmations.v1": '{"order_id": "ord-1", "item_id": "img-1", '
    '"store": "images", "outcome": "DELETED", '
    '"confirmed_at": "2026-03-25T11:00:00Z"}',
}


def _epilog() -> str:
    # \b keeps click from re-wrapping the paragraph: each example stays one line.
    lines = [f"  {topic}:\n    {example}" for topic, example in EXAMPLES.items()]
    return "Examples, one JSON line per record:\n\n\b\n" + "\n".join(lines)


@click.command("produce", epilog=_epilog())
@click.argument("topic")
@click.option(
    "--json",
    "source",
    type=click.File("rb"),
    required=True,
    help="A file of JSON lines, one record each; - reads stdin.",
)
@click.option(
    "--key",
    "key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Sign commands or confirmations with this private key (registered with "
    "`lethe signer add`) [the embedded default: a trial key].",
)
def produce_command(topic: str, source: BinaryIO, key_file: Path | None) -> None:
    """Publish JSON lines to an inbound TOPIC as contract records, checked as the
    consumer checks them.

    Each line must fit the topic's schema and pass the very checks `lethe run`
    applies (controller and category known, sha256 and blob_uri well formed,
    lengths, no control characters, instants plausible, the key): a line that
    `lethe run` would put on the dead-letter topic is refused here, with the
    reason it would get there, and not sent. The other lines are sent, Avro
    single-object encoded and keyed. Exit 1 if any line was refused.
    What only Lethe's store can judge (releasing a hold that is not placed,
    confirming an unknown order) is left to `lethe run`.

    Timestamps are ISO-8601 with an offset (2026-03-25T11:00:00Z). Commands
    and confirmations are signed (--key).
    """
    config = run_config()
    catalogue = Catalogue.shipped()
    try:
        encode_line = line_encoder(catalogue, topic)
    except ValueError as error:
        raise UserError(str(error)) from None
    contract = contract_for(config.settings, shipped_policies(), catalogue)
    judged = judge_lines(encode_line, contract, topic, source, datetime.now(UTC))
    for number, reason in judged.refused:
        click.echo(f"lethe: line {number} refused: {reason}", err=True)
    sent = _send(config, topic, judged, key_file, catalogue) if judged.fit else 0
    total = sent + len(judged.refused)
    refused = f"; refused {len(judged.refused)}" if judged.refused else ""
    click.echo(
        f"sent {sent} of {total} records to {config.topics.name(topic)}{refused}"
    )
    if judged.refused:
        raise SystemExit(REFUSED_EXIT)


def _send(
    config: RunConfig,
    topic: str,
    judged: Judged,
    key_file: Path | None,
    catalogue: Catalogue,
) -> int:
    """Send the fit lines; the count once Kafka has acknowledged every one."""
    values = [data for _, _, data in judged.fit]
    keyring = keyring_for(config.settings, topic, key_file, catalogue, values)
    with LetheProducer(config.kafka, config.topics, keyring=keyring) as producer:
        futures = [
            producer.send_encoded(topic, key, data) for _, key, data in judged.fit
        ]
        producer.flush()
    for future in futures:
        future.get(timeout=60)  # raises if Kafka did not take a record
    return len(futures)
