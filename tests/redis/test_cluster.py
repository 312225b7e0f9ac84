"""Sharded pub/sub on the session's 6-node cluster: documents on different masters."""

from __future__ import annotations

import itertools

import trio
from redis.crc import key_slot

from editor.bus import LeaveMessage
from editor.bus.redis import opened_redis
from editor.bus.redis.bus import channel_name
from tests.support.redis import RedisClusterServers


def master_port_of(cluster: RedisClusterServers, channel: str) -> int:
    """The port of the master that owns ``channel``'s slot."""
    slot = key_slot(channel.encode())
    with cluster.servers[0].client() as client:
        for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
            if start <= slot <= end:
                return int(master[1])
    raise AssertionError(f"no master owns slot {slot}")


async def test_documents_on_different_masters_both_arrive(
    redis_cluster: RedisClusterServers,
) -> None:
    docs = {}
    for doc_id in (f"doc{n}" for n in itertools.count()):
        docs.setdefault(master_port_of(redis_cluster, channel_name(doc_id)), doc_id)
        if len(docs) == 2:
            break
    first, second = docs.values()
    with trio.fail_after(10):
        async with opened_redis(redis_cluster.url, origin="p1") as sender, \
                opened_redis(redis_cluster.url, origin="p2") as receiver, \
                receiver.bus.subscribe(first) as first_channel, \
                receiver.bus.subscribe(second) as second_channel:
            await sender.bus.publish(LeaveMessage("p1", first, "c1"))
            await sender.bus.publish(LeaveMessage("p1", second, "c2"))
            assert await first_channel.receive() == LeaveMessage("p1", first, "c1")
            assert await second_channel.receive() == LeaveMessage("p1", second, "c2")
            for port, doc_id in docs.items():
                master = next(s for s in redis_cluster.servers if s.port == port)
                with master.client() as client:  # sharded: each master holds its own channel
                    assert client.execute_command("PUBSUB SHARDCHANNELS") == [
                        channel_name(doc_id).encode()]
