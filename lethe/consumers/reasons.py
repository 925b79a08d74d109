"""The fixed catalogue of why a record became a dead letter: one code per cause.

A dead letter carries its code (header `lethe.reason-code`) beside the
sentence that says what to fix (`lethe.reason`). The code is for counting and
alerting; it is a name from this catalogue only, never built from the record,
so it can hold no personal data. A new code is a new member here, with its
labels in `projections/audit_report_labels.py`; a code is never renamed.
"""

from __future__ import annotations

from enum import StrEnum


class ReasonCode(StrEnum):
    # The bytes: not a record of Lethe's catalogue.
    NOT_AVRO = "NOT_AVRO"  # empty, no single-object marker, header cut short
    UNKNOWN_SCHEMA = "UNKNOWN_SCHEMA"  # a fingerprint Lethe does not know
    WRONG_RECORD_TYPE = "WRONG_RECORD_TYPE"  # another record than the topic takes
    UNDECODABLE = "UNDECODABLE"  # the body does not decode as its schema
    NULL_VALUE = "NULL_VALUE"  # no value where a record belongs
    NEWER_THAN_LETHE = "NEWER_THAN_LETHE"  # an enum value newer than this Lethe
    # Who sent it.
    UNSIGNED = "UNSIGNED"
    BAD_SIGNATURE = "BAD_SIGNATURE"  # does not verify, or its headers are malformed
    UNKNOWN_SIGNER = "UNKNOWN_SIGNER"
    REVOKED_SIGNER = "REVOKED_SIGNER"
    SIGNER_NOT_ALLOWED = "SIGNER_NOT_ALLOWED"  # wrong role, or another store's
    # What it says.
    KEY_MISMATCH = "KEY_MISMATCH"  # no key, or not the record's own id
    UNKNOWN_CONTROLLER = "UNKNOWN_CONTROLLER"
    UNKNOWN_CATEGORY = "UNKNOWN_CATEGORY"  # no rule, or not allowed for the record
    IMPLAUSIBLE_TIME = "IMPLAUSIBLE_TIME"  # before the earliest instant, or future
    BAD_BLOB = "BAD_BLOB"  # sha256 or blob URI malformed
    BAD_TEXT = "BAD_TEXT"  # a string empty, too long or with control characters
    BAD_FIELDS = "BAD_FIELDS"  # fields that contradict each other
    # What it would do.
    FOREIGN_TOMBSTONE = "FOREIGN_TOMBSTONE"  # a tombstone not sent by Lethe
    CONFLICTING_REDELIVERY = "CONFLICTING_REDELIVERY"  # same id, other content
    REFUSED = "REFUSED"  # the domain said no (no such hold, unknown order, ...)
    STORE_REFUSED = "STORE_REFUSED"  # passed every check; the store would not save it
    CONTRACT = "CONTRACT"  # any other breach of the record contract
