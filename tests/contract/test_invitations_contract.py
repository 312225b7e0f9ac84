"""The ``Invitations`` contract: roles waiting for an email that has no account yet, turned
into memberships (with their ``member.put`` events) in one transaction."""

from __future__ import annotations

from editor.store import Store


async def _setup(store: Store) -> tuple[str, str]:
    owner = await store.create_user("owner@example.test", "O", "hash")
    meta = await store.create_document(owner.id, "t", [{"insert": "\n"}])
    return owner.id, meta.id


async def _events_after(store: Store, position: int) -> list[dict[str, object]]:
    return [e.body for e in await store.outbox_pending(1000) if e.position > position]


async def _last_position(store: Store) -> int:
    pending = await store.outbox_pending(1000)
    return pending[-1].position if pending else 0


async def test_invite_lists_updates_and_revokes_case_insensitively(store: Store) -> None:
    owner_id, doc_id = await _setup(store)
    assert await store.invite(doc_id, "New.Person@Example.test", "viewer", owner_id) is True
    assert await store.invite(doc_id, "new.person@example.TEST", "editor", owner_id) is False
    assert await store.invite(doc_id, "another@example.test", "viewer", owner_id) is True
    listed = await store.invitations(doc_id)
    assert [(i.email, i.role, i.invited_by) for i in listed] == [
        ("another@example.test", "viewer", owner_id),
        ("New.Person@Example.test", "editor", owner_id),  # as first typed; role updated
    ]
    assert all(i.doc_id == doc_id and i.created_at > 0 for i in listed)
    assert await store.revoke_invitation(doc_id, "NEW.PERSON@example.test") is True
    assert await store.revoke_invitation(doc_id, "new.person@example.test") is False
    assert [i.email for i in await store.invitations(doc_id)] == ["another@example.test"]


async def test_invitations_are_per_document(store: Store) -> None:
    owner_id, doc_id = await _setup(store)
    other = await store.create_document(owner_id, "u", [{"insert": "\n"}])
    await store.invite(doc_id, "x@example.test", "viewer", owner_id)
    assert await store.invitations(other.id) == []
    assert await store.revoke_invitation(other.id, "x@example.test") is False


async def test_accepting_grants_roles_with_events_and_spends_the_invitations(
        store: Store) -> None:
    owner_id, doc_id = await _setup(store)
    second = (await store.create_document(owner_id, "second", [{"insert": "\n"}])).id
    await store.invite(doc_id, "Invitee@Example.test", "editor", owner_id)
    await store.invite(second, "invitee@example.test", "viewer", owner_id)
    invitee = await store.create_user("invitee@example.test", "I", "hash")
    mark = await _last_position(store)

    granted = await store.accept_invitations(invitee.id, "INVITEE@example.test")

    assert sorted(granted) == sorted([(doc_id, "editor"), (second, "viewer")])
    assert await store.role_of(doc_id, invitee.id) == "editor"
    assert await store.role_of(second, invitee.id) == "viewer"
    assert await store.invitations(doc_id) == [] and await store.invitations(second) == []
    events = await _events_after(store, mark)
    assert sorted((e["type"], e["doc_id"], e["user_id"], e["role"]) for e in events) == sorted([
        ("member.put", doc_id, invitee.id, "editor"), ("member.put", second, invitee.id,
                                                       "viewer")])
    assert all("email" not in e for e in events)
    # Accepting again finds nothing and writes nothing.
    assert await store.accept_invitations(invitee.id, invitee.email) == []
    assert await _events_after(store, await _last_position(store)) == []


async def test_accepting_keeps_an_existing_role_and_skips_deleted_documents(
        store: Store) -> None:
    owner_id, doc_id = await _setup(store)
    gone = (await store.create_document(owner_id, "gone", [{"insert": "\n"}])).id
    user = await store.create_user("member@example.test", "M", "hash")
    await store.set_member(doc_id, user.id, "editor")
    await store.invite(doc_id, user.email, "viewer", owner_id)  # a race with the member
    await store.invite(gone, user.email, "editor", owner_id)
    await store.delete_document(gone)
    mark = await _last_position(store)

    assert await store.accept_invitations(user.id, user.email) == []

    assert await store.role_of(doc_id, user.id) == "editor"  # never lowered
    assert await store.invitations(doc_id) == [] and await store.invitations(gone) == []
    assert await _events_after(store, mark) == []


async def test_another_connection_sees_invitations(store: Store, other_store: Store) -> None:
    owner_id, doc_id = await _setup(store)
    await store.invite(doc_id, "seen@example.test", "viewer", owner_id)
    assert [i.email for i in await other_store.invitations(doc_id)] == ["seen@example.test"]
    user = await other_store.create_user("seen@example.test", "S", "hash")
    assert await other_store.accept_invitations(user.id, user.email) == [(doc_id, "viewer")]
    assert await store.role_of(doc_id, user.id) == "viewer"
