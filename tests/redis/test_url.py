"""EDITOR_REDIS_URL: the forms PROTOCOL.md §6 names, and messages that name the variable."""

from __future__ import annotations

import pytest

from editor.bus.redis import check_redis_url
from editor.bus.redis.url import RedisTarget, parse_redis_url
from editor.config_values import ConfigError


@pytest.mark.parametrize(("url", "target"), [
    ("redis://127.0.0.1:6379/0", RedisTarget(False, (("127.0.0.1", 6379),), 0, None, None)),
    ("redis://cache:6380/3", RedisTarget(False, (("cache", 6380),), 3, None, None)),
    ("redis://:s3cret@cache:6379/0", RedisTarget(False, (("cache", 6379),), 0, None, "s3cret")),
    ("redis-cluster://a:7000,b:7001,[::1]:7002",
     RedisTarget(True, (("a", 7000), ("b", 7001), ("::1", 7002)), 0, None, None)),
])
def test_the_documented_forms_parse(url: str, target: RedisTarget) -> None:
    assert parse_redis_url(url) == target
    check_redis_url(url)


@pytest.mark.parametrize("url", [
    "http://cache:6379/0", "redis://cache/0", "redis://cache:x/0", "redis://cache:70000/0",
    "redis://a:1,b:2/0", "redis://cache:6379/db", "redis://cache:6379/0?ssl=1",
    "redis-cluster://a:7000/1", "redis-cluster://", "redis-cluster://a:7000,",
])
def test_anything_else_is_refused_naming_the_variable(url: str) -> None:
    with pytest.raises(ConfigError, match="EDITOR_REDIS_URL"):
        check_redis_url(url)


def test_a_password_never_reaches_the_message() -> None:
    with pytest.raises(ConfigError) as refused:
        check_redis_url("redis://user:s3cret@cache/0")
    assert "s3cret" not in str(refused.value)
