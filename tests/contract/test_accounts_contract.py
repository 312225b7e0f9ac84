"""The account half of the ``Store`` contract: users, refresh tokens, email tokens, identities."""

from __future__ import annotations

import random

import pytest

from editor.store import DuplicateEmail, InvalidRefresh, RefreshReuse, Store


async def test_emails_are_unique_case_insensitively(store: Store) -> None:
    user = await store.create_user("Ada@Example.test", "Ada", "hash")
    for variant in ("ada@example.test", "ADA@EXAMPLE.TEST"):
        with pytest.raises(DuplicateEmail):
            await store.create_user(variant, "Other", "hash")
        found = await store.user_by_email(variant)
        assert found is not None and found.id == user.id
    assert found.email == "Ada@Example.test"  # kept as typed
    assert await store.user_by_email("nobody@example.test") is None
    assert await store.user_by_id("missing") is None


async def test_keys_no_row_can_hold_match_nothing(store: Store) -> None:
    """A NUL character (which PostgreSQL text cannot hold) in a looked-up key finds nothing."""
    owner = await store.create_user("nul@example.test", "N", "hash")
    doc = await store.create_document(owner.id, "T", [{"insert": "\n"}])
    assert await store.user_by_email("nul@example.test\x00") is None
    assert await store.document(doc.id + "\x00") is None
    assert await store.role_of(doc.id + "\x00", owner.id) is None
    assert await store.role_of(doc.id, owner.id + "\x00") is None


async def test_expiry_is_exact_to_the_microsecond(store: Store) -> None:
    """A refresh token is refused at its expiry instant, however the float rounds."""
    user = await store.create_user("us@example.test", "U", "hash")
    instants = random.Random(7)
    for n in range(20):  # about a third of such floats come back a hair later from µs
        expires = 1_765_000_000 + instants.random() * 1000
        await store.add_refresh_token(f"t{n}", f"f{n}", user.id, expires_at=expires)
        with pytest.raises(InvalidRefresh, match="expired"):
            await store.spend_refresh_token(f"t{n}", now=expires)


async def test_password_less_verified_accounts(store: Store) -> None:
    user = await store.create_user("oidc@example.test", "O", "", email_verified=True)
    found = await store.user_by_id(user.id)
    assert found is not None and found.email_verified and found.password_hash == ""
    other = await store.create_user("pw@example.test", "P", "hash")
    await store.verify_email(other.id, clear_password=True)
    cleared = await store.user_by_id(other.id)
    assert cleared is not None and cleared.password_hash == "" and cleared.email_verified


async def test_refresh_tokens_rotate_and_reuse_revokes_the_family(store: Store) -> None:
    user = await store.create_user("r@example.test", "R", "hash")
    await store.add_refresh_token("t1", "fam", user.id, expires_at=100.0)
    assert await store.spend_refresh_token("t1", now=10.0) == (user.id, "fam")
    await store.add_refresh_token("t2", "fam", user.id, expires_at=100.0)
    with pytest.raises(RefreshReuse):
        await store.spend_refresh_token("t1", now=11.0)
    with pytest.raises(InvalidRefresh, match="revoked"):
        await store.spend_refresh_token("t2", now=12.0)  # the newest one went with the family


async def test_refresh_tokens_expire_and_logout_revokes(store: Store) -> None:
    user = await store.create_user("e@example.test", "E", "hash")
    await store.add_refresh_token("old", "f1", user.id, expires_at=50.0)
    with pytest.raises(InvalidRefresh, match="expired"):
        await store.spend_refresh_token("old", now=50.0)
    await store.add_refresh_token("live", "f2", user.id, expires_at=500.0)
    await store.revoke_refresh_family("live", now=60.0)
    with pytest.raises(InvalidRefresh, match="revoked"):
        await store.spend_refresh_token("live", now=61.0)
    with pytest.raises(InvalidRefresh, match="unknown"):
        await store.spend_refresh_token("never-issued", now=61.0)


async def test_email_tokens_verify_once_and_expire(store: Store) -> None:
    user = await store.create_user("v@example.test", "V", "hash")
    await store.add_email_token("a", user.id, user.email, expires_at=100.0)
    await store.add_email_token("b", user.id, user.email, expires_at=100.0)
    await store.add_email_token("late", user.id, user.email, expires_at=5.0)
    assert await store.spend_email_token("late", now=5.0) is None
    assert await store.spend_email_token("unknown", now=1.0) is None
    assert await store.spend_email_token("a", now=10.0) == user.id
    verified = await store.user_by_id(user.id)
    assert verified is not None and verified.email_verified
    assert await store.spend_email_token("a", now=11.0) is None  # single use
    assert await store.spend_email_token("b", now=11.0) is None  # the others are spent too


async def test_email_tokens_for_another_address_are_refused(store: Store) -> None:
    user = await store.create_user("now@example.test", "N", "hash")
    await store.add_email_token("stale", user.id, "before@example.test", expires_at=100.0)
    assert await store.spend_email_token("stale", now=1.0) is None
    unverified = await store.user_by_id(user.id)
    assert unverified is not None and not unverified.email_verified


async def test_identities_link_once(store: Store) -> None:
    user = await store.create_user("i@example.test", "I", "")
    assert await store.user_by_identity("https://issuer", "sub-1") is None
    await store.link_identity("https://issuer", "sub-1", user.id)
    await store.link_identity("https://issuer", "sub-1", user.id)  # idempotent
    linked = await store.user_by_identity("https://issuer", "sub-1")
    assert linked is not None and linked.id == user.id
    assert await store.user_by_identity("https://other-issuer", "sub-1") is None
