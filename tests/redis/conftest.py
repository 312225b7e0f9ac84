"""Fixtures of the Redis adapter's own tests: a private server per test, the session's cluster."""

from tests.support.redis import redis_cluster, redis_server  # noqa: F401 (fixtures)
