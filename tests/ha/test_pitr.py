"""Point-in-time recovery: a base backup and the archived WAL replay to a moment; the edits
before it are there, those after it are not. WAL reaches the archive through
archive_command (here a plain copy into the local archive's layout: the server's user
cannot run this venv's Python; `editor wal-archive` itself is checked in-process)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trio

from editor.archive import LocalArchive
from editor.backups import archive_wal
from editor.store import CommittedOp
from editor.store.postgres import opened_postgres_store
from tests.support.pg_cluster import DATABASE, Node, give_to_server_user
from tests.support.postgres import _bindir, unavailable
from tests.support.servers import free_port

pytestmark = pytest.mark.slow


def _editor(data_dir: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "editor", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "EDITOR_DATABASE_URL": url})


def _archiving_server(base: Path, archive_root: Path) -> Node:
    bindir = _bindir()
    if bindir is None:
        unavailable("no initdb/pg_ctl/psql found (install postgresql)")
        raise AssertionError("unreachable")
    node = Node("primary", bindir, base)
    done = node.tool("initdb", "-D", str(node.data_dir), "-U", "postgres", "--auth=trust",
                     "--no-sync", "--encoding=UTF8", "--locale=C.UTF-8")
    assert done.returncode == 0, done.stderr
    with open(node.data_dir / "pg_hba.conf", "a") as hba:
        hba.write("host replication all 127.0.0.1/32 trust\n")
    wal = archive_root / "wal"
    node.configure(port=str(node.port), listen_addresses="'127.0.0.1'",
                   unix_socket_directories=f"'{base}'", wal_level="replica", fsync="off",
                   archive_mode="on",
                   archive_command=f"'test ! -f {wal}/%f && cp %p {wal}/%f'")
    node.start()
    node.psql(f"CREATE DATABASE {DATABASE}")
    return node


async def test_restore_to_a_moment_keeps_what_came_before_and_drops_what_came_after(
        ) -> None:
    base = Path(tempfile.mkdtemp(prefix="editor-pitr-"))
    give_to_server_user(base)
    archive_root = base / "data" / "archive"
    (archive_root / "wal").mkdir(parents=True)
    for path in (base / "data", archive_root, archive_root / "wal"):
        give_to_server_user(path)
    nodes: list[Node] = []
    try:
        with trio.fail_after(120):
            await _scenario(base, archive_root, nodes)
    finally:
        for node in nodes:
            node.stop()
        shutil.rmtree(base, ignore_errors=True)


async def _scenario(base: Path, archive_root: Path, nodes: list[Node]) -> None:
    primary = await trio.to_thread.run_sync(_archiving_server, base, archive_root)
    nodes.append(primary)
    url = f"postgresql://postgres@{primary.address}/{DATABASE}"
    async with opened_postgres_store(url) as store:
        owner = await store.create_user("p@example.test", "P", "hash")
        doc = await store.create_document(owner.id, "PITR", [{"insert": "\n"}])
    done = await trio.to_thread.run_sync(_editor, base / "data", url, "base-backup")
    assert done.returncode == 0, done.stderr
    base_key = done.stdout.strip()
    assert base_key.startswith("basebackups/")

    def op(version: int) -> CommittedOp:
        return CommittedOp(doc.id, version, [{"insert": f"v{version} "}], owner.id, "c",
                           version + 1, time.time())

    async with opened_postgres_store(url) as store:
        for version in range(3):  # before the moment
            await store.append(doc.id, [op(version)])
        await trio.sleep(0.5)
        moment = datetime.now(UTC).isoformat()
        await trio.sleep(0.5)
        for version in range(3, 6):  # after it
            await store.append(doc.id, [op(version)])
    segment = await trio.to_thread.run_sync(
        primary.psql, "SELECT pg_walfile_name(pg_current_wal_lsn());;SELECT pg_switch_wal()")
    segment = segment.splitlines()[0]
    await trio.to_thread.run_sync(_wait, lambda: (archive_root / "wal" / segment).exists(),
                                  "the last segment archived")

    restored = base / "restored"
    port = free_port()
    done = await trio.to_thread.run_sync(
        _editor, base / "data", url, "restore-pitr", base_key, "--target-time", moment,
        "--pgdata", str(restored), "--port", str(port), "--start")
    assert done.returncode == 0, done.stdout + done.stderr
    node = Node("restored", primary.bindir, base, port)
    node.pid = int((restored / "postmaster.pid").read_text().split()[0])
    nodes.append(node)
    await trio.to_thread.run_sync(_wait, lambda: node.psql("SELECT pg_is_in_recovery()") == "f",
                                  "recovery reached the target and promoted")
    versions = await trio.to_thread.run_sync(
        node.psql, f"SELECT string_agg(version::text, ',' ORDER BY version) FROM ops"
        f" WHERE doc_id = '{doc.id}'", DATABASE)
    assert versions == "0,1,2"
    # The original kept everything.
    assert await trio.to_thread.run_sync(
        primary.psql, f"SELECT count(*) FROM ops WHERE doc_id = '{doc.id}'", DATABASE) == "6"


def _wait(check: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.05)


async def test_wal_archive_is_idempotent_and_refuses_other_bytes(tmp_path: Path) -> None:
    archive = LocalArchive(tmp_path / "archive")
    segment = tmp_path / "000000010000000000000003"
    segment.write_bytes(b"wal bytes")
    assert await archive_wal(archive, segment, segment.name)
    assert not await archive_wal(archive, segment, segment.name)  # a retry: fine
    assert await archive.get("wal/000000010000000000000003") == b"wal bytes"
    segment.write_bytes(b"other bytes")
    with pytest.raises(ValueError, match="other contents"):
        await archive_wal(archive, segment, segment.name)
    with pytest.raises(ValueError, match="not a WAL file name"):
        await archive_wal(archive, segment, "../../etc/passwd")
