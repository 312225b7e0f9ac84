"""One typed, frozen configuration, loaded from ``EDITOR_*`` environment variables and flags.

Unknown ``EDITOR_*`` variables and bad values fail at start-up with a message naming them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from editor.config_values import ConfigError, parse_providers, parse_smtp_url


@dataclass(frozen=True)
class Config:
    """Everything a process needs to know, with units in the names."""

    host: str = "127.0.0.1"
    http_port: int = 8000
    ws_port: int = 8001
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: sqlite:///{data_dir}/editor.db
    redis_url: str = ""  # empty: the in-process bus, presence, rate limits and cache
    # PostgreSQL: pool per process, statement timeout, optional replica for history reads.
    database_read_url: str = ""  # empty: history and listings read from the primary
    database_pool_min: int = 1
    database_pool_max: int = 10
    database_command_timeout_s: float = 10.0
    kafka_bootstrap: str = ""  # empty: the in-process event stream
    kafka_partitions: int = 6  # of topics created when missing
    kafka_replication_factor: int = 1
    kafka_session_timeout_ms: int = 10_000  # a consumer silent this long leaves its group
    kafka_request_timeout_ms: int = 15_000  # a broker silent this long is unavailable
    s3_endpoint: str = ""  # empty: DATA_DIR/archive/
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "editor-archive"
    s3_region: str = "us-east-1"
    archive_every_ops: int = 500  # archive a snapshot after this many ops …
    archive_idle_s: float = 60.0  # … or when a changed document has been idle this long
    backup_every_s: float = 0.0  # 0: no scheduled backups
    # editor run failover: check every node this often; the primary is dead after this many
    # failed checks in a row. fence_command: a shell command run with {host} and {port}
    # replaced before a promotion (empty: only the built-in fence, docs/runbooks/Failover.md).
    failover_check_interval_s: float = 5.0
    failover_failures: int = 3
    fence_command: str = ""
    postgres_bindir: str = ""  # psql, pg_dump, pg_rewind…; empty: pg_config --bindir, PATH
    metrics_port: int = 0  # editor serve's private /metrics on 127.0.0.1; 0: a free port, logged
    public_ws_url: str = ""  # empty: ws://{host}:{ws_port}
    public_url: str = ""  # empty: http://{host}:{http_port}; links in emails, OIDC redirects
    jwt_secret: str = ""  # empty: generated once and kept in {data_dir}/jwt.key
    jwt_previous_secrets: tuple[str, ...] = field(default_factory=tuple)  # still verified
    jwt_issuer: str = "editor"
    jwt_audience: str = "editor"
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 7 * 24 * 3600
    hello_timeout_s: float = 10.0
    max_message_bytes: int = 1024 * 1024
    session_queue_messages: int = 256
    commit_batch_max_ops: int = 256
    history_cache_ops: int = 2000
    snapshot_every_ops: int = 500
    log_poll_interval_s: float = 0.25
    ping_timeout_s: float = 60.0
    drain_timeout_s: float = 10.0
    ops_per_second_limit: float = 200.0
    ops_burst: int = 400
    auth_per_address_per_min: int = 500
    auth_per_user_per_min: int = 100
    documents_per_user_per_min: int = 1000
    shares_per_user_per_min: int = 30  # each share sends a mail: keep it low
    require_verified_email: bool = False
    email_token_ttl_s: int = 48 * 3600
    smtp_url: str = ""  # smtp://user:password@host:port or smtps://…; empty: DATA_DIR/outbox/
    mail_from: str = "Editor <editor@localhost>"
    oidc_providers: str = ""  # JSON: {"google": {"client_id": …, "client_secret": …}, …}
    log_level: str = "info"
    # Other origins (scheme://host[:port]) whose pages may call the API (CORS) and open
    # sessions; pages served by this editor's own host are always allowed.
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)

    @property
    def effective_database_url(self) -> str:
        """The database URL, defaulting to SQLite inside the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'editor.db'}"

    def with_overrides(self, **overrides: Any) -> Config:
        """A copy with the given (already typed) fields replaced; ``None`` values are ignored."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _parse(name: str, raw: str, typ: Any) -> Any:
    try:
        if typ in (bool, "bool"):
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(raw)
        if typ in (int, "int"):
            return int(raw)
        if typ in (float, "float"):
            return float(raw)
        if typ in (Path, "Path"):
            return Path(raw)
        if typ in ("tuple[str, ...]",):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw
    except ValueError:
        raise ConfigError(f"EDITOR_{name.upper()}={raw!r} is not a valid {typ}") from None


def load(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """Build a ``Config`` from ``EDITOR_*`` variables, then apply flag overrides."""
    environ = os.environ if environ is None else environ
    known = {f.name: f for f in fields(Config)}
    values: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith("EDITOR_"):
            continue
        name = key[len("EDITOR_"):].lower()
        if name not in known:
            raise ConfigError(
                f"unknown setting {key}; known: "
                + ", ".join(f"EDITOR_{n.upper()}" for n in sorted(known))
            )
        values[name] = _parse(name, raw, known[name].type)
    cfg = Config(**values).with_overrides(**overrides)
    _check(cfg)
    return cfg


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_PG_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._%-]+)(?::(\d{1,5}))?$")
_PG_SESSION_ATTRS = ("any", "read-write", "read-only", "primary", "standby", "prefer-standby")


def redact_url(url: str) -> str:
    """The URL with its password (if any) replaced by ``***``, fit for messages and logs."""
    scheme, sep, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{userinfo}{at}{hosts}{slash}{tail}"


def check_postgres_url(url: str, variable: str = "EDITOR_DATABASE_URL") -> None:
    """Refuse a PostgreSQL URL that is not the libpq form PROTOCOL.md §6 names."""
    def bad(why: str) -> ConfigError:
        return ConfigError(f"{variable}={redact_url(url)!r}: {why}; expected"
                           " postgresql://USER[:PASSWORD]@HOST:PORT[,HOST:PORT…]/DB"
                           "[?target_session_attrs=read-write]")

    rest = url.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    netloc, _, database = rest.partition("/")
    _, _, hosts = netloc.rpartition("@")
    if not hosts:
        raise bad("no host")
    for host in hosts.split(","):
        match = _PG_HOST.match(host)
        if match is None:
            raise bad(f"{host!r} is not HOST[:PORT]")
        if match[1] is not None and not 0 < int(match[1]) <= 65535:
            raise bad(f"{match[1]} is not a TCP port")
    if not database or "/" in database:
        raise bad("no database name")
    try:
        params = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise bad(f"the query {query!r} is not NAME=VALUE&…") from None
    for name, value in params:
        if name == "target_session_attrs" and value not in _PG_SESSION_ATTRS:
            raise bad(f"target_session_attrs must be one of {', '.join(_PG_SESSION_ATTRS)}")


def _check(cfg: Config) -> None:
    for name in ("http_port", "ws_port"):
        port = getattr(cfg, name)
        if not 0 <= port <= 65535:
            raise ConfigError(f"{name}={port} is not a TCP port")
    for name in ("hello_timeout_s", "log_poll_interval_s", "drain_timeout_s"):
        if getattr(cfg, name) < 0:
            raise ConfigError(f"{name} must not be negative")
    if cfg.database_read_url and not cfg.database_read_url.startswith(POSTGRES_SCHEMES):
        raise ConfigError("EDITOR_DATABASE_READ_URL: a replica of a PostgreSQL database"
                          " (postgresql://…); unset it with SQLite")
    if cfg.database_read_url:
        check_postgres_url(cfg.database_read_url, "EDITOR_DATABASE_READ_URL")
    if not 1 <= cfg.database_pool_min <= cfg.database_pool_max:
        raise ConfigError("EDITOR_DATABASE_POOL_MIN and _MAX: need 1 <= MIN <= MAX")
    if cfg.database_command_timeout_s <= 0:
        raise ConfigError("EDITOR_DATABASE_COMMAND_TIMEOUT_S must be positive")
    if cfg.failover_check_interval_s <= 0 or cfg.failover_failures < 1:
        raise ConfigError("EDITOR_FAILOVER_CHECK_INTERVAL_S must be positive and"
                          " EDITOR_FAILOVER_FAILURES >= 1")
    if cfg.backup_every_s < 0:
        raise ConfigError("EDITOR_BACKUP_EVERY_S must not be negative (0: no backups)")
    for name in ("max_message_bytes", "session_queue_messages", "commit_batch_max_ops"):
        if getattr(cfg, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    if cfg.smtp_url:
        parse_smtp_url(cfg.smtp_url)
    if cfg.oidc_providers:
        parse_providers(cfg.oidc_providers)
    url = cfg.effective_database_url
    if url.startswith(POSTGRES_SCHEMES):
        check_postgres_url(url)
    elif not url.startswith("sqlite:///"):
        raise ConfigError(f"EDITOR_DATABASE_URL={redact_url(url)!r}: use sqlite:///PATH or"
                          " postgresql://USER[:PASSWORD]@HOST:PORT[,HOST:PORT…]/DB")
    _check_distributed(cfg)


def _check_distributed(cfg: Config) -> None:
    """The URLs of the distributed backends that are set (their adapters load only then)."""
    if cfg.redis_url:
        from editor.bus.redis.url import check_redis_url

        check_redis_url(cfg.redis_url)
    if cfg.kafka_bootstrap:
        from editor.events.kafka.bootstrap import check_kafka_bootstrap

        check_kafka_bootstrap(cfg.kafka_bootstrap)
        if cfg.kafka_partitions < 1 or cfg.kafka_replication_factor < 1:
            raise ConfigError("EDITOR_KAFKA_PARTITIONS and _REPLICATION_FACTOR must be >= 1")
        if not 1_000 <= cfg.kafka_session_timeout_ms < cfg.kafka_request_timeout_ms:
            raise ConfigError("EDITOR_KAFKA_SESSION_TIMEOUT_MS must be at least 1000 and below"
                              " EDITOR_KAFKA_REQUEST_TIMEOUT_MS")
    if cfg.s3_endpoint:
        from editor.archive.s3 import check_s3_endpoint

        check_s3_endpoint(cfg.s3_endpoint)
        if not (cfg.s3_access_key and cfg.s3_secret_key):
            raise ConfigError("EDITOR_S3_ENDPOINT needs EDITOR_S3_ACCESS_KEY and"
                              " EDITOR_S3_SECRET_KEY")
    if cfg.archive_every_ops < 1 or cfg.archive_idle_s <= 0:
        raise ConfigError("EDITOR_ARCHIVE_EVERY_OPS must be >= 1 and EDITOR_ARCHIVE_IDLE_S > 0")
