"""`editor serve` runs the reconciler and the archiver on its embedded stream."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

import trio

from editor.archive import LocalArchive
from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up
from tests.support.raw import connect


async def archived(archive: LocalArchive, doc_id: str, *, count: int) -> None:
    """Return once the document has ``count`` archived snapshots (polling the folder)."""
    for _ in range(400):
        if len(await archive.list(f"snapshots/{doc_id}/")) >= count:
            return
        await trio.sleep(0.05)
    raise AssertionError(f"fewer than {count} snapshots archived")


async def test_edits_reach_the_archive_and_snapshots(
        make_server: Callable[..., Awaitable[InProcessServer]]) -> None:
    server = await make_server(archive_every_ops=3, snapshot_every_ops=3, archive_idle_s=0.5)
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    with trio.fail_after(20):
        async with connect(server.ws_url, doc_id) as client:
            await client.hello(owner.access_token)
            for seq in range(1, 5):
                await client.send({"type": "op", "seq": seq, "version": seq - 1,
                                   "delta": [{"insert": f"{seq},"}]})
                await client.recv_type("ack")
        archive = LocalArchive(server.cfg.data_dir / "archive")
        # Version 3 passes the cadence; version 4 is archived once the document is idle.
        await archived(archive, doc_id, count=2)
    assert await archive.list(f"snapshots/{doc_id}/") == [
        f"snapshots/{doc_id}/3.json", f"snapshots/{doc_id}/4.json"]
    for version in (3, 4):
        body = json.loads(await archive.get(f"snapshots/{doc_id}/{version}.json"))
        past = (await server.http.get(f"/v1/documents/{doc_id}/versions/{version}",
                                      headers=owner.headers)).json()
        assert body["content"] == past["content"]
