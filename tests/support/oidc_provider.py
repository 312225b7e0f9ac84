"""A small but real OpenID Connect provider for tests, run as a process of its own.

    python -m tests.support.oidc_provider --port N --issuer http://127.0.0.1:N --config FILE

FILE is JSON::

    {"clients": {"<client_id>": {"secret": "...", "redirect_uris": ["http://127.0.0.1/cb"]}},
     "users": {"<login>": {"sub": "...", "email": "...", "email_verified": true,
                           "name": "...", "quirks": []}},
     "token_endpoint_auth_methods": ["client_secret_post", "client_secret_basic"]}

It speaks the protocol over HTTP: discovery, ``/authorize`` (auto-approves the user named
by ``login_hint``, else the first one; checks the client and its redirect URI; requires a
PKCE S256 challenge), ``/token`` (client secret, redirect URI, single-use code, PKCE
verifier), ``/jwks`` (an RS256 key made at start-up). A registered loopback redirect URI
without a port matches any port (RFC 8252 §7.3), so one provider serves editors on
changing ports. A user's ``quirks`` make the provider misbehave for them, to test what a
client must refuse: ``deny`` (``error=access_denied``), ``wrong_key``, ``wrong_nonce``,
``unknown_kid``, ``wrong_audience``, ``wrong_issuer``, ``expired`` (the id_token).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.servers import free_port

CODE_TTL_S = 60
ID_TOKEN_TTL_S = 300
KEY_ID = "test-key-1"
REPO_ROOT = Path(__file__).resolve().parents[2]

Answer = tuple[int, dict[str, str], bytes]


def _json(status: int, body: dict[str, Any]) -> Answer:
    return status, {"Content-Type": "application/json", "Cache-Control": "no-store"}, \
        json.dumps(body).encode()


def _redirect(uri: str, params: dict[str, str]) -> Answer:
    separator = "&" if urlsplit(uri).query else "?"
    return 302, {"Location": f"{uri}{separator}{urlencode(params)}"}, b""


def s256(code_verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    digest = hashlib.sha256(code_verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def redirect_allowed(registered: list[str], uri: str) -> bool:
    """Exact match, or a loopback registration without a port (RFC 8252 §7.3)."""
    parts = urlsplit(uri)
    for allowed in registered:
        spec = urlsplit(allowed)
        if uri == allowed or (
                spec.scheme == "http" and spec.hostname in ("127.0.0.1", "::1")
                and spec.port is None
                and (parts.scheme, parts.hostname, parts.path, parts.query)
                == (spec.scheme, spec.hostname, spec.path, spec.query)):
            return True
    return False


@dataclass(frozen=True)
class Grant:
    """An authorization code's context, until the client redeems it."""

    client_id: str
    redirect_uri: str
    login: str
    nonce: str | None
    code_challenge: str
    expires_at: float


class Provider:
    """The protocol logic; the HTTP shell below only parses and writes."""

    def __init__(self, issuer: str, config: dict[str, Any]) -> None:
        self.issuer = issuer
        self.clients: dict[str, dict[str, Any]] = config["clients"]
        self.users: dict[str, dict[str, Any]] = config["users"]
        self.auth_methods: list[str] = config.get(
            "token_endpoint_auth_methods", ["client_secret_post", "client_secret_basic"])
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.wrong_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.grants: dict[str, Grant] = {}
        self.lock = threading.Lock()

    def discovery(self) -> Answer:
        return _json(200, {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": self.auth_methods,
            "code_challenge_methods_supported": ["S256"],
            "grant_types_supported": ["authorization_code"],
        })

    def jwks(self) -> Answer:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return _json(200, {"keys": [{**jwk, "kid": KEY_ID, "alg": "RS256", "use": "sig"}]})

    def authorize(self, params: dict[str, str]) -> Answer:
        client = self.clients.get(params.get("client_id", ""))
        redirect_uri = params.get("redirect_uri", "")
        if client is None or not redirect_allowed(client["redirect_uris"], redirect_uri):
            # Never redirect to an unregistered URI: answer here.
            return 400, {"Content-Type": "text/plain"}, b"unknown client or redirect_uri"
        echo = {"state": params["state"]} if "state" in params else {}

        def fail(error: str, description: str) -> Answer:
            return _redirect(redirect_uri, {"error": error, "error_description": description,
                                            **echo})

        if params.get("response_type") != "code":
            return fail("unsupported_response_type", "only the code flow is supported")
        if "openid" not in params.get("scope", "").split():
            return fail("invalid_scope", "the openid scope is required")
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            return fail("invalid_request", "PKCE with code_challenge_method=S256 is required")
        login = params.get("login_hint") or next(iter(self.users))
        user = self.users.get(login)
        if user is None or "deny" in user.get("quirks", []):
            return fail("access_denied", "the user did not approve")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.grants[code] = Grant(params["client_id"], redirect_uri, login,
                                      params.get("nonce"), params["code_challenge"],
                                      time.time() + CODE_TTL_S)
        return _redirect(redirect_uri, {"code": code, **echo})

    def token(self, form: dict[str, str], authorization: str) -> Answer:
        method, client_id, secret = "client_secret_post", form.get("client_id", ""), \
            form.get("client_secret")
        if authorization.startswith("Basic "):  # RFC 6749 §2.3.1: form-encoded, then Basic
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            method, client_id, secret = "client_secret_basic", unquote_plus(user), \
                unquote_plus(password)
        client = self.clients.get(client_id)
        if client is None or secret != client["secret"] or method not in self.auth_methods:
            return _json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        with self.lock:  # single use: a code is spent by any attempt to redeem it
            grant = self.grants.pop(form.get("code", ""), None)
        if grant is None or grant.expires_at < time.time() or grant.client_id != client_id:
            return _json(400, {"error": "invalid_grant", "error_description": "unknown code"})
        if form.get("redirect_uri") != grant.redirect_uri:
            return _json(400, {"error": "invalid_grant", "error_description": "redirect_uri"})
        if s256(form.get("code_verifier", "")) != grant.code_challenge:
            return _json(400, {"error": "invalid_grant", "error_description": "PKCE failed"})
        return _json(200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer",
                           "expires_in": 3600, "id_token": self.id_token(grant)})

    def id_token(self, grant: Grant) -> str:
        user = self.users[grant.login]
        quirks = user.get("quirks", [])
        now = int(time.time()) - (7200 if "expired" in quirks else 0)
        claims = {
            "iss": "https://impostor.example" if "wrong_issuer" in quirks else self.issuer,
            "aud": "someone-else" if "wrong_audience" in quirks else grant.client_id,
            "iat": now, "exp": now + ID_TOKEN_TTL_S, "auth_time": now,
            **{key: value for key, value in user.items() if key != "quirks"},
        }
        if grant.nonce is not None:
            claims["nonce"] = "not-the-nonce" if "wrong_nonce" in quirks else grant.nonce
        forged = "wrong_key" in quirks or "unknown_kid" in quirks
        kid = "another-key" if "unknown_kid" in quirks else KEY_ID
        return jwt.encode(claims, self.wrong_key if forged else self.key, "RS256",
                          headers={"kid": kid})


def handler_for(provider: Provider) -> type[BaseHTTPRequestHandler]:
    """The HTTP shell around ``provider``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            routes = {"/.well-known/openid-configuration": provider.discovery,
                      "/jwks": provider.jwks, "/authorize": lambda: provider.authorize(params)}
            route = routes.get(parts.path)
            self.answer(route() if route else _json(404, {"error": "not_found"}))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
            if urlsplit(self.path).path != "/token":
                self.answer(_json(404, {"error": "not_found"}))
                return
            self.answer(provider.token(dict(parse_qsl(body)),
                                       self.headers.get("Authorization", "")))

        def answer(self, answer: Answer) -> None:
            status, headers, body = answer
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@dataclass
class OidcProviderProcess:
    """The provider as a subprocess on a free loopback port, for a pytest fixture."""

    config: dict[str, Any]
    work_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process and wait until its discovery document answers."""
        config_path = self.work_dir / "oidc-provider.json"
        config_path.write_text(json.dumps(self.config))
        log_path = self.work_dir / "oidc-provider.log"
        with open(log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.oidc_provider", "--port", str(self.port),
                 "--issuer", self.issuer, "--config", str(config_path)],
                stdout=log, stderr=log, cwd=REPO_ROOT,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the OIDC provider exited: {log_path.read_text()[-2000:]}")
            try:
                url = f"{self.issuer}/.well-known/openid-configuration"
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the OIDC provider did not answer in 20 s")

    def stop(self) -> None:
        """Kill the process (by its PID) and reap it."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def main() -> None:
    """Serve until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--config", type=Path, required=True)
    args = parser.parse_args()
    provider = Provider(args.issuer, json.loads(args.config.read_text()))
    ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(provider)).serve_forever()


if __name__ == "__main__":
    main()
