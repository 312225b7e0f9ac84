"""Sharded pub/sub on the session's 6-node cluster: documents on different masters."""

from __future__ import annotations

import gc
import itertools

import pytest
import trio
from redis.crc import key_slot

from editor.bus import LeaveMessage
from editor.bus.redis import opened_redis
from editor.bus.redis.bus import channel_name
from tests.redis.test_outage import wait_flowing
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


# redis-py 8.2's topology refresh drops the seed nodes' connections without closing them
# (ResourceWarning when collected); collected here, inside this test, they warn nowhere else.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_fan_out_recovers_within_5_s_of_a_master_killed(
    redis_cluster: RedisClusterServers,
) -> None:
    port = master_port_of(redis_cluster, channel_name("d"))
    victim = next(s for s in redis_cluster.servers if s.port == port)
    try:
        with trio.fail_after(20):
            async with opened_redis(redis_cluster.url, origin="p1") as backends, \
                    backends.bus.subscribe("d") as channel:
                await wait_flowing(backends, channel)
                await trio.to_thread.run_sync(victim.kill)
                with trio.fail_after(5):  # failover (node timeout 1 s) and the reader's backoff
                    await wait_flowing(backends, channel)
                assert await backends.limiter.take("k", 1.0, 2.0) == 0.0
        gc.collect()
    finally:
        # Back as a replica of the promoted one: the session's cluster is whole again.
        await trio.to_thread.run_sync(victim.start)
        await trio.to_thread.run_sync(redis_cluster.wait_ready)
