"""Issue 13's "Done when": a shredded subject cannot be re-linked from any copy of
the database once one KEK rotation has passed since the shred.

PostgreSQL: heap pages (pageinspect's get_raw_page, dead tuples included), the
WAL segments written since before the subjects existed, and a pg_dump made
before the shred. SQLite: copies of the file and its WAL made before the
shred, and both after. Each attack first succeeds (the copies do hold the
wrapped keys, and the KEK that wrapped them opens them) so that its failure
after the rotation means something.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from lethe.ops.runtime.bootstrap import build_app, build_runtime
from lethe.ops.runtime.rotation import rotate_kek
from lethe.ops.settings import Settings
from tests.support import T0, ingest_record, postgres
from tests.support.keys import kek_files, key_env, recover_subject_ids

CONTROLLER = "sector-alarm"
SHREDDED = ["ola.nordmann@example.no", "12057312345"]
LIVE = "kari.hansen@example.no"
PAGE = 8192


def register(app: Any, subject_ids: list[str]) -> dict[str, str]:
    """Register each subject (sealing its id); ref -> subject id."""
    refs = {}
    for subject_id in subject_ids:
        subject = app.subject_for(CONTROLLER, subject_id, T0)
        app.save(subject)
        refs[subject.subject_ref] = subject_id
    return refs


def seals_of(app: Any, refs: dict[str, str]) -> dict[str, bytes]:
    # What an adversary reads from the event store: each subject's seal.
    return {ref: app.find_subject_by_ref(ref).subject_seal for ref in refs}


def shred(app: Any, refs: dict[str, str], subject_ids: list[str]) -> None:
    for ref, subject_id in refs.items():
        if subject_id in subject_ids:
            app.vault.shred(ref)
    app.vault.scrub()


# -- PostgreSQL -----------------------------------------------------------------------


def pg_settings(pg_schema_env: dict[str, str], keys: dict[str, str]) -> Settings:
    return Settings.from_env(
        {
            "LETHE_STORE": "postgres",
            "LETHE_POSTGRES_DBNAME": pg_schema_env["POSTGRES_DBNAME"],
            "LETHE_POSTGRES_SCHEMA": pg_schema_env["POSTGRES_SCHEMA"],
            **keys,
        }
    )


def heap_pages(conn: psycopg.Connection[Any], schema: str) -> bytes:
    table = f"{schema}.lethe_wrapped_keys"
    size = conn.execute("SELECT pg_relation_size(%s)", (table,)).fetchone()
    assert size is not None
    pages = []
    for number in range(int(size[0]) // PAGE):
        row = conn.execute("SELECT get_raw_page(%s, %s)", (table, number)).fetchone()
        assert row is not None
        pages.append(bytes(row[0]))
    return b"".join(pages)


@contextmanager
def wal_kept(conn: psycopg.Connection[Any], name: str) -> Iterator[str]:
    """Keep every WAL segment from now, as an archive would: a replication slot
    stops the shared server's checkpoints from recycling them. Yields the first."""
    row = conn.execute(
        "SELECT pg_walfile_name(lsn)"
        " FROM pg_create_physical_replication_slot(%s, true)",
        (name,),
    ).fetchone()
    assert row is not None
    try:
        yield str(row[0])
    finally:
        conn.execute("SELECT pg_drop_replication_slot(%s)", (name,))


def wal_since(conn: psycopg.Connection[Any], first_segment: str) -> list[bytes]:
    row = conn.execute(
        "SELECT current_setting('data_directory'),"
        " pg_walfile_name(pg_current_wal_lsn())"
    ).fetchone()
    assert row is not None
    wal = Path(row[0]) / "pg_wal"
    # Segments after the current one are recycled ones, ahead of the writer.
    names = sorted(
        p.name
        for p in wal.iterdir()
        if len(p.name) == 24 and first_segment <= p.name <= row[1]
    )
    assert names[0] == first_segment and names[-1] == row[1]  # none recycled yet
    return [(wal / name).read_bytes() for name in names]


def table_file(conn: psycopg.Connection[Any], schema: str) -> bytes:
    """The table's heap file, as a base backup copies it (this server's pg_hba
    allows no replication connection, so pg_basebackup itself cannot run)."""
    conn.execute("CHECKPOINT")
    row = conn.execute(
        "SELECT current_setting('data_directory'), pg_relation_filepath(%s)",
        (f"{schema}.lethe_wrapped_keys",),
    ).fetchone()
    assert row is not None
    return (Path(row[0]) / row[1]).read_bytes()


def pg_dump(dbname: str, schema: str) -> bytes:
    dumped = subprocess.run(
        ["pg_dump", "-h", postgres.HOST, "-p", postgres.PORT, "-U", postgres.USER,
         "-n", schema, dbname],
        capture_output=True, timeout=120,
    )  # fmt: skip
    assert dumped.returncode == 0, dumped.stderr
    return dumped.stdout


def test_postgres_copies_give_up_no_shredded_subject_after_a_rotation(
    pg_schema_env: dict[str, str], tmp_path: Path
) -> None:
    keys = key_env(tmp_path)
    dbname, schema = pg_schema_env["POSTGRES_DBNAME"], pg_schema_env["POSTGRES_SCHEMA"]
    with postgres.connect(dbname) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        with wal_kept(conn, f"lethe_{schema}") as first_segment:
            check_copies(conn, pg_schema_env, keys, first_segment)


def check_copies(
    conn: psycopg.Connection[Any],
    pg_schema_env: dict[str, str],
    keys: dict[str, str],
    first_segment: str,
) -> None:
    kek_file = Path(keys["LETHE_KEK_FILE"])
    dbname, schema = pg_schema_env["POSTGRES_DBNAME"], pg_schema_env["POSTGRES_SCHEMA"]
    app = build_app(pg_settings(pg_schema_env, keys))
    refs = register(app, [*SHREDDED, LIVE])
    seals = seals_of(app, refs)
    dump_before = pg_dump(dbname, schema)
    heap_before = heap_pages(conn, schema)
    file_before = table_file(conn, schema)
    shred(app, refs, SHREDDED)
    wal = wal_since(conn, first_segment)
    copies = [dump_before, heap_before, file_before, heap_pages(conn, schema), *wal]

    # Each kind of copy holds the shredded keys, and the KEK of the day opens
    # them: the dump, the heap as it was, and the WAL alone.
    for kind in ([dump_before], [heap_before], [file_before], wal):
        assert set(SHREDDED) <= recover_subject_ids(kind, seals, kek_files(kek_file))

    rotate_kek(app.vault.views, app.vault.kek, batch_size=1)
    copies += [heap_pages(conn, schema), table_file(conn, schema)]
    copies.append(pg_dump(dbname, schema))
    copies += wal_since(conn, first_segment)
    remaining = kek_files(kek_file)
    assert len(remaining) == 1  # the old KEK is gone, no .old/.next is left

    recovered = recover_subject_ids(copies, seals, remaining)
    assert recovered.isdisjoint(SHREDDED)
    assert LIVE in recovered  # the attack works: a live subject still opens
    assert app.vault.unseal(_ref_of(refs, LIVE), seals[_ref_of(refs, LIVE)]) == LIVE
    app.close()


def _ref_of(refs: dict[str, str], subject_id: str) -> str:
    return next(ref for ref, sid in refs.items() if sid == subject_id)


def test_a_shred_deletes_the_row_and_vacuums_it(
    pg_schema_env: dict[str, str], tmp_path: Path
) -> None:
    app = build_app(pg_settings(pg_schema_env, key_env(tmp_path)))
    refs = register(app, SHREDDED)
    shred(app, refs, SHREDDED)
    schema = pg_schema_env["POSTGRES_SCHEMA"]
    with postgres.connect(pg_schema_env["POSTGRES_DBNAME"]) as conn:
        table = sql.Identifier(schema, "lethe_wrapped_keys")
        rows = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
        stats = conn.execute(
            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables"
            " WHERE schemaname = %s AND relname = 'lethe_wrapped_keys'",
            (schema,),
        ).fetchone()
    assert rows == (0,)
    assert stats is not None and stats[0] == 0  # the vacuum took the dead rows
    assert all(app.vault.is_shredded(ref) for ref in refs)
    app.close()


# -- SQLite ---------------------------------------------------------------------------


def test_sqlite_file_and_wal_give_up_no_shredded_subject_after_a_rotation(
    tmp_path: Path,
) -> None:
    keys = key_env(tmp_path)
    kek_file = Path(keys["LETHE_KEK_FILE"])
    db = tmp_path / "store" / "lethe.db"
    app = build_app(Settings.from_env({"LETHE_SQLITE_PATH": str(db), **keys}))
    refs = register(app, [*SHREDDED, LIVE])
    seals = seals_of(app, refs)
    wal = db.with_name(db.name + "-wal")
    before = [db.read_bytes(), wal.read_bytes()]  # a file copy taken while running
    shred(app, refs, SHREDDED)
    after_shred = [db.read_bytes(), wal.read_bytes()]
    assert after_shred[1] == b""  # checkpointed and truncated
    assert set(SHREDDED) <= recover_subject_ids(before, seals, kek_files(kek_file))
    # secure_delete zeroed the rows in the file itself: gone even before rotating.
    assert recover_subject_ids(after_shred, seals, kek_files(kek_file)) == {LIVE}

    rotate_kek(app.vault.views, app.vault.kek, batch_size=1)
    backup = tmp_path / "backup.db"
    shutil.copy(db, backup)
    remaining = kek_files(kek_file)
    assert len(remaining) == 1
    copies = [
        *before,
        *after_shred,
        db.read_bytes(),
        wal.read_bytes(),
        backup.read_bytes(),
    ]
    recovered = recover_subject_ids(copies, seals, remaining)
    assert recovered == {LIVE}
    app.close()


def test_an_erasure_carried_out_shreds_and_scrubs_the_sqlite_file_and_wal(
    tmp_path: Path,
) -> None:
    """The schedule's own path, not the vault called by hand: once the subject's
    erasure is carried out, its wrapped key is in neither the file nor the WAL."""
    db = tmp_path / "store" / "lethe.db"
    env = {"LETHE_SQLITE_PATH": str(db), **key_env(tmp_path)}
    runtime = build_runtime(Settings.from_env(env))
    app = runtime.app
    app.ingest([ingest_record("img-1", "verification-image", SHREDDED[0])], T0)
    refs = register(app, [SHREDDED[0]])
    runtime.catch_up()
    (ref,) = refs
    ((wrapped,),) = app.vault.views.query(
        "SELECT wrapped_key FROM lethe_wrapped_keys WHERE subject_ref = ?", (ref,)
    )
    assert (
        bytes(wrapped) in db.read_bytes() + db.with_name(db.name + "-wal").read_bytes()
    )
    answer = runtime.desk.erase_subject(
        CONTROLLER, SHREDDED[0], "cmd-1", "asked", "support", None, T0
    )
    assert answer.key_destroyed and app.vault.is_shredded(ref)
    assert db.with_name(db.name + "-wal").read_bytes() == b""
    assert bytes(wrapped) not in db.read_bytes()
    app.close()
