"""`lethe keys rotate-pseudonym`: re-key the subject index without losing a subject.

The event store names each subject by its ref under the key it was ingested
with, and cannot be rewritten. Re-keying therefore maps, for every subject
Lethe can still name, the ref under the new key to the stored ref
(`lethe_pseudonym_aliases`). A subject's id is recovered from its seal while
its key lives, or read from an operator's list (`--subject-ids`, e.g. the
CRM's customer ids) for subjects only items mention. A subject with items not
yet erased that cannot be named refuses the whole rotation: it would be lost.

All of it (aliases, the new check value) commits in one transaction, so a
crash leaves the old key in force and a re-run starts over.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lethe.ops.runtime.keystore import PSEUDONYM_CHECK, Statement, upsert_state
from lethe.ops.runtime.pseudonyms import (
    PseudonymKeyError,
    Pseudonyms,
    check_value,
    hmac_ref,
)
from lethe.projections.store import SqlViews

KNOWN_REFS = (
    "SELECT subject_ref, MAX(CASE WHEN state <> 'erased' THEN 1 ELSE 0 END)"
    " FROM lethe_schedule GROUP BY subject_ref"
    " UNION SELECT subject_ref, 0 FROM lethe_subjects"
)


@dataclass(frozen=True)
class Rekeyed:
    subjects: int  # refs the new key now finds
    forgotten: int  # refs of shredded subjects or with every item erased, not named


def rotate_pseudonym(
    app: Any,
    views: SqlViews,
    new_key: bytes,
    subject_ids: Iterable[tuple[str, str]] = (),
) -> Rekeyed:
    old: Pseudonyms = app.vault.pseudonyms
    if check_value(new_key) == check_value(old.key):
        raise PseudonymKeyError("the new pseudonym key is the one in use")
    live: dict[str, bool] = {}
    for ref, has_live in views.query(KNOWN_REFS):
        live[ref] = live.get(ref, False) or bool(has_live)
    names = _named_by_seal(app, live) | _named_by_list(old, live, subject_ids)
    unnamed = [ref for ref, alive in live.items() if alive and ref not in names]
    if unnamed:
        raise PseudonymKeyError(
            f"{len(unnamed)} subjects with items not yet erased cannot be named "
            "(only their items mention them): pass their ids with --subject-ids "
            "FILE (lines controller,subject_id); nothing was changed"
        )
    statements: list[Statement] = [
        (
            "INSERT INTO lethe_pseudonym_aliases (alias, subject_ref) VALUES (?, ?)"
            " ON CONFLICT (alias) DO UPDATE SET subject_ref = excluded.subject_ref",
            (hmac_ref(new_key, controller, subject_id), ref),
        )
        for ref, (controller, subject_id) in names.items()
    ]
    statements.append(upsert_state(PSEUDONYM_CHECK, check_value(new_key)))
    # An embedded store's old key dies with the rotation: it is the new key's now.
    statements.append(("DELETE FROM lethe_secrets WHERE name = 'pseudonym-key'", ()))
    views.execute(statements)
    return Rekeyed(subjects=len(names), forgotten=len(live) - len(names))


def _named_by_seal(app: Any, refs: Iterable[str]) -> dict[str, tuple[str, str]]:
    names = {}
    for ref in refs:
        subject = app.find_subject_by_ref(ref)
        if subject is None:
            continue
        seal = getattr(subject, "subject_seal", b"")
        subject_id = app.vault.unseal(ref, seal) if seal else None
        if subject_id is not None:
            names[ref] = (subject.controller, subject_id)
    return names


def _named_by_list(
    old: Pseudonyms, refs: dict[str, bool], subject_ids: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, str]]:
    names = {}
    for controller, subject_id in subject_ids:
        ref = old.pseudonym(controller, subject_id)
        if ref in refs:
            names[ref] = (controller, subject_id)
    return names


def read_subject_ids(lines: Iterable[str]) -> list[tuple[str, str]]:
    pairs = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        controller, sep, subject_id = line.rstrip("\n").partition(",")
        if not sep or not controller.strip() or not subject_id.strip():
            raise PseudonymKeyError(
                f"--subject-ids line {number} is not controller,subject_id"
            )
        pairs.append((controller.strip(), subject_id.strip()))
    return pairs
