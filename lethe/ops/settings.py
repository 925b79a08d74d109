"""One settings object, read from LETHE_* environment variables, passed explicitly."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class SettingsError(ValueError):
    """A setting that cannot be used: the message names the variable."""


@dataclass(frozen=True)
class Settings:
    store: str = "sqlite"  # LETHE_STORE: sqlite (embedded default) or postgres
    sqlite_path: Path = Path("var/lethe.db")
    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_dbname: str = "lethe"
    postgres_user: str = "postgres"
    postgres_password: str = ""
    postgres_schema: str = ""
    # A stuck transaction fails the process (a supervisor restarts it) rather
    # than hang holding, or waiting for, the events table's lock.
    postgres_lock_timeout_s: int = 30
    postgres_statement_timeout_s: int = 300
    postgres_idle_in_transaction_timeout_s: int = 60
    # LETHE_PSEUDONYM_KEY (hex) or LETHE_PSEUDONYM_KEY_FILE (a 0600 file of hex):
    # from a secret store; required on PostgreSQL (docs/keys.md).
    pseudonym_key: bytes | None = None
    # LETHE_KEK_FILE: the key-encryption key's file (0600), outside the database;
    # on SQLite it defaults to <LETHE_SQLITE_PATH>.kek. LETHE_KEK: the key in hex
    # instead (LETHE_KEK_NEXT: the next one, while `lethe keys rotate` runs).
    kek_file: Path | None = None
    kek_in_env: bool = False
    # LETHE_KEK_ROTATION_DAYS: `lethe keys status` calls the KEK overdue after this.
    kek_rotation_days: int = 30
    # LETHE_SIGNING_KEY_FILE: Lethe's Ed25519 key for its erasure orders, kept
    # outside the event store (on SQLite, next to it unless set).
    signing_key_file: Path | None = None
    sweep_interval_s: float = 60.0
    confirm_timeout_s: float = 3600.0
    max_clock_skew_s: float = 300.0
    # LETHE_EARLIEST_INSTANT: an inbound instant before this is a forgotten default.
    earliest_instant: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    batch_size: int = 1000
    group_id: str = "lethe"
    answer_warning_days: int = 7
    # LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS: consume item topics not seen compacted.
    allow_uncompacted_item_topics: bool = False
    # LETHE_START_WITHOUT_SHRED_LEDGER: start even if the shred ledger cannot be
    # read (a first start before `lethe topics ensure`); docs/keys.md.
    start_without_shred_ledger: bool = False
    default_controller: str = "sector-alarm"
    metrics_port: int = 0  # LETHE_METRICS_PORT: lethe run's /metrics; 0 = off
    metrics_host: str = "127.0.0.1"
    env: Mapping[str, str] | None = None  # the raw mapping, for the Kafka settings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        get = _Getter(env)
        store = get.text("LETHE_STORE", cls.store).lower()
        if store not in ("sqlite", "postgres"):
            raise SettingsError(f"LETHE_STORE={store!r}: use 'sqlite' or 'postgres'")
        return cls(
            store=store,
            sqlite_path=Path(get.text("LETHE_SQLITE_PATH", str(cls.sqlite_path))),
            postgres_host=get.text("LETHE_POSTGRES_HOST", cls.postgres_host),
            postgres_port=get.integer(
                "LETHE_POSTGRES_PORT", cls.postgres_port, lowest=1, highest=65535
            ),
            postgres_dbname=get.text("LETHE_POSTGRES_DBNAME", cls.postgres_dbname),
            postgres_user=get.text("LETHE_POSTGRES_USER", cls.postgres_user),
            postgres_password=get.text("LETHE_POSTGRES_PASSWORD", ""),
            postgres_schema=get.text("LETHE_POSTGRES_SCHEMA", ""),
            postgres_lock_timeout_s=get.integer(
                "LETHE_POSTGRES_LOCK_TIMEOUT_S", cls.postgres_lock_timeout_s
            ),
            postgres_statement_timeout_s=get.integer(
                "LETHE_POSTGRES_STATEMENT_TIMEOUT_S", cls.postgres_statement_timeout_s
            ),
            postgres_idle_in_transaction_timeout_s=get.integer(
                "LETHE_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_S",
                cls.postgres_idle_in_transaction_timeout_s,
            ),
            pseudonym_key=get.hex_bytes("LETHE_PSEUDONYM_KEY")
            or get.secret_file("LETHE_PSEUDONYM_KEY_FILE"),
            kek_file=get.path("LETHE_KEK_FILE"),
            kek_in_env=bool(env.get("LETHE_KEK", "").strip()),
            kek_rotation_days=get.integer(
                "LETHE_KEK_ROTATION_DAYS", cls.kek_rotation_days, lowest=1
            ),
            signing_key_file=get.path("LETHE_SIGNING_KEY_FILE"),
            sweep_interval_s=get.number("LETHE_SWEEP_INTERVAL_S", cls.sweep_interval_s),
            confirm_timeout_s=get.number(
                "LETHE_CONFIRM_TIMEOUT_S", cls.confirm_timeout_s
            ),
            max_clock_skew_s=get.number(
                "LETHE_MAX_CLOCK_SKEW_S", cls.max_clock_skew_s, positive=False
            ),
            earliest_instant=get.instant(
                "LETHE_EARLIEST_INSTANT", cls.earliest_instant
            ),
            batch_size=get.integer("LETHE_BATCH_SIZE", cls.batch_size, lowest=1),
            group_id=get.text("LETHE_GROUP_ID", cls.group_id),
            answer_warning_days=get.integer(
                "LETHE_ANSWER_WARNING_DAYS", cls.answer_warning_days, lowest=0
            ),
            allow_uncompacted_item_topics=get.boolean(
                "LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS"
            ),
            start_without_shred_ledger=get.boolean("LETHE_START_WITHOUT_SHRED_LEDGER"),
            default_controller=get.text(
                "LETHE_DEFAULT_CONTROLLER", cls.default_controller
            ),
            metrics_port=get.integer(
                "LETHE_METRICS_PORT", cls.metrics_port, lowest=0, highest=65535
            ),
            metrics_host=get.text("LETHE_METRICS_HOST", cls.metrics_host),
            env=env,
        )

    def eventsourcing_env(self) -> dict[str, str]:
        """The mapping eventsourcing reads.

        Never os.environ, so nothing stray leaks in.
        """
        if self.store == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            return {
                "PERSISTENCE_MODULE": "lethe.projections.store:LetheSQLiteFactory",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        env = {
            "PERSISTENCE_MODULE": "lethe.projections.store:LethePostgresFactory",
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_POOL_SIZE": "4",
            "POSTGRES_LOCK_TIMEOUT": str(self.postgres_lock_timeout_s),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(
                self.postgres_idle_in_transaction_timeout_s
            ),
            # Lethe's own (eventsourcing has none): read by LethePostgresFactory.
            "POSTGRES_STATEMENT_TIMEOUT": str(self.postgres_statement_timeout_s),
        }
        if self.postgres_schema:
            env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env


def _optional_path(text: str) -> Path | None:
    return Path(text) if text else None


class _Getter:
    """Reads one variable each; a bad value raises SettingsError naming the
    variable and what it accepts, never echoing a secret."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str) -> str:
        return self.env.get(name, "").strip() or default

    def integer(
        self,
        name: str,
        default: int,
        lowest: int | None = None,
        highest: int | None = None,
    ) -> int:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        accepted = _integer_range(lowest, highest)
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r} is not {accepted} (e.g. {default})"
            ) from None
        if (lowest is not None and value < lowest) or (
            highest is not None and value > highest
        ):
            raise SettingsError(f"{name}={raw!r}: write {accepted} (e.g. {default})")
        return value

    def number(self, name: str, default: float, positive: bool = True) -> float:
        """Seconds: finite, and above zero unless `positive` is False (then >= 0)."""
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        accepted = "a number of seconds " + ("above 0" if positive else "of 0 or more")
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise SettingsError(f"{name}={raw!r} is not {accepted} (e.g. {default:g})")
        return value

    def boolean(self, name: str) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if raw in ("", "0", "false", "no", "off"):
            return False
        if raw in ("1", "true", "yes", "on"):
            return True
        raise SettingsError(f"{name}={raw!r} is not true or false")

    def instant(self, name: str, default: datetime) -> datetime:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            raise SettingsError(
                f"{name}={raw!r} is not an ISO-8601 date (e.g. 2000-01-01)"
            ) from None
        # A bare date is midnight UTC: the floor is a date, not a wall-clock time.
        return parsed if parsed.utcoffset() is not None else parsed.replace(tzinfo=UTC)

    def path(self, name: str) -> Path | None:
        raw = self.env.get(name, "").strip()
        return Path(raw) if raw else None

    def secret_file(self, name: str) -> bytes | None:
        """Hex in a file only its owner may read (the key, never the message)."""
        path = self.path(name)
        if path is None:
            return None
        try:
            mode = path.stat().st_mode
            text = path.read_text()
        except OSError as error:
            raise SettingsError(f"{name}={path}: {error.strerror}") from None
        if mode & 0o077:
            raise SettingsError(f"{name}={path} can be read by others; chmod 600 it")
        return self.hex_bytes(name, text)

    def hex_bytes(self, name: str, value: str | None = None) -> bytes | None:
        # The value is a secret: the message describes it, never shows it.
        text = self.env.get(name, "") if value is None else value
        raw = text.strip()
        if not raw:
            return None
        accepted = (
            "write at least 32 hex digits (e.g. the output of openssl rand -hex 32)"
        )
        try:
            key = bytes.fromhex(raw)
        except ValueError:
            raise SettingsError(f"{name} is not hex; {accepted}") from None
        if len(key) < 16:
            raise SettingsError(f"{name} is too short ({len(key)} bytes); {accepted}")
        return key


def _integer_range(lowest: int | None, highest: int | None) -> str:
    if lowest is not None and highest is not None:
        return f"a whole number from {lowest} to {highest}"
    if lowest is not None:
        return f"a whole number of {lowest} or more"
    return "a whole number"


# What each LETHE_* variable does, for the README's table (generated from this
# and the settings classes' defaults: python -m lethe.ops.cli.settings_table).
# A variable read anywhere in lethe/ without an entry here fails a test.
HELP: dict[str, str] = {
    "LETHE_STORE": "`sqlite` (embedded) or `postgres`",
    "LETHE_SQLITE_PATH": "the embedded event store, relative to the current directory",
    "LETHE_POSTGRES_HOST": "the PostgreSQL event store's host",
    "LETHE_POSTGRES_PORT": "its port",
    "LETHE_POSTGRES_DBNAME": "its database (must exist)",
    "LETHE_POSTGRES_USER": "the role Lethe connects as",
    "LETHE_POSTGRES_PASSWORD": "its password (from your secret store)",
    "LETHE_POSTGRES_SCHEMA": "the schema of Lethe's tables (empty: the role's default)",
    "LETHE_POSTGRES_LOCK_TIMEOUT_S": "a save waiting longer for a lock fails the"
    " process (run it under a supervisor)",
    "LETHE_POSTGRES_STATEMENT_TIMEOUT_S": "a statement running longer fails",
    "LETHE_POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_S": "a transaction idle longer fails",
    "LETHE_PSEUDONYM_KEY": "the subject pseudonyms' key in hex, from your secret"
    " store; checked against the store ([docs/keys.md](docs/keys.md)). Unset on"
    " SQLite: generated into the database, with a warning; PostgreSQL requires it"
    " (or the file)",
    "LETHE_PSEUDONYM_KEY_FILE": "the same key in a 0600 file of hex",
    "LETHE_KEK_FILE": "the key-encryption key's file (0600) that wraps every subject"
    " key; SQLite: `<LETHE_SQLITE_PATH>.kek`, generated; PostgreSQL: required."
    " `lethe keys init --kek-file PATH` makes one",
    "LETHE_KEK": "the key-encryption key in hex instead of a file",
    "LETHE_KEK_NEXT": "the next one, while `lethe keys rotate` runs",
    "LETHE_SIGNING_KEY_FILE": "Lethe's Ed25519 key for its erasure orders"
    " (`lethe signer keygen FILE`); SQLite: `lethe-signing.key` beside the store,"
    " made; PostgreSQL: required",
    "LETHE_KEK_ROTATION_DAYS": "`lethe status` and `lethe keys status` call the KEK"
    " overdue for `lethe keys rotate` after this",
    "LETHE_SWEEP_INTERVAL_S": "how often `lethe run` sweeps",
    "LETHE_CONFIRM_TIMEOUT_S": "an order unconfirmed for this long is sent again,"
    " then with doubling backoff",
    "LETHE_MAX_CLOCK_SKEW_S": "a record captured further in the future than this"
    " goes to the dead-letter topic",
    "LETHE_EARLIEST_INSTANT": "an inbound instant before this is a forgotten default"
    " and goes to the dead-letter topic",
    "LETHE_BATCH_SIZE": "records per poll, items per save",
    "LETHE_GROUP_ID": "the consumer group of `lethe run`",
    "LETHE_ANSWER_WARNING_DAYS": "a subject request this close to its answer"
    " deadline needs attention",
    "LETHE_ALLOW_UNCOMPACTED_ITEM_TOPICS": "`lethe run` refuses item topics it does"
    " not see compacted unless this is `true`",
    "LETHE_START_WITHOUT_SHRED_LEDGER": "`lethe run` and `lethe serve` refuse to"
    " start when the shred ledger (`lethe.shredded-subjects.v1`) cannot be read,"
    " unless this is `true` (a first start; docs/keys.md)",
    "LETHE_DEFAULT_CONTROLLER": "the controller support commands act for when"
    " `--controller` is not given",
    "LETHE_METRICS_PORT": "`lethe run` serves /metrics, /healthz, /readyz on this"
    " port; 0: not at all (`lethe serve` has them on its own port)",
    "LETHE_METRICS_HOST": "the address of that server (`0.0.0.0` in a container)",
    # Kafka clients (lethe/ops/kafka/settings.py)
    "LETHE_KAFKA_BOOTSTRAP": "the brokers, `host:port[,host:port]`",
    "LETHE_KAFKA_CLIENT_ID": "the client id the brokers see",
    "LETHE_KAFKA_SECURITY_PROTOCOL": "`PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or"
    " `SASL_SSL`",
    "LETHE_KAFKA_SASL_MECHANISM": "e.g. `PLAIN`, `SCRAM-SHA-512`",
    "LETHE_KAFKA_SASL_USERNAME": "the SASL user",
    "LETHE_KAFKA_SASL_PASSWORD": "its password (from your secret store)",
    "LETHE_KAFKA_SSL_CAFILE": "the CA bundle that signed the brokers' certificates",
    "LETHE_KAFKA_SSL_CERTFILE": "mutual TLS: Lethe's client certificate (with KEYFILE)",
    "LETHE_KAFKA_SSL_KEYFILE": "mutual TLS: its private key",
    "LETHE_KAFKA_SSL_CHECK_HOSTNAME": "check the brokers' names against their"
    " certificates",
    "LETHE_KAFKA_REQUEST_TIMEOUT_MS": "how long a client waits for one answer",
    "LETHE_KAFKA_BOOTSTRAP_TIMEOUT_MS": "how long a command waits for the first"
    " broker before it says Kafka is unreachable",
    "LETHE_KAFKA_SESSION_TIMEOUT_MS": "the consumer group's session (the embedded"
    " broker needs it short)",
    "LETHE_KAFKA_HEARTBEAT_INTERVAL_MS": "below the session timeout",
    "LETHE_KAFKA_MAX_POLL_INTERVAL_MS": "the longest a poll batch may take; raise it"
    " against Apache Kafka",
    "LETHE_KAFKA_MAX_POLL_RECORDS": "records one poll returns at most",
    "LETHE_KAFKA_FETCH_MAX_BYTES": "bytes one fetch returns at most",
    "LETHE_KAFKA_MAX_PARTITION_FETCH_BYTES": "bytes per partition in one fetch",
    "LETHE_KAFKA_AUTO_OFFSET_RESET": "where a partition Lethe never took starts",
    "LETHE_KAFKA_ENABLE_IDEMPOTENCE": "the idempotent producer (no duplicate sends)",
    "LETHE_KAFKA_LINGER_MS": "how long a producer waits to fill a batch",
    "LETHE_KAFKA_BATCH_SIZE": "bytes per producer batch and partition",
    # Topics (lethe/ops/kafka/topics.py)
    "LETHE_TOPIC_PREFIX": "put in front of every topic name, e.g. `staging.`",
    "LETHE_TOPIC_PARTITIONS": "partitions of the topics `lethe topics ensure` creates",
    "LETHE_TOPIC_REPLICATION_FACTOR": "their replication factor (-1: the broker's)",
    "LETHE_TOPIC_MAX_COMPACTION_LAG_MS": "item topics: how soon compaction must"
    " drop a record a tombstone replaced",
    "LETHE_TOPIC_DELETE_RETENTION_MS": "item topics: how long a tombstone stays",
    "LETHE_TOPIC_INBOUND_RETENTION_MS": "the confirmations topic (no subject ids)",
    "LETHE_TOPIC_COMMANDS_RETENTION_MS": "the commands topic (subject ids, free text):"
    " kept this long plus at most one segment",
    "LETHE_TOPIC_LIFECYCLE_RETENTION_MS": "the lifecycle topic (keyed by subject id)",
    "LETHE_TOPIC_SEGMENT_MS": "segment roll of the short-lived topics: Kafka deletes"
    " only closed segments",
    "LETHE_TOPIC_ERASURES_RETENTION_MS": "the erasure orders topic",
    "LETHE_TOPIC_DLQ_RETENTION_MS": "the dead-letter topic",
    # `lethe serve` (lethe/ops/access/settings.py)
    "LETHE_URL": "support commands call this `lethe serve` instead of opening the"
    " store (e.g. `https://lethe.example:8080`)",
    "LETHE_TOKEN": "the API token they send (else the one `lethe login` kept)",
    "LETHE_HTTP_HOST": "where `lethe serve` listens",
    "LETHE_HTTP_PORT": "its port",
    "LETHE_OIDC_ISSUER": "OpenID Connect: the issuer (all three of ISSUER,"
    " AUDIENCE, JWKS_URL, or none)",
    "LETHE_OIDC_AUDIENCE": "the audience tokens must name",
    "LETHE_OIDC_JWKS_URL": "where the issuer's keys are",
    "LETHE_OIDC_ROLES_CLAIM": "the claim holding groups or roles",
    "LETHE_OIDC_NAME_CLAIM": "who the events name",
    "LETHE_OIDC_ROLE_MAP": "`arc-support=support,arc-dpo=auditor+legal`",
    "LETHE_FOUR_EYES": "`erase-subject`, `release-hold` or `all`: a second person"
    " approves",
}
