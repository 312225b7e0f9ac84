"""The REST and WebSocket contract holds on both stores: every server here runs on SQLite and
on PostgreSQL."""

import pytest

from tests.conftest import both_databases

server_database = pytest.fixture(params=["sqlite", "postgresql"])(both_databases)
