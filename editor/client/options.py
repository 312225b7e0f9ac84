"""Settings of a document session, and how a token is supplied."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields

TokenSource = str | Callable[[], Awaitable[str]]
"""A token, or an async callable returning a fresh one (called before each connection)."""


@dataclass(frozen=True)
class ClientOptions:
    """Tuning of one document session; the defaults suit interactive use.

    Memory per document is bounded by ``message_queue_size`` × ``max_message_chars`` of
    queued input, ``event_queue_size`` events, ``max_cursors`` cursors and ``history_ops``
    recent ops. Bad values raise ``ValueError`` naming the option.
    """

    ping_interval_s: float = 15.0
    pong_timeout_s: float = 10.0
    connect_timeout_s: float = 10.0
    welcome_timeout_s: float = 10.0
    close_timeout_s: float = 2.0
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 30.0
    backoff_jitter: float = 0.5
    backoff_reset_after_s: float = 10.0
    event_queue_size: int = 1000
    message_queue_size: int = 8
    max_message_chars: int = 8 * 1024 * 1024
    max_cursors: int = 1000
    history_ops: int = 1000
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        for option in fields(self):
            value = getattr(self, option.name)
            if option.name.endswith("_s") and not value > 0:
                raise ValueError(f"ClientOptions.{option.name} must be > 0 seconds, not {value!r}")
            if option.type == "int" and (not isinstance(value, int) or value < 1):
                raise ValueError(f"ClientOptions.{option.name} must be an integer >= 1,"
                                 f" not {value!r}")
        if not 0 <= self.backoff_jitter <= 1:
            raise ValueError(f"ClientOptions.backoff_jitter must be within [0, 1],"
                             f" not {self.backoff_jitter!r}")
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("ClientOptions.backoff_max_s must be >= backoff_initial_s")
