"""Issue 13's "Done when": a few users edit a few documents on the separate services
(PostgreSQL + Kafka + S3), then every event and snapshot is where PROTOCOL.md §5 says; and
the same story on ``editor serve`` with the embedded defaults."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from editor.events.shapes import COLLABORATION_EVENTS, DOCUMENT_EVENTS, USER_EVENTS, Event
from tests.e2e.conftest import (
    ARCHIVE_EVERY_OPS,
    ARCHIVE_IDLE_S,
    bucket_objects,
    new_stack,
)
from tests.e2e.support import (
    Stack,
    check_op_events,
    edit,
    heads_covered,
    metric,
    no_secrets,
    read_events,
    scrape,
    wait_until,
)
from tests.support.api import Account, create_document, share, sign_up
from tests.support.kafka import TansuBroker
from tests.support.s3 import MotoServer, fresh_bucket
from tests.support.servers import LiveServer, free_port

pytestmark = pytest.mark.slow


class Story:
    """Three users, four documents: shared, renamed, deleted, edited over WebSocket."""

    def __init__(self) -> None:
        self.users: list[Account] = []
        self.docs: dict[str, Account] = {}  # doc_id → owner
        self.renamed = ""
        self.deleted = ""
        self.shared = ""

    async def sign_up(self, auth_url: str) -> None:
        async with httpx.AsyncClient(base_url=auth_url, timeout=10) as http:
            self.users = [await sign_up(http, name) for name in ("ada", "bob", "cy")]

    async def documents(self, documents_url: str) -> None:
        ada, bob, cy = self.users
        async with httpx.AsyncClient(base_url=documents_url, timeout=10) as http:
            for owner, title in ((ada, "plan"), (ada, "notes"), (bob, "poem"), (cy, "tmp")):
                doc = await create_document(http, owner, title=title,
                                            content=[{"insert": f"{title}\n"}])
                self.docs[doc["id"]] = owner
            plan, notes, _, tmp = self.docs
            await share(http, ada, plan, bob, "editor")
            self.shared = plan
            renamed = await http.patch(f"/v1/documents/{notes}", json={"title": "notes v2"},
                                       headers=ada.headers)
            assert renamed.status_code == 200, renamed.text
            self.renamed = notes
            deleted = await http.delete(f"/v1/documents/{tmp}", headers=cy.headers)
            assert deleted.status_code == 204, deleted.text
            self.deleted = tmp
            del self.docs[tmp]

    async def edit(self, ws_url: str, ops_each: int = 5) -> None:
        """Every live document edited by its owner; the shared one by bob too, at once."""
        ada, bob, _ = self.users
        async with trio.open_nursery() as nursery:
            for doc_id, owner in self.docs.items():
                nursery.start_soon(edit, ws_url, doc_id, owner,
                                   [f"{owner.name}{n} " for n in range(ops_each)])
            nursery.start_soon(edit, ws_url, self.shared, bob,
                               [f"bob{n} " for n in range(ops_each)])

    async def heads(self, documents_url: str) -> dict[str, int]:
        heads: dict[str, int] = {}
        async with httpx.AsyncClient(base_url=documents_url, timeout=10) as http:
            for doc_id, owner in self.docs.items():
                state = (await http.get(f"/v1/documents/{doc_id}", headers=owner.headers))
                heads[doc_id] = state.json()["version"]
        return heads

    def expected_snapshots(self, heads: dict[str, int]) -> set[str]:
        """The multiples of the cadence each head passed, and each head (idle)."""
        return {f"snapshots/{doc_id}/{version}.json" for doc_id, head in heads.items()
                for version in [*range(ARCHIVE_EVERY_OPS, head + 1, ARCHIVE_EVERY_OPS), head]}

    async def check_snapshots(self, documents_url: str, objects: dict[str, Any]) -> None:
        """Each object's content is what the history route answers for its version."""
        async with httpx.AsyncClient(base_url=documents_url, timeout=10) as http:
            for key, body in objects.items():
                _, doc_id, name = key.split("/")
                version = int(name.removesuffix(".json"))
                assert (body["doc_id"], body["version"]) == (doc_id, version), key
                assert body["archived_at"].endswith("Z"), body
                past = await http.get(f"/v1/documents/{doc_id}/versions/{version}",
                                      headers=self.docs[doc_id].headers)
                assert past.status_code == 200, past.text
                assert past.json() == {"version": version, "content": body["content"]}, key

    def check_document_events(self, delivered: list[Event], archived: set[str]) -> None:
        ada, bob, cy = self.users
        events = distinct(delivered)
        for event in events:
            assert event.key == event.body["doc_id"], event
        kinds = Counter(e.type for e in events)
        created = {e.body["doc_id"]: e.body for e in events if e.type == "document.created"}
        assert set(created) == {*self.docs, self.deleted}, created
        for doc_id, body in created.items():
            owner = self.docs.get(doc_id, cy)
            assert set(body) == {"id", "type", "at", "doc_id", "owner_id", "title"}, body
            assert body["owner_id"] == owner.id
        updated = [e.body for e in events if e.type == "document.updated"]
        assert [(b["doc_id"], b["title"], b["owner_id"]) for b in updated] == [
            (self.renamed, "notes v2", ada.id)], updated
        deleted = [e.body for e in events if e.type == "document.deleted"]
        assert [(b["doc_id"], b["owner_id"]) for b in deleted] == [(self.deleted, cy.id)]
        members = [e.body for e in events if e.type == "member.put"]
        # The owner's role comes with each document, then bob's share.
        assert {(b["doc_id"], b["user_id"], b["role"]) for b in members} == {
            (self.shared, bob.id, "editor"),
            *((doc_id, owner.id, "owner") for doc_id, owner in
              [*self.docs.items(), (self.deleted, cy)])}, members
        for body in members:
            assert set(body) == {"id", "type", "at", "doc_id", "user_id", "role"}, body
        announced = {e.body["key"] for e in events if e.type == "snapshot.archived"}
        assert announced >= archived, sorted(archived - announced)
        for event in events:
            if event.type == "snapshot.archived":
                body = event.body
                assert body["key"] == f"snapshots/{body['doc_id']}/{body['version']}.json"
        assert kinds["document.restored"] == 0

    def check_user_events(self, delivered: list[Event]) -> None:
        events = distinct(delivered)
        for event in events:
            assert event.key == event.body["user_id"], event
            assert set(event.body) == {"id", "type", "at", "user_id"}, event.body
        kinds = {(e.type, e.body["user_id"]) for e in events}
        for user in self.users:
            assert ("user.registered", user.id) in kinds
            assert ("user.signed_in", user.id) in kinds


def distinct(events: list[Event]) -> list[Event]:
    """The first delivery of each event id; a repeat must be the same event (at least once:
    several relays may publish one outbox row before one of them marks it)."""
    first: dict[str, Event] = {}
    for event in events:
        if event.id in first:
            assert first[event.id] == event, (first[event.id], event)
            continue
        first[event.id] = event
    return list(first.values())


def all_of(*types: str) -> Any:
    """``done`` for ``read_events``: at least one event of each of ``types`` … and a pause
    is enough, since outbox events were all written before the read began."""
    def done(events: list[Event]) -> bool:
        return all(any(e.type == t for e in events) for t in types)
    return done


async def worker_lag_is_zero(stack: Stack) -> bool:
    for name, group in (("reconciler", "reconciliation-group"),
                        ("archiver", "storage-group")):
        samples = await scrape(stack[name].http_url)
        lag = metric(samples, "editor_kafka_consumer_lag", group=group,
                     topic=COLLABORATION_EVENTS)
        if lag != 0:
            return False
    return True


async def test_separate_services_on_postgres_kafka_s3(
        tmp_path: Path, postgres_url: str, broker: TansuBroker, shared_moto: MotoServer,
        stacks: list[Stack]) -> None:
    bucket = fresh_bucket()
    stack = new_stack(tmp_path, postgres_url, broker, shared_moto, bucket)
    stacks.append(stack)
    stack.start(stack.services)
    story = Story()
    with trio.fail_after(60):
        await story.sign_up(stack["auth"].http_url)
        await story.documents(stack["documents"].http_url)
        await story.edit(stack["collaboration"].ws_url)
        heads = await story.heads(stack["documents"].http_url)
        assert sorted(heads.values()) == [5, 5, 10], heads

        ops = await read_events(broker.bootstrap, [COLLABORATION_EVENTS],
                                heads_covered(heads), within_s=20)
        check_op_events(ops, heads)

        expected = story.expected_snapshots(heads)

        async def all_archived() -> bool:
            return set(await bucket_objects(shared_moto, bucket)) >= expected

        await wait_until(all_archived, 15 + ARCHIVE_IDLE_S, f"snapshots {sorted(expected)}")
        objects = await bucket_objects(shared_moto, bucket)
        assert set(objects) >= expected  # extra idle heads under load: checked too
        await story.check_snapshots(stack["documents"].http_url, objects)

        def documents_done(events: list[Event]) -> bool:
            announced = {e.body.get("key") for e in events if e.type == "snapshot.archived"}
            return all_of("document.created", "document.updated", "document.deleted",
                          "member.put")(events) and announced >= expected

        documents = await read_events(broker.bootstrap, [DOCUMENT_EVENTS], documents_done,
                                      within_s=20)
        story.check_document_events(documents, expected)
        users = await read_events(
            broker.bootstrap, [USER_EVENTS],
            lambda events: len({(e.type, e.key) for e in events}) >= 6, within_s=20)
        story.check_user_events(users)
        no_secrets([*ops, *documents, *users], story.users)

        await wait_until(lambda: worker_lag_is_zero(stack), 20, "consumer lag back to 0")
        for name in ("auth", "documents", "collaboration"):
            samples = await scrape(stack[name].http_url)
            assert metric(samples, "editor_outbox_pending") == 0, name
        # Every process with a relay may publish any pending op (repeats keep their ids).
        produced = 0.0
        for name in ("auth", "documents", "collaboration"):
            produced += metric(await scrape(stack[name].http_url),
                               "editor_events_produced_total",
                               topic=COLLABORATION_EVENTS) or 0.0
        assert produced >= sum(heads.values())
        archiver = await scrape(stack["archiver"].http_url)
        assert metric(archiver, "editor_archive_writes_total") >= len(expected)
        reconciler = await scrape(stack["reconciler"].http_url)
        assert metric(reconciler, "editor_reconciler_divergence_total") == 0
    codes = stack.stop_all()
    assert set(codes.values()) == {0}, (codes, stack.logs())


async def test_editor_serve_with_embedded_defaults(tmp_path: Path) -> None:
    """One process, SQLite, the in-process stream, DATA_DIR/archive: the events cannot be
    read from outside, so what is checked is what they cause (the archive, which only the
    archiver fed from op.committed writes) and the outbox drained (metrics and the table)."""
    metrics_port = free_port()
    live = LiveServer(tmp_path / "data", env={
        "EDITOR_ARCHIVE_EVERY_OPS": str(ARCHIVE_EVERY_OPS),
        "EDITOR_ARCHIVE_IDLE_S": str(ARCHIVE_IDLE_S),
        "EDITOR_METRICS_PORT": str(metrics_port), "EDITOR_LOG_LEVEL": "info"})
    live.start()
    try:
        story = Story()
        with trio.fail_after(40):
            await story.sign_up(live.http_url)
            await story.documents(live.http_url)
            await story.edit(live.ws_url)
            heads = await story.heads(live.http_url)
            expected = story.expected_snapshots(heads)
            archive = live.data_dir / "archive"

            async def all_archived() -> bool:
                return {str(p.relative_to(archive)) for p in archive.rglob("*.json")} >= expected

            await wait_until(all_archived, 15, f"snapshots {sorted(expected)}")
            objects = {str(p.relative_to(archive)): json.loads(p.read_text())
                       for p in archive.rglob("*.json")}
            # An edit pause longer than the idle time (a loaded machine) archives an extra head
            # on the way: more snapshots, each still checked against history below.
            assert set(objects) >= expected
            await story.check_snapshots(live.http_url, objects)
            metrics_url = f"http://127.0.0.1:{metrics_port}"

            async def drained() -> bool:
                samples = await scrape(metrics_url)
                return metric(samples, "editor_outbox_pending") == 0

            await wait_until(drained, 10, "outbox drained")
            samples = await scrape(metrics_url)
            assert metric(samples, "editor_archive_writes_total") >= len(expected)
            assert metric(samples, "editor_reconciler_divergence_total") == 0
        # No event is left in the outbox table: each one reached the in-process stream.
        with sqlite3.connect(live.data_dir / "editor.db") as db:
            assert db.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
            rows = db.execute("SELECT id, head, relayed_head FROM documents").fetchall()
        assert {doc_id: (head, relayed) for doc_id, head, relayed in rows
                if doc_id in heads} == {doc_id: (head, head) for doc_id, head in heads.items()}
    finally:
        code = live.stop()
    assert code == 0, live.log_path.read_text()[-3000:] if live.log_path else ""

