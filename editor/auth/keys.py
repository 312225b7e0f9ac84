"""The signing-key ring of access tokens: one current secret, older ones still accepted.

Embedded mode keeps the ring in ``DATA_DIR/jwt.key``, one secret per line, newest first;
``editor rotate-key`` prepends a new secret. With ``EDITOR_JWT_SECRET`` the ring is that
secret plus ``EDITOR_JWT_PREVIOUS_SECRETS``. Key ids are derived from the secrets, so every
replica with the same ring names the keys alike.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

from editor.auth.tokens import TokenIssuer, new_secret
from editor.config import Config

KEY_FILE = "jwt.key"


def key_id(secret: str) -> str:
    """A short, stable, non-secret name of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


def _read_ring(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _write_ring(path: Path, secrets: list[str]) -> None:
    """Replace the key file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("".join(f"{secret}\n" for secret in secrets))
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


def signing_secrets(cfg: Config) -> list[str]:
    """The ring, current secret first: configured, or kept (created once) in the data dir."""
    if cfg.jwt_secret:
        return [cfg.jwt_secret, *cfg.jwt_previous_secrets]
    path = Path(cfg.data_dir) / KEY_FILE
    if not path.exists():
        _write_ring(path, [new_secret()])
    return [*_read_ring(path), *cfg.jwt_previous_secrets]


def rotate(data_dir: Path, keep_previous: int = 1) -> tuple[str, list[str]]:
    """Prepend a new secret to the key file, keeping ``keep_previous`` older ones.

    Returns the new key id and the ids of the keys dropped.
    """
    path = data_dir / KEY_FILE
    ring = _read_ring(path) if path.exists() else []
    secret = new_secret()
    kept, dropped = ring[:keep_previous], ring[keep_previous:]
    _write_ring(path, [secret, *kept])
    return key_id(secret), [key_id(old) for old in dropped]


def token_issuer(cfg: Config, ring: Sequence[str] | None = None) -> TokenIssuer:
    """The access-token issuer: signs with the ring's first secret (``signing_secrets``)."""
    ring = ring or signing_secrets(cfg)
    keys = {key_id(secret): secret.encode() for secret in ring}
    return TokenIssuer(keys, key_id(ring[0]), issuer=cfg.jwt_issuer,
                       audience=cfg.jwt_audience, ttl_s=cfg.access_token_ttl_s)
