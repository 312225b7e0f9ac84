"""Sign-in through OpenID Connect issuers: Google, or any issuer with a discovery document.

The authorization-code flow with PKCE (S256), state and nonce. Between the start and the
callback the flow's secrets travel in a short-lived HMAC-signed cookie, so any replica can
finish a flow another one started. Accounts are found by (issuer, subject), else by the
verified email: an account registered with that email but never verified loses its
password first, so whoever registered someone else's address cannot keep access
(account pre-hijacking).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import jwt
import trio

from editor import logs, metrics
from editor.auth.emails import InvalidEmail, normalize_email
from editor.auth.service import (
    MAX_NAME_CHARS,
    AccountStore,
    AuthService,
    TokenPair,
    accept_invitations,
)
from editor.config_values import GOOGLE_ISSUER, Provider
from editor.config_values import parse_providers as parse_providers  # serve.py uses it here
from editor.errors import BadRequest, NotFound
from editor.store import DuplicateEmail, User

log = logs.get(__name__)
FLOW_TTL_S = 600
PROVIDER_TIMEOUT_S = 10.0
CLOCK_SKEW_S = 60
# Asymmetric only: "none" and the HS* family (keyed with the client secret) are refused.
SIGNING_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                "ES256", "ES384", "ES512", "EdDSA"})
COOKIE_KEY_PURPOSE = b"editor oidc flow cookie v1"


class SignInFailed(BadRequest):
    """The flow cannot finish: 400 ``oauth_failed`` with a message for the person."""

    code = "oauth_failed"


def code_challenge(code_verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: base64url(sha256(verifier)), unpadded."""
    return _b64(hashlib.sha256(code_verifier.encode()).digest())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Flow:
    """What the start of a sign-in leaves for its callback."""

    provider: str
    state: str
    nonce: str
    code_verifier: str
    expires_at: float

    @classmethod
    def new(cls, provider: str, now: float) -> Flow:
        """Fresh random secrets for one sign-in."""
        return cls(provider, secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                   secrets.token_urlsafe(48), now + FLOW_TTL_S)


class FlowCookie:
    """Seals flows into cookie values with the current signing secret; opens any in the ring."""

    def __init__(self, signing_secrets: Sequence[str]) -> None:
        # Derived keys: a cookie MAC can never be mistaken for an access-token signature.
        self._keys = [hmac.new(secret.encode(), COOKIE_KEY_PURPOSE, hashlib.sha256).digest()
                      for secret in signing_secrets]

    def seal(self, flow: Flow) -> str:
        """The cookie value: base64url(JSON) "." base64url(HMAC-SHA256)."""
        payload = _b64(json.dumps(asdict(flow), separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._mac(self._keys[0], payload))}"

    def open(self, value: str, now: float) -> Flow:
        """The flow of a genuine, unexpired cookie, or ``SignInFailed``."""
        payload, _, mac = value.partition(".")
        try:
            genuine = any(hmac.compare_digest(self._mac(key, payload), _unb64(mac))
                          for key in self._keys)
            flow = Flow(**json.loads(_unb64(payload))) if genuine else None
        except (ValueError, TypeError, binascii.Error):
            flow = None
        if flow is None:
            raise SignInFailed("the sign-in cookie is not genuine; start the sign-in again")
        if flow.expires_at <= now:
            raise SignInFailed("the sign-in took too long; start it again")
        return flow

    @staticmethod
    def _mac(key: bytes, payload: str) -> bytes:
        return hmac.new(key, payload.encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class Discovery:
    """The parts of an issuer's discovery document the flow uses."""

    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    basic_auth: bool  # the token endpoint takes client_secret_basic only


@dataclass(frozen=True)
class Identity:
    """Who the issuer says signed in."""

    issuer: str
    subject: str
    email: str
    name: str


class OidcSignIn:
    """Starts and finishes sign-ins; discovery documents and JWKS are fetched once, lazily."""

    def __init__(self, providers: Mapping[str, Provider], store: AccountStore, auth: AuthService,
                 cookie: FlowCookie, *, clock: Callable[[], float] = time.time) -> None:
        self.providers = dict(providers)
        self.store = store
        self.auth = auth
        self.cookie = cookie
        self.clock = clock
        self._discovery: dict[str, Discovery] = {}
        self._jwks: dict[str, list[dict[str, Any]]] = {}

    def names(self) -> list[str]:
        """The configured provider names, sorted."""
        return sorted(self.providers)

    def provider(self, name: str) -> Provider:
        """The provider called ``name``, or 404."""
        provider = self.providers.get(name)
        if provider is None:
            raise NotFound(f"no sign-in provider is called {name!r}")
        return provider

    async def start(self, name: str, redirect_uri: str) -> tuple[str, str]:
        """The issuer's authorization URL and the sealed flow for the cookie."""
        provider = self.provider(name)
        discovery = await self._discover(provider)
        flow = Flow.new(name, self.clock())
        query = urlencode({
            "response_type": "code", "client_id": provider.client_id,
            "redirect_uri": redirect_uri, "scope": provider.scopes, "state": flow.state,
            "nonce": flow.nonce, "code_challenge": code_challenge(flow.code_verifier),
            "code_challenge_method": "S256",
        })
        separator = "&" if "?" in discovery.authorization_endpoint else "?"
        return f"{discovery.authorization_endpoint}{separator}{query}", self.cookie.seal(flow)

    @metrics.counted("oidc")
    async def finish(self, name: str, redirect_uri: str, params: Mapping[str, str],
                     cookie: str | None) -> TokenPair:
        """Check the callback against the cookie, redeem the code, link the account, sign in."""
        provider = self.provider(name)
        if "error" in params:
            raise SignInFailed(f"{name} did not sign you in: {params['error'][:100]}")
        if not cookie:
            raise SignInFailed("the sign-in cookie is missing (are cookies blocked?);"
                               " start the sign-in again")
        flow = self.cookie.open(cookie, self.clock())
        state = params.get("state", "").encode(errors="replace")
        if flow.provider != name or not hmac.compare_digest(state, flow.state.encode()):
            raise SignInFailed("this answer belongs to another sign-in; start again")
        code = params.get("code")
        if not code:
            raise SignInFailed(f"{name} sent no authorization code")
        discovery = await self._discover(provider)
        id_token = await self._redeem(provider, discovery, code, redirect_uri,
                                      flow.code_verifier)
        identity = await self._verify(provider, discovery, id_token, flow.nonce)
        user = await link_account(self.store, identity)
        log.info("signed in through OIDC", extra={"provider": name, "user_id": user.id})
        return await self.auth.sign_in(user.id)

    async def _discover(self, provider: Provider) -> Discovery:
        cached = self._discovery.get(provider.name)
        if cached is not None:
            return cached
        url = f"{provider.issuer.rstrip('/')}/.well-known/openid-configuration"
        document = await self._call(provider, "discovery document", "GET", url)
        fields = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if any(not isinstance(document.get(key), str) for key in fields):
            raise self._broken(provider, f"its discovery document lacks one of {fields}")
        if document["issuer"] != provider.issuer:
            raise self._broken(provider, f"its discovery document names the issuer"
                                         f" {document['issuer']!r}")
        methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        discovery = Discovery(document["authorization_endpoint"], document["token_endpoint"],
                              document["jwks_uri"], "client_secret_post" not in methods)
        self._discovery[provider.name] = discovery
        return discovery

    async def _redeem(self, provider: Provider, discovery: Discovery, code: str,
                      redirect_uri: str, code_verifier: str) -> str:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": code_verifier, "client_id": provider.client_id}
        auth = None
        if discovery.basic_auth:  # RFC 6749 §2.3.1: both parts form-encoded first
            auth = httpx.BasicAuth(quote_plus(provider.client_id),
                                   quote_plus(provider.client_secret))
        else:
            form["client_secret"] = provider.client_secret
        answer = await self._call(provider, "authorization code", "POST",
                                  discovery.token_endpoint, data=form, auth=auth)
        id_token = answer.get("id_token")
        if not isinstance(id_token, str):
            raise self._broken(provider, "its token endpoint sent no id_token")
        return id_token

    async def _verify(self, provider: Provider, discovery: Discovery, id_token: str,
                      nonce: str) -> Identity:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError:
            raise self._broken(provider, "its id_token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm not in SIGNING_ALGORITHMS:
            raise self._broken(provider, f"its id_token is signed with {algorithm!r}")
        key = await self._signing_key(provider, discovery, header.get("kid"), algorithm)
        try:
            claims = jwt.decode(id_token, key, algorithms=[algorithm],
                                audience=provider.client_id, issuer=_issuers(provider),
                                leeway=CLOCK_SKEW_S,
                                options={"require": ["iss", "aud", "sub", "exp", "iat"]})
        except jwt.PyJWTError as exc:
            raise self._broken(provider, f"its id_token is not valid ({exc})") from None
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != provider.client_id:
            raise self._broken(provider, "its id_token was issued to another client (azp)")
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(errors="replace"),
                                   nonce.encode()):
            raise self._broken(provider, "its id_token carries another sign-in's nonce")
        try:
            email = normalize_email(claims.get("email") or "")
        except (InvalidEmail, TypeError):
            raise SignInFailed(f"{provider.name} did not share a usable email address;"
                               " allow access to your email and try again") from None
        if claims.get("email_verified") is not True:
            raise SignInFailed(f"{provider.name} has not verified {email}; verify it there"
                               " first")
        name = claims.get("name")
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            name = email.partition("@")[0]
        return Identity(provider.issuer, str(claims["sub"]), email,
                        name.strip()[:MAX_NAME_CHARS])

    async def _signing_key(self, provider: Provider, discovery: Discovery, kid: object,
                           algorithm: str) -> jwt.PyJWK:
        keys = self._jwks.get(provider.name)
        if keys is None or _find_key(keys, kid) is None:  # new, or the issuer rotated
            answer = await self._call(provider, "signing keys", "GET", discovery.jwks_uri)
            keys = [key for key in answer.get("keys", []) if isinstance(key, dict)]
            self._jwks[provider.name] = keys
        jwk = _find_key(keys, kid)
        if jwk is None:
            raise self._broken(provider, f"its id_token names an unknown key {kid!r}")
        try:
            return jwt.PyJWK(jwk, algorithm=algorithm)
        except jwt.PyJWTError as exc:
            raise self._broken(provider, f"its signing key is unusable ({exc})") from None

    async def _call(self, provider: Provider, what: str, method: str, url: str,
                    **kwargs: Any) -> dict[str, Any]:
        try:
            with trio.fail_after(PROVIDER_TIMEOUT_S):
                async with httpx.AsyncClient() as client:
                    response = await client.request(
                        method, url, headers={"Accept": "application/json"}, **kwargs)
        except (httpx.HTTPError, trio.TooSlowError) as exc:
            log.warning("OIDC provider unreachable",
                        extra={"provider": provider.name, "what": what, "error": repr(exc)})
            raise SignInFailed(f"could not reach {provider.name} for the {what};"
                               " try again later") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = str(body.get("error", ""))[:100] if isinstance(body, dict) else ""
            log.warning("OIDC provider refused", extra={
                "provider": provider.name, "what": what, "status": response.status_code,
                "error": error})
            raise SignInFailed(f"{provider.name} refused the {what}"
                               f" (HTTP {response.status_code}{': ' if error else ''}{error})")
        return body

    @staticmethod
    def _broken(provider: Provider, why: str) -> SignInFailed:
        log.warning("OIDC answer refused", extra={"provider": provider.name, "why": why})
        return SignInFailed(f"could not sign in with {provider.name}: {why}")


def _issuers(provider: Provider) -> tuple[str, ...]:
    # Google documents that its id_tokens may name the issuer without the scheme.
    if provider.issuer == GOOGLE_ISSUER:
        return (GOOGLE_ISSUER, "accounts.google.com")
    return (provider.issuer,)


def _find_key(keys: list[dict[str, Any]], kid: object) -> dict[str, Any] | None:
    if kid is None:  # allowed when the issuer has a single signing key
        signing = [key for key in keys if key.get("use", "sig") == "sig"]
        return signing[0] if len(signing) == 1 else None
    return next((key for key in keys if key.get("kid") == kid), None)


async def link_account(store: AccountStore, identity: Identity) -> User:
    """The account of the identity: linked before, else by email, else new (PROTOCOL.md §4)."""
    user = await store.user_by_identity(identity.issuer, identity.subject)
    if user is not None:
        return user
    user = await store.user_by_email(identity.email)
    if user is None:
        try:
            user = await store.create_user(identity.email, identity.name, "",
                                           email_verified=True)
        except DuplicateEmail:  # registered between the look-up and now: link that one
            user = await store.user_by_email(identity.email)
            if user is None:
                raise SignInFailed("the account changed during the sign-in; try again") from None
    if not user.email_verified:
        # Someone registered this address without proving they own it: their password
        # must not keep opening what is now the issuer-verified owner's account.
        await store.verify_email(user.id, clear_password=True)
    await store.link_identity(identity.issuer, identity.subject, user.id)
    # The issuer verified the address: documents shared with it are the user's now.
    await accept_invitations(store, user.id, identity.email)
    return user
