"""editor.net.webassets: where the built page lives and what to say when it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from editor.net import webassets


def test_dist_dir_is_inside_the_package() -> None:
    assert webassets.dist_dir() == Path(webassets.__file__).resolve().parent / "static" / "dist"


def test_assets_present_needs_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webassets, "dist_dir", lambda: tmp_path)
    assert not webassets.assets_present()
    for name in webassets.REQUIRED_ASSETS[:-1]:
        (tmp_path / name).write_text("x")
    assert not webassets.assets_present()
    (tmp_path / webassets.REQUIRED_ASSETS[-1]).write_text("x")
    assert webassets.assets_present()


def test_missing_assets_message_says_how_to_build() -> None:
    message = webassets.MISSING_ASSETS_MESSAGE
    assert "npm --prefix web ci && npm --prefix web run build" in message
    assert "pip install" in message


def test_all() -> None:
    assert sorted(webassets.__all__) == sorted(
        name for name in vars(webassets) if not name.startswith("_")
        and name not in ("annotations", "Path"))
