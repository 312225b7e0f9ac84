"""Password hashing with argon2id; verification takes the same time for unknown users.

Each hash costs tens of milliseconds and 64 MiB, so the async functions run it in a worker
thread (never on the Trio thread, where it would stall every session) and at most
``PARALLEL_HASHES`` at a time.
"""

from __future__ import annotations

import trio
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 8
PARALLEL_HASHES = 2
_hash_slots = trio.CapacityLimiter(PARALLEL_HASHES)
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both answers cost one argon2 run.
_DUMMY_HASH = _hasher.hash("not a real password, only a timing equaliser")


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether the password matches; without a hash runs a dummy check and returns False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    """``hash_password`` in a worker thread."""
    return await trio.to_thread.run_sync(hash_password, password, limiter=_hash_slots)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    """``verify_password`` in a worker thread."""
    return await trio.to_thread.run_sync(verify_password, password_hash, password,
                                         limiter=_hash_slots)
