"""`editor backup` and `editor restore-backup` on a real PostgreSQL server: a dump in the
archive restores into a fresh database with the same accounts, documents and op log; a
database that holds anything is refused; the archiver service's schedule writes dumps."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

from editor.backups import run_backup_schedule
from editor.config import load
from editor.store import CommittedOp
from editor.store.postgres import opened_postgres_store
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.slow
TABLES = ("users", "documents", "members", "ops", "snapshots", "schema_migrations")


def _editor(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "EDITOR_DATABASE_URL": url})


def _rows(server: PostgresServer, database: str) -> dict[str, str]:
    return {table: server.psql(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text))"
                               f" FROM {table} t", database) for table in TABLES}


async def test_backup_restores_into_an_empty_database_and_refuses_a_used_one(
        postgres_server: PostgresServer, postgres_url: str, tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with opened_postgres_store(postgres_url) as store:
            owner = await store.create_user("b@example.test", "B", "hash")
            doc = await store.create_document(owner.id, "Backed up", [{"insert": "\n"}])
            await store.append(doc.id, [CommittedOp(doc.id, v, [{"insert": f"{v}"}], owner.id,
                                                    "c", v + 1, 1.0 + v) for v in range(5)])
    done = await trio.to_thread.run_sync(_editor, tmp_path, postgres_url, "backup")
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert key.startswith("backups/") and key.endswith(".dump")
    assert (tmp_path / "archive" / key).read_bytes().startswith(b"PGDMP")  # custom format

    empty = await trio.to_thread.run_sync(lambda: postgres_server.new_database(migrated=False))
    done = await trio.to_thread.run_sync(_editor, tmp_path, empty, "restore-backup", key)
    assert done.returncode == 0, done.stderr
    source, target = postgres_url.rsplit("/", 1)[1], empty.rsplit("/", 1)[1]
    assert (await trio.to_thread.run_sync(_rows, postgres_server, target)
            == await trio.to_thread.run_sync(_rows, postgres_server, source))
    async with opened_postgres_store(empty) as restored:  # the editor opens it as it was
        assert await restored.head(doc.id) == 5

    # Not empty (the restored one, or any migrated database): refused, nothing changed.
    again = await trio.to_thread.run_sync(_editor, tmp_path, empty, "restore-backup", key)
    assert again.returncode == 1 and "not empty" in again.stderr
    missing = await trio.to_thread.run_sync(_editor, tmp_path, empty, "restore-backup",
                                            "backups/19700101T000000Z.dump")
    assert missing.returncode == 1 and "no backup" in missing.stderr


async def test_the_schedule_writes_a_dump_every_period(postgres_url: str,
                                                       tmp_path: Path) -> None:
    from editor.archive import LocalArchive

    cfg = load({}, database_url=postgres_url, backup_every_s=0.5, data_dir=tmp_path)
    archive = LocalArchive(tmp_path / "archive")
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            await nursery.start(run_backup_schedule, cfg, archive)
            while True:  # polling the archive: the schedule signals nothing
                if await archive.list("backups/"):
                    break
                await trio.sleep(0.1)
            nursery.cancel_scope.cancel()
    (key,) = await archive.list("backups/")
    assert (await archive.get(key)).startswith(b"PGDMP")


def test_backup_on_sqlite_is_refused_with_a_hint(tmp_path: Path) -> None:
    done = _editor(tmp_path, f"sqlite:///{tmp_path / 'editor.db'}", "backup")
    assert done.returncode == 2 and "PostgreSQL" in done.stderr
