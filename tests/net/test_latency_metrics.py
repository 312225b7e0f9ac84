"""PROTOCOL.md §6 latency histograms: an op's ack and its fan-out to another session."""

from __future__ import annotations

import trio
from prometheus_client import REGISTRY

from tests.conftest import InProcessServer
from tests.support.api import create_document, sign_up
from tests.support.raw import connect


def _count(name: str) -> float:
    return REGISTRY.get_sample_value(f"{name}_count") or 0.0


async def test_ack_and_fanout_are_measured(server: InProcessServer) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner))["id"]
    acks, fanouts = _count("editor_op_ack_seconds"), _count("editor_fanout_seconds")
    with trio.fail_after(10):
        async with connect(server.ws_url, doc_id) as a, connect(server.ws_url, doc_id) as b:
            await a.hello(owner.access_token, "a")
            await b.hello(owner.access_token, "b")
            for seq in (1, 2):
                await a.send({"type": "op", "seq": seq, "version": seq - 1,
                              "delta": [{"insert": "x"}]})
                await a.recv_type("ack")
                await b.recv_type("op")
    assert _count("editor_op_ack_seconds") - acks == 2
    assert _count("editor_fanout_seconds") - fanouts == 2
    slowest_bucket = REGISTRY.get_sample_value("editor_op_ack_seconds_bucket", {"le": "5.0"})
    assert slowest_bucket is not None
