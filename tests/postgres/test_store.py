"""What only the PostgreSQL store has: migrations, multi-host URLs, commits of unknown outcome.

The behaviour every backend shares is in ``tests/contract/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import pytest
import trio

from editor.cli import main
from editor.store import CommittedOp, CommitUnknown, Store
from editor.store.pool import PoolSettings
from editor.store.postgres import opened_postgres_store
from editor.store.postgres.migrate import migrations
from tests.support.postgres import PostgresServer
from tests.support.servers import free_port


def _op(doc_id: str, version: int, delta: list[dict[str, object]], seq: int,
        client_id: str = "c1") -> CommittedOp:
    return CommittedOp(doc_id, version, delta, "u1", client_id, seq, round(time.time(), 6))


async def _until(check: Callable[[], str]) -> None:
    """Poll a blocking check (a psql query) until it prints something."""
    while True:
        if (await trio.to_thread.run_sync(check)).strip():
            return
        await trio.sleep(0.02)


async def _document(store: Store) -> str:
    owner = await store.create_user(f"o{time.monotonic_ns()}@example.test", "O", "hash")
    return (await store.create_document(owner.id, "T", [{"insert": "\n"}])).id


async def test_replicas_starting_together_migrate_once(postgres_server: PostgresServer
                                                       ) -> None:
    url = await trio.to_thread.run_sync(lambda: postgres_server.new_database(migrated=False))
    reports = []

    async def start_replica() -> None:
        async with opened_postgres_store(url, apply_migrations=False) as store:
            reports.append(await store.migrate())

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(start_replica)
    newest = migrations()[-1].version
    assert sorted(len(r.applied) for r in reports) == [0, 0, len(migrations())]
    assert {r.version for r in reports} == {newest}
    rows = await trio.to_thread.run_sync(
        lambda: postgres_server.psql("SELECT version, name FROM schema_migrations",
                                     url.rsplit("/", 1)[1]))
    assert rows.split() == [f"{m.version}|{m.name}" for m in migrations()]


def test_editor_migrate_reports_progress_and_version(
        postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    url = postgres_server.new_database(migrated=False)
    monkeypatch.setenv("EDITOR_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "applied 0001_initial (" in out and " ms)" in out
    assert f"schema at version {migrations()[-1].version} (" in out
    assert main(["migrate"]) == 0
    assert "already up to date" in capsys.readouterr().out


def test_editor_migrate_names_an_unreachable_database(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EDITOR_DATABASE_URL",
                       f"postgresql://postgres:secret@127.0.0.1:{free_port()}/editor")
    assert main(["migrate"]) == 1
    err = capsys.readouterr().err
    assert "migration failed" in err and "secret" not in err


async def test_multi_host_url_finds_the_writable_server(postgres_server: PostgresServer
                                                        ) -> None:
    url = await trio.to_thread.run_sync(postgres_server.new_database)
    database = url.rsplit("/", 1)[1]
    multi = (f"postgresql://postgres@127.0.0.1:{free_port()},127.0.0.1:{postgres_server.port}"
             f"/{database}?target_session_attrs=read-write")
    with trio.fail_after(30):
        async with opened_postgres_store(multi) as store:
            doc_id = await _document(store)
            await store.append(doc_id, [_op(doc_id, 0, [{"insert": "x"}], 1)])
            assert await store.head(doc_id) == 1


async def test_any_string_the_editor_accepts_round_trips(postgres_url: str) -> None:
    delta = [{"insert": "nul \x00 emoji \U0001F600 quote \" back \\ \u2028",
              "attributes": {"link": "https://example.test/?q=\x00"}}]
    with trio.fail_after(30):
        async with opened_postgres_store(postgres_url) as store:
            doc_id = await _document(store)
            op = _op(doc_id, 0, delta, 1)
            await store.append(doc_id, [op])
            assert await store.read_ops(doc_id, 0, 1) == [op]


async def test_a_commit_cut_off_mid_flight_is_unknown_then_settled(
        postgres_server: PostgresServer, postgres_url: str) -> None:
    """The connection dies while the append waits: the outcome is unknown, not failed."""
    database = postgres_url.rsplit("/", 1)[1]
    with trio.fail_after(30):
        async with opened_postgres_store(postgres_url) as store:
            doc_id = await _document(store)

            def run_psql(sql: str) -> str:
                return postgres_server.psql(sql, database)

            async with trio.open_nursery() as nursery:
                # Another session holds the document's row, so the append waits on it.
                nursery.start_soon(trio.to_thread.run_sync, run_psql,
                                   f"BEGIN; SELECT 1 FROM documents WHERE id = '{doc_id}'"
                                   " FOR UPDATE; SELECT pg_sleep(1.5); COMMIT")
                await _until(partial(run_psql, "SELECT pid FROM pg_stat_activity"
                                     " WHERE pid <> pg_backend_pid()"
                                     " AND query LIKE '%pg_sleep(1.5)%'"))

                nursery.start_soon(_until, partial(
                    run_psql, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    " AND query LIKE '%WITH moved%'"))
                ops = [_op(doc_id, 0, [{"insert": "a"}], 1), _op(doc_id, 1, [{"insert": "b"}], 2)]
                with pytest.raises(CommitUnknown):
                    await store.append(doc_id, ops)
                keys = [(op.user_id, op.client_id, op.seq) for op in ops]
                settled = await store.read_for_commit(doc_id, None, (), keys)
                assert settled.seq_versions == {}  # the committer would retry: nothing landed
                await store.append(doc_id, ops)  # the pool replaced the dead connection
                settled = await store.read_for_commit(doc_id, None, (), keys)
                assert settled.seq_versions == {keys[0]: 0, keys[1]: 1}


async def _listeners(server: PostgresServer, database: str) -> set[str]:
    """The backend pids of the database's LISTEN connections."""
    out = await trio.to_thread.run_sync(partial(
        server.psql, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'LISTEN%'"
        f" AND datname = '{database}'"))
    return set(out.split())


async def _until_listening(server: PostgresServer, database: str, count: int,
                           not_in: frozenset[str] | set[str] = frozenset()) -> set[str]:
    while True:
        pids = await _listeners(server, database) - not_in
        if len(pids) >= count:
            return pids
        await trio.sleep(0.02)


async def test_commit_notices_reach_the_other_stores_only(
        postgres_server: PostgresServer, postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    seen: dict[str, list[tuple[str, int]]] = {"a": [], "b": []}
    arrived = {"a": trio.Event(), "b": trio.Event()}

    def notice(name: str, doc_id: str, head: int) -> None:
        seen[name].append((doc_id, head))
        arrived[name].set()

    with trio.fail_after(30):
        async with opened_postgres_store(postgres_url) as a, \
                opened_postgres_store(postgres_url) as b, trio.open_nursery() as nursery:
            doc_id = await _document(a)
            nursery.start_soon(a.follow_commits, partial(notice, "a"))
            nursery.start_soon(b.follow_commits, partial(notice, "b"))
            await _until_listening(postgres_server, database, 2)
            await b.append(doc_id, [_op(doc_id, 0, [{"insert": "x"}], 1)])
            with trio.fail_after(2):
                await arrived["a"].wait()
            await a.append(doc_id, [_op(doc_id, 1, [{"insert": "y"}], 2)])
            with trio.fail_after(2):
                await arrived["b"].wait()
            await trio.sleep(0.1)  # time for a notice that should not come
            assert seen == {"a": [(doc_id, 1)], "b": [(doc_id, 2)]}
            nursery.cancel_scope.cancel()


async def test_commit_notices_come_back_after_the_connection_is_lost(
        postgres_server: PostgresServer, postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    heads: list[int] = []
    arrived = trio.Event()

    def notice(_doc_id: str, head: int) -> None:
        heads.append(head)
        arrived.set()

    with trio.fail_after(30):
        async with opened_postgres_store(postgres_url) as listener, \
                opened_postgres_store(postgres_url) as writer, trio.open_nursery() as nursery:
            doc_id = await _document(writer)
            nursery.start_soon(listener.follow_commits, notice)
            first = await _until_listening(postgres_server, database, 1)
            await trio.to_thread.run_sync(partial(
                postgres_server.psql,
                f"SELECT pg_terminate_backend({first.pop()})"))
            await _until_listening(postgres_server, database, 1, not_in=first)
            await writer.append(doc_id, [_op(doc_id, 0, [{"insert": "x"}], 1)])
            with trio.fail_after(2):
                await arrived.wait()
            assert heads == [1]
            nursery.cancel_scope.cancel()


async def test_history_reads_from_a_lagging_replica_fall_back_to_the_primary(
        postgres_server: PostgresServer, postgres_url: str) -> None:
    # An empty database of the same schema plays a replica that has seen none of it yet.
    behind = await trio.to_thread.run_sync(postgres_server.new_database)
    with trio.fail_after(30):
        async with opened_postgres_store(
                postgres_url, settings=PoolSettings(read_url=behind)) as store:
            doc_id = await _document(store)
            ops = [_op(doc_id, v, [{"insert": str(v)}], v + 1) for v in range(3)]
            await store.append(doc_id, ops)
            assert await store.read_ops(doc_id, 0, 3) == ops
            assert (await store.latest_snapshot(doc_id)).version == 0
