"""Issue 17 outside the browser: readable verification mail, the start-up block, the web
build's progress lines, and which requests get the HTML 404."""

from __future__ import annotations

import email
import email.policy
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from editor.auth.mail import Mail, OutboxMailer
from editor.cli import startup_banner

REPO = Path(__file__).resolve().parents[2]
LINK = "http://127.0.0.1:8000/verify#token=" + "Ab-_9" * 30


def verification(name: str) -> Mail:
    return Mail("zoe@example.test", "Confirm your email address",
                f"Hello {name},\n\nplease confirm by opening this link:\n\n  {LINK}\n\nThanks.\n")


@pytest.mark.parametrize("name", ["Ada", "Zoë Ünal"])
async def test_saved_mail_is_readable_with_the_link_intact(tmp_path: Path, name: str) -> None:
    with trio.fail_after(10):
        await OutboxMailer(tmp_path, "editor@localhost").send(verification(name))
    [saved] = await trio.Path(tmp_path).glob("*.eml")
    raw = await saved.read_bytes()
    # the link is one line, exactly as written: clickable and copyable from the file itself
    assert f"  {LINK}\n".encode() in raw
    assert b"quoted-printable" not in raw and b"base64" not in raw
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    expected = "7bit" if name.isascii() else "8bit"
    assert message["Content-Transfer-Encoding"] == expected
    assert f"Hello {name}," in raw.decode("utf-8")
    assert all(len(line) <= 998 for line in raw.splitlines())


def test_startup_block_names_page_websocket_data_outbox_and_stop() -> None:
    block = startup_banner("http://127.0.0.1:8000", "ws://127.0.0.1:8001", Path("/srv/data"), "")
    assert "Open in a browser: http://127.0.0.1:8000/" in block
    assert "ws://127.0.0.1:8001" in block
    assert "/srv/data\n" in block
    assert "/srv/data/outbox" in block and "EDITOR_SMTP_URL" in block
    assert "Ctrl+C" in block
    assert block.count("http://127.0.0.1:8000") == 1  # the URL once, not three times
    smtp = startup_banner("http://h:1", "ws://h:2", Path("/d"), "smtp://u:secret@mail.test:2525")
    assert "mail.test:2525" in smtp and "secret" not in smtp and "outbox" not in smtp


def test_web_build_prints_one_line_per_step(tmp_path: Path) -> None:
    """The build hook, with a fake npm that writes the page, reports each step on stderr."""
    web = tmp_path / "web"
    (web / "src").mkdir(parents=True)
    (web / "package.json").write_text("{}")
    (web / "src" / "main.js").write_text("")
    npm = tmp_path / "npm"
    dist = tmp_path / "editor" / "net" / "static" / "dist"
    npm.write_text(textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1" = run ]; then
          mkdir -p {dist} && touch {dist}/index.html {dist}/app.js {dist}/app.css \\
            {dist}/quill.snow.css
        else
          mkdir -p {web}/node_modules && touch {web}/node_modules/.package-lock.json
        fi
        """))
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    # hatchling lives in pip's isolated build environment, not here: a stand-in interface
    script = textwrap.dedent(f"""\
        import pathlib, sys, types
        sys.path.insert(0, {str(REPO)!r})
        interface = types.ModuleType("hatchling.builders.hooks.plugin.interface")

        class BuildHookInterface:
            def __class_getitem__(cls, item): return cls

        interface.BuildHookInterface = BuildHookInterface
        sys.modules["hatchling.builders.hooks.plugin.interface"] = interface
        from hatch_build import CustomBuildHook

        class App:
            def display_info(self, message): print(message, file=sys.stderr)
            def display_warning(self, message): print(message, file=sys.stderr)

        hook = CustomBuildHook()
        hook.root, hook.app = {str(tmp_path)!r}, App()
        hook.initialize("standard", {{}})
        """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env={**os.environ, "EDITOR_NPM": str(npm)}, check=False)
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stderr.splitlines() if line.startswith("web page ")]
    assert [step.split(" ", 3)[2] for step in steps[:3]] == ["[1/3]", "[2/3]", "[3/3]"], steps
    assert "installing npm packages" in steps[1]
    assert steps[-1].startswith("web page built in ")
    assert result.stdout == ""
