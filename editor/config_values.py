"""``ConfigError`` and the parsers of the structured ``EDITOR_*`` values (SMTP URL, OIDC
providers).

Pure and a leaf: it imports nothing from ``editor``, so ``editor.config`` can check these
values at ``load()`` while the auth modules that use them import ``editor.config``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

GOOGLE_ISSUER = "https://accounts.google.com"
DEFAULT_SCOPES = "openid email profile"
PROVIDER_KEYS = frozenset({"issuer", "client_id", "client_secret", "scopes"})
PROVIDER_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ConfigError(ValueError):
    """A configuration key is unknown or its value is invalid."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to reach the SMTP server, parsed from ``EDITOR_SMTP_URL``."""

    host: str
    port: int
    implicit_tls: bool
    username: str
    password: str


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://[user:password@]host[:port]`` (STARTTLS when offered) or ``smtps://`` (TLS)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigError(f"EDITOR_SMTP_URL={url!r}: expected smtp://host:port or smtps://host")
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError:
        raise ConfigError(f"EDITOR_SMTP_URL={url!r}: the port is not a number") from None
    return SmtpTarget(parts.hostname, port, parts.scheme == "smtps",
                      unquote(parts.username or ""), unquote(parts.password or ""))


@dataclass(frozen=True)
class Provider:
    """One configured issuer and this editor's client registration there."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = DEFAULT_SCOPES


def parse_providers(raw: str) -> dict[str, Provider]:
    """The providers of ``EDITOR_OIDC_PROVIDERS``; ``ConfigError`` naming what is wrong."""
    if not raw.strip():
        return {}
    try:
        entries = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"EDITOR_OIDC_PROVIDERS is not valid JSON: {exc}") from None
    if not isinstance(entries, dict):
        raise ConfigError("EDITOR_OIDC_PROVIDERS must be a JSON object of providers by name")
    return {name: _provider(name, entry) for name, entry in entries.items()}


def _provider(name: str, entry: object) -> Provider:
    where = f"EDITOR_OIDC_PROVIDERS[{name!r}]"
    if not PROVIDER_NAME.fullmatch(name):
        raise ConfigError(f"{where}: a name has 1 to 32 of a-z, 0-9, '-', '_'")
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object with client_id, client_secret, ...")
    unknown = entry.keys() - PROVIDER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))};"
                          f" known: {', '.join(sorted(PROVIDER_KEYS))}")
    values = {"issuer": GOOGLE_ISSUER if name == "google" else "", "scopes": DEFAULT_SCOPES,
              **entry}
    for key in sorted(PROVIDER_KEYS):
        if not isinstance(values.get(key), str) or not values[key].strip():
            hint = " (only 'google' has a default)" if key == "issuer" else ""
            raise ConfigError(f"{where}: '{key}' must be a non-empty string{hint}")
    issuer = values["issuer"]
    parts = urlsplit(issuer)
    secure = parts.scheme == "https" or (parts.scheme == "http"
                                         and parts.hostname in LOOPBACK_HOSTS)
    if not secure or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"{where}: 'issuer' must be an https URL (http only on loopback),"
                          f" not {issuer!r}")
    if not {"openid", "email"} <= set(values["scopes"].split()):
        raise ConfigError(f"{where}: 'scopes' must include openid and email")
    return Provider(name, issuer, values["client_id"], values["client_secret"], values["scopes"])
