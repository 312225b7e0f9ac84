"""HA tests: a real three-node PostgreSQL cluster per module (tests/support/pg_cluster.py)."""

from tests.support.pg_cluster import pg_cluster  # noqa: F401 (fixture)
