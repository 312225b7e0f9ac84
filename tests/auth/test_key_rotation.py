"""Rotating the access-token signing key without logging everyone out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from editor.auth.keys import key_id, rotate, token_issuer
from editor.auth.tokens import InvalidToken
from editor.cli import main
from editor.config import load
from tests.support.servers import LiveServer


def test_tokens_of_kept_keys_verify_and_dropped_keys_do_not(tmp_path: Path) -> None:
    cfg = load({}, data_dir=tmp_path)
    before = token_issuer(cfg)
    token = before.issue("user-1")
    assert (tmp_path / "jwt.key").stat().st_mode & 0o777 == 0o600

    new_kid, dropped = rotate(tmp_path, keep_previous=1)
    after = token_issuer(cfg)
    assert dropped == []
    assert after.verify(token).user_id == "user-1"
    assert jwt.get_unverified_header(after.issue("user-1"))["kid"] == new_kid

    _, dropped = rotate(tmp_path, keep_previous=1)
    assert dropped == [jwt.get_unverified_header(token)["kid"]]
    with pytest.raises(InvalidToken, match="unknown signing key"):
        token_issuer(cfg).verify(token)


def test_configured_secrets_rotate_through_previous_secrets(tmp_path: Path) -> None:
    old = token_issuer(load({"EDITOR_JWT_SECRET": "old-secret-old-secret-old-secret"},
                            data_dir=tmp_path))
    token = old.issue("user-2")
    new = token_issuer(load({"EDITOR_JWT_SECRET": "new-secret-new-secret-new-secret",
                             "EDITOR_JWT_PREVIOUS_SECRETS": "old-secret-old-secret-old-secret"},
                            data_dir=tmp_path))
    assert new.verify(token).user_id == "user-2"
    assert jwt.get_unverified_header(new.issue("u"))["kid"] == key_id(
        "new-secret-new-secret-new-secret")
    assert not (tmp_path / "jwt.key").exists()


def test_rotate_key_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rotate-key", "--data-dir", str(tmp_path)]) == 0
    assert main(["rotate-key", "--data-dir", str(tmp_path), "--keep", "0"]) == 0
    output = capsys.readouterr().out
    assert "new signing key" in output and "dropped old keys" in output
    assert len((tmp_path / "jwt.key").read_text().split()) == 1
    assert main(["rotate-key", "--data-dir", str(tmp_path), "--keep", "-1"]) == 2


def test_a_restarted_server_keeps_accepting_tokens_signed_before_rotation(
    live_server: LiveServer,
) -> None:
    http = httpx.Client(base_url=live_server.http_url, timeout=10)
    account = {"email": "rot@example.test", "password": "correct horse battery", "name": "R"}
    assert http.post("/v1/auth/register", json=account).status_code == 201
    del account["name"]
    old_token = http.post("/v1/auth/login", json=account).json()["access_token"]

    subprocess.run([sys.executable, "-m", "editor", "rotate-key", "--data-dir",
                    str(live_server.data_dir)], check=True, capture_output=True)
    live_server.restart()

    me = http.get("/v1/auth/me", headers={"Authorization": f"Bearer {old_token}"})
    assert me.status_code == 200, me.text
    new_token = http.post("/v1/auth/login", json=account).json()["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(
        old_token)["kid"]
    http.close()
