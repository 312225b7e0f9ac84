"""The ``Outbox`` contract: every domain change leaves its PROTOCOL §5 event, in commit order,
until published; the op log's relay marks."""

from __future__ import annotations

from editor.store import CommittedOp, Store


async def _types(store: Store) -> list[tuple[str, str, str]]:
    return [(e.topic, e.key, e.body["type"]) for e in await store.outbox_pending(1000)]


async def test_changes_write_their_events_in_order(store: Store) -> None:
    owner = await store.create_user("o@example.test", "O", "hash")
    other = await store.create_user("m@example.test", "M", "hash")
    meta = await store.create_document(owner.id, "t", [{"insert": "\n"}])
    await store.set_title(meta.id, "renamed")
    await store.set_member(meta.id, other.id, "editor")
    await store.remove_member(meta.id, other.id)
    await store.remove_member(meta.id, other.id)  # nothing to remove: no event
    await store.verify_email(other.id)
    await store.add_refresh_token("h", "f", owner.id, 99.0, sign_in=True)
    await store.add_refresh_token("h2", "f", owner.id, 99.0)  # a rotation is no sign-in
    await store.delete_document(meta.id)
    d, u = "document-events", "user-events"
    assert await _types(store) == [
        (u, owner.id, "user.registered"), (u, other.id, "user.registered"),
        (d, meta.id, "document.created"), (d, meta.id, "member.put"),
        (d, meta.id, "document.updated"), (d, meta.id, "member.put"),
        (d, meta.id, "member.removed"), (u, other.id, "user.verified"),
        (u, owner.id, "user.signed_in"), (d, meta.id, "document.deleted"),
    ]
    bodies = [e.body for e in await store.outbox_pending(1000)]
    assert bodies[4]["title"] == "renamed" and bodies[5]["role"] == "editor"
    assert bodies[6]["role"] is None
    assert all(set(b) >= {"id", "type", "at"} for b in bodies)
    assert all("email" not in b and "password" not in str(b) for b in bodies)


async def test_pending_until_published(store: Store) -> None:
    owner = await store.create_user("o@example.test", "O", "hash")
    for title in ("a", "b", "c"):
        await store.create_document(owner.id, title, [{"insert": "\n"}])
    first = await store.outbox_pending(3)
    assert [e.position for e in first] == sorted(e.position for e in first)
    again = await store.outbox_pending(3)
    assert [e.body["id"] for e in again] == [e.body["id"] for e in first]  # at least once
    await store.outbox_published(first[1].position)
    rest = await store.outbox_pending(100)
    assert rest[0].position == first[2].position
    assert await store.outbox_size() == len(rest)


async def test_op_relay_marks(store: Store) -> None:
    owner = await store.create_user("o@example.test", "O", "hash")
    doc_id = (await store.create_document(owner.id, "t", [{"insert": "\n"}])).id
    assert await store.ops_unrelayed(10) == []
    await store.append(doc_id, [CommittedOp(doc_id, v, [{"insert": "x"}], owner.id, "c", v + 1,
                                            1.0) for v in range(3)])
    assert await store.ops_unrelayed(10) == [(doc_id, 0, 3)]
    await store.ops_relayed({doc_id: 2})
    assert await store.ops_unrelayed(10) == [(doc_id, 2, 3)]
    await store.ops_relayed({doc_id: 1})  # never backwards
    await store.ops_relayed({})
    await store.ops_relayed({doc_id: 3, "missing": 5})
    assert await store.ops_unrelayed(10) == []


async def test_one_relay_holds_the_lease_until_it_expires(store: Store) -> None:
    assert await store.claim_relay("a", ttl_s=10, now=100.0)
    assert not await store.claim_relay("b", ttl_s=10, now=105.0)
    assert await store.claim_relay("a", ttl_s=10, now=108.0)  # renewed: until 118
    assert not await store.claim_relay("b", ttl_s=10, now=117.0)
    assert await store.claim_relay("b", ttl_s=10, now=118.5)  # expired: taken over
    assert not await store.claim_relay("a", ttl_s=10, now=119.0)
