"""Convergence: SDK clients with seeded random concurrent edits end identical to the store."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
import trio

from editor import ot
from editor.client import ClientOptions, RemoteChange, open_document
from tests.conftest import InProcessServer
from tests.support.api import create_document, share, sign_up

ALPHABET = ["a", "b", " ", "\U0001F600", "e\u0301", "\u4e2d", "\n"]


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def random_edit(rng: random.Random, content: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An edit at code-point boundaries: inserts with attributes, deletes, null formatting."""
    text = "".join(op["insert"] if isinstance(op["insert"], str) else "\ufffc" for op in content)
    body = text[:-1]
    at = rng.randrange(0, len(body) + 1)
    prefix: list[dict[str, Any]] = [{"retain": _units(body[:at])}] if at else []
    roll = rng.random()
    if roll < 0.6 or at == len(body):
        op: dict[str, Any] = {"insert": "".join(rng.choice(ALPHABET) for _ in range(3))}
        if rng.random() < 0.3:
            op["attributes"] = {"bold": True, "color": rng.choice(["red", "blue"])}
        if rng.random() < 0.05:
            op = {"insert": {"image": "https://example.test/x.png"}}
        return prefix + [op]
    span = body[at:at + rng.randint(1, 4)]
    if roll < 0.85:
        return prefix + [{"delete": _units(span)}]
    return prefix + [{"retain": _units(span),
                      "attributes": {"bold": rng.choice([True, None]), "italic": None}}]


async def run_clients(server: InProcessServer, clients: int, edits_each: int,
                      seed: int) -> None:
    owner = await sign_up(server.http, "owner")
    doc_id = (await create_document(server.http, owner, content="seed text\n"))["id"]
    writers = [await sign_up(server.http, f"w{i}") for i in range(min(clients, 5))]
    for writer in writers:
        await share(server.http, owner, doc_id, writer, "editor")
    finals: dict[int, list[dict[str, Any]]] = {}
    seen_versions: dict[int, list[int]] = {}

    async def client(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        account = writers[index % len(writers)]
        async with open_document(server.http_url, doc_id, account.access_token,
                                 client_id=f"c{index}",
                                 options=ClientOptions(event_queue_size=100_000)) as doc:
            versions = seen_versions.setdefault(index, [])

            async def watch() -> None:
                async for event in doc.events():
                    if isinstance(event, RemoteChange):
                        versions.append(event.version)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(watch)
                for _ in range(edits_each):
                    await doc.submit(random_edit(rng, doc.content))
                    await trio.sleep(rng.random() * 0.01)
                await doc.wait_synchronized()
                done_editing.append(index)
                if len(done_editing) == clients:
                    all_done.set()
                await final_head_known.wait()
                while doc.version < final_head[0]:  # noqa: ASYNC110 - the SDK has no version wait
                    await trio.sleep(0.01)
                finals[index] = doc.content
                nursery.cancel_scope.cancel()

    done_editing: list[int] = []
    all_done = trio.Event()
    final_head_known = trio.Event()
    final_head = [0]
    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for index in range(clients):
                nursery.start_soon(client, index)
            await all_done.wait()
            # Every edit is acknowledged, so the head is final.
            final_head[0] = (await server.http.get(f"/v1/documents/{doc_id}",
                                                   headers=owner.headers)).json()["version"]
            final_head_known.set()
    state = (await server.http.get(f"/v1/documents/{doc_id}", headers=owner.headers)).json()
    print(f"seed={seed} clients={clients} head={state['version']}")
    assert all(content == state["content"] for content in finals.values()), f"seed={seed}"
    assert ot.length(state["content"]) >= 1 and state["content"][-1]["insert"].endswith("\n")
    for versions in seen_versions.values():
        assert versions == sorted(set(versions)), "remote changes out of order or repeated"


@pytest.mark.parametrize("clients, edits_each", [(2, 60), (10, 20), (50, 6)])
async def test_clients_converge(server: InProcessServer, clients: int, edits_each: int) -> None:
    seed = int(os.environ.get("CONVERGENCE_SEED", random.randrange(1 << 30)))
    await run_clients(server, clients, edits_each, seed)
