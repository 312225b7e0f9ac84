"""The archive contract: every ``Archive`` backend passes it; and the §5 key layout."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
import trio

import editor.archive
from editor.archive import backup_key, snapshot_body, snapshot_key, validate_key
from tests.contract.event_backends import (  # noqa: F401 (fixtures)
    ArchiveUnderTest,
    archive_backend_fixture,
)

IO_DEADLINE_S = 10
HOSTILE_KEYS = ["../x", "/abs", "a//b", "a\\b", "", "a/../b", "./a", "a/", "a b", "é",
                "a/./b", "..", "~tmp", "a\nb", "x" * 600]


def files_under(folder: Path | None) -> list[str]:
    """Every file below ``folder``, as relative paths."""
    if folder is None or not folder.exists():
        return []
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_all_is_complete() -> None:
    assert sorted(editor.archive.__all__) == sorted(
        name for name, value in vars(editor.archive).items() if not name.startswith("_")
        and name != "annotations" and not isinstance(value, types.ModuleType))


async def test_round_trip(archive_backend: ArchiveUnderTest) -> None:
    archive = archive_backend.archive
    objects = {"snapshots/d1/0.json": b'{"a":1}', "backups/x.dump": bytes(range(256)) * 64,
               "empty": b""}
    with trio.fail_after(IO_DEADLINE_S):
        for key, data in objects.items():
            await archive.put(key, data)
        for key, data in objects.items():
            assert await archive.get(key) == data


async def test_a_missing_key_is_a_key_error(archive_backend: ArchiveUnderTest) -> None:
    archive = archive_backend.archive
    with trio.fail_after(IO_DEADLINE_S):
        with pytest.raises(KeyError):
            await archive.get("snapshots/nothing/1.json")
        await archive.put("snapshots/d1/1.json", b"{}")
        for missing in ("snapshots/d1", "snapshots", "snapshots/d1/2.json"):
            with pytest.raises(KeyError):
                await archive.get(missing)


async def test_an_overwrite_is_all_or_nothing(archive_backend: ArchiveUnderTest) -> None:
    archive, key = archive_backend.archive, "snapshots/d1/5.json"
    versions = [bytes([n]) * 1_000_000 for n in (1, 2)]
    seen: set[bytes] = set()
    with trio.fail_after(IO_DEADLINE_S):
        await archive.put(key, versions[0])

        async def read_repeatedly() -> None:
            for _ in range(20):
                data = await archive.get(key)
                assert data in versions, f"a torn read of {len(data)} bytes"
                seen.add(data[:1])

        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(read_repeatedly)
            for n in range(10):
                await archive.put(key, versions[(n + 1) % 2])
        assert await archive.get(key) == versions[0]
        assert await archive.list("snapshots/") == [key]
    assert seen


async def test_list_by_prefix_is_sorted(archive_backend: ArchiveUnderTest) -> None:
    archive = archive_backend.archive
    keys = ["snapshots/d2/1.json", "snapshots/d1/10.json", "backups/20260101T000000Z.dump",
            "snapshots/d1/2.json", "snapshots/d10/1.json"]
    with trio.fail_after(IO_DEADLINE_S):
        for key in keys:
            await archive.put(key, b"x")
        assert await archive.list("snapshots/d1/") == ["snapshots/d1/10.json",
                                                        "snapshots/d1/2.json"]
        assert await archive.list("snapshots/d1") == [
            "snapshots/d1/10.json", "snapshots/d1/2.json", "snapshots/d10/1.json"]
        assert await archive.list("snapshots/") == sorted(k for k in keys if "snap" in k)
        assert await archive.list("") == sorted(keys)
        assert await archive.list("back") == ["backups/20260101T000000Z.dump"]
        assert await archive.list("nothing/") == []


@pytest.mark.parametrize("key", HOSTILE_KEYS)
async def test_a_hostile_key_is_refused(archive_backend: ArchiveUnderTest, key: str) -> None:
    archive = archive_backend.archive
    with trio.fail_after(IO_DEADLINE_S):
        with pytest.raises(ValueError):
            await archive.put(key, b"owned")
        with pytest.raises(ValueError):
            await archive.get(key)
        assert await archive.list("") == []
    assert files_under(archive_backend.surroundings) == []


@pytest.mark.parametrize("prefix", ["../", "/", "a//", "a\\", "..", "a/../"])
async def test_a_hostile_prefix_is_refused(archive_backend: ArchiveUnderTest,
                                           prefix: str) -> None:
    with trio.fail_after(IO_DEADLINE_S), pytest.raises(ValueError):
        await archive_backend.archive.list(prefix)


def test_snapshot_layout() -> None:
    key = snapshot_key("3f2a", 500)
    assert key == "snapshots/3f2a/500.json"
    body = json.loads(snapshot_body("3f2a", 500, [{"insert": "hé\n"}], 1_800_000_000.25))
    assert body == {"doc_id": "3f2a", "version": 500, "content": [{"insert": "hé\n"}],
                    "archived_at": "2027-01-15T08:00:00.250Z"}


def test_snapshot_key_refuses_what_is_not_a_document() -> None:
    with pytest.raises(ValueError):
        snapshot_key("../etc", 1)
    with pytest.raises(ValueError):
        snapshot_key("d", -1)


def test_backup_layout() -> None:
    assert backup_key(1_800_000_000.9) == "backups/20270115T080000Z.dump"
    assert validate_key(backup_key(0)) == "backups/19700101T000000Z.dump"
