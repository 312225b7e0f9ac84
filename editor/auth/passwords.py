"""Password hashing with argon2id; verification takes the same time for unknown users."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 8
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
