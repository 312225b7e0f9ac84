"""An edit storm of SDK clients for chaos tests and benchmarks: each client types unique tokens
at one end of its document's text at a steady rate, remembers which of them it saw acked and
when, and when it saw other sessions' ops, so a fault's effect reads as gaps in those times.

A token is only ever inserted at index 0 or just before the final newline, so no insert can
split another: "every acked op is present exactly once" reads as "every acked token appears
exactly once in the stored text".
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

import httpx
import trio

from editor.client import Acked, ClientOptions, Document, RemoteChange, open_document

# Fast reconnects (the protocol's 1 s first backoff would dominate every recovery figure)
# and a heartbeat that notices a silently dead path within a few seconds.
STORM_OPTIONS = ClientOptions(backoff_initial_s=0.05, backoff_max_s=0.5, backoff_jitter=0.1,
                              ping_interval_s=2.0, pong_timeout_s=3.0,
                              connect_timeout_s=3.0, welcome_timeout_s=5.0)


def _server_text(doc: Document) -> str:
    # What the client holds as committed (its content at ``doc.version``, without its own
    # unacknowledged edits); the SDK exposes only the local content, so read its state.
    content = doc._machine.doc.server_content  # noqa: SLF001
    return "".join(op["insert"] for op in content if isinstance(op.get("insert"), str))


@dataclass
class StormClient:
    """One SDK session of the storm and what it saw."""

    name: str
    doc_id: str
    ws_url: str
    at_start: bool
    doc: Document | None = None
    typed: list[str] = field(default_factory=list)
    acked_at: dict[str, float] = field(default_factory=dict)  # token -> when seen acked
    ack_times: list[float] = field(default_factory=list)
    remote_times: list[float] = field(default_factory=list)
    _unacked: list[str] = field(default_factory=list)

    def _seen_acked(self, now: float) -> None:
        assert self.doc is not None
        text = _server_text(self.doc)
        still = [token for token in self._unacked if token not in text]
        for token in self._unacked:
            if token not in still:
                self.acked_at[token] = now
        self._unacked = still
        self.ack_times.append(now)

    async def watch(self) -> None:
        """Record acks and remote ops as the events arrive."""
        assert self.doc is not None
        async for event in self.doc.events():
            now = trio.current_time()
            if isinstance(event, Acked):
                self._seen_acked(now)
            elif isinstance(event, RemoteChange):
                self.remote_times.append(now)

    async def type_token(self) -> None:
        """Insert the next token at this client's end of the text."""
        assert self.doc is not None
        token = f"<{self.name}.{len(self.typed)}>"
        self.typed.append(token)
        self._unacked.append(token)
        await self.doc.insert(0 if self.at_start else len(self.doc.text) - 1, token)


@dataclass
class Settled:
    """The outcome of one pause-and-compare of every client with the stored documents."""

    converged: bool
    lost: int  # acked tokens absent from the stored text
    doubled: int  # typed tokens present more than once
    detail: str = ""


class Storm:
    """``clients`` SDK sessions over ``ws_urls`` (round robin) on ``doc_ids``, each typing
    ``rate_per_s`` tokens a second until paused."""

    def __init__(self, doc_ids: Sequence[str], ws_urls: Sequence[str], token: str,
                 clients: int, rate_per_s: float, seed: int = 0) -> None:
        self.token = token
        self.rate_per_s = rate_per_s
        self.rng = random.Random(seed)
        self.clients = [StormClient(f"c{n}", doc_ids[n % len(doc_ids)],
                                    ws_urls[(n // len(doc_ids)) % len(ws_urls)], n % 2 == 0)
                        for n in range(clients)]
        self._paused = True
        self._resumed = trio.Event()
        self._editing = 0  # clients inside an edit right now

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Storm]:
        """Open every session, then type until the block ends."""
        async with AsyncExitStack() as stack:
            for client in self.clients:
                client.doc = await stack.enter_async_context(open_document(
                    None, client.doc_id, self.token, client_id=client.name,
                    ws_url=client.ws_url, options=STORM_OPTIONS))
            async with trio.open_nursery() as nursery:
                for client in self.clients:
                    nursery.start_soon(client.watch)
                    nursery.start_soon(self._type, client)
                self.resume()
                try:
                    yield self
                finally:
                    nursery.cancel_scope.cancel()

    async def _type(self, client: StormClient) -> None:
        period_s = 1.0 / self.rate_per_s
        await trio.sleep(self.rng.uniform(0, period_s))
        while True:
            while self._paused:
                await self._resumed.wait()
            self._editing += 1
            try:
                await client.type_token()
            finally:
                self._editing -= 1
            await trio.sleep(period_s * self.rng.uniform(0.7, 1.3))

    def resume(self) -> None:
        """Let every client type again."""
        self._paused = False
        self._resumed.set()

    async def pause(self) -> None:
        """Stop typing; returns once no client is inside an edit."""
        self._paused = True
        self._resumed = trio.Event()
        while self._editing:  # noqa: ASYNC110 (an edit is a single checkpoint)
            await trio.sleep(0.01)

    def acked_between(self, start: float, end: float) -> int:
        """How many tokens were seen acked in ``[start, end)``."""
        return sum(start <= at < end for client in self.clients
                   for at in client.acked_at.values())

    def longest_ack_gap_s(self, start: float, end: float) -> float:
        """The longest time any client went without an ack within ``[start, end]``, the
        first interval counted from ``start`` (a client types every ~1/rate s, so a healthy
        system shows about that)."""
        return max(_longest_gap(client.ack_times, start, end) for client in self.clients)

    def longest_fanout_gap_s(self, start: float, end: float) -> float:
        """The longest time any client went without seeing another session's op."""
        return max(_longest_gap(client.remote_times, start, end) for client in self.clients)

    async def settle(self, http_urls: Sequence[str], within_s: float) -> Settled:
        """Pause, wait until every client is acked and at its document's stored head, then
        compare: texts equal, every acked token once, no token twice. Resumes typing."""
        await self.pause()
        try:
            with trio.move_on_after(within_s) as waited:
                stored = await self._wait_settled(http_urls)
            if waited.cancelled_caught:
                behind = [(c.name, c.doc.version if c.doc else None, c.doc.synchronized
                           if c.doc else None) for c in self.clients
                          if c.doc is None or not c.doc.synchronized]
                return Settled(False, 0, 0, f"not settled within {within_s} s: {behind}")
            return self._compare(stored)
        finally:
            self.resume()

    async def _wait_settled(self, http_urls: Sequence[str]) -> dict[str, tuple[int, str]]:
        for client in self.clients:
            assert client.doc is not None
            await client.doc.wait_synchronized()
        stored: dict[str, tuple[int, str]] = {}
        async with httpx.AsyncClient(timeout=5) as http:
            for doc_id in {client.doc_id for client in self.clients}:
                mine = [c.doc for c in self.clients if c.doc_id == doc_id and c.doc]
                while True:
                    state = await _get_document(http, http_urls, doc_id, self.token)
                    if state is not None and all(d.version == state[0] for d in mine):
                        stored[doc_id] = state
                        break
                    await trio.sleep(0.05)
        return stored

    def _compare(self, stored: dict[str, tuple[int, str]]) -> Settled:
        lost = doubled = 0
        problems: list[str] = []
        for client in self.clients:
            assert client.doc is not None
            text = stored[client.doc_id][1]
            if client.doc.text != text:
                problems.append(f"{client.name} holds other text than stored")
            for token in client.typed:
                count = text.count(token)
                if count == 0 and token in client.acked_at:
                    lost += 1
                    problems.append(f"acked {token} lost")
                if count > 1:
                    doubled += 1
                    problems.append(f"{token} x{count}")
        return Settled(not problems, lost, doubled, "; ".join(problems[:10]))


async def _get_document(http: httpx.AsyncClient, http_urls: Sequence[str], doc_id: str,
                        token: str) -> tuple[int, str] | None:
    """The stored (version, text) from the first server that answers."""
    for url in http_urls:
        try:
            response = await http.get(f"{url}/v1/documents/{doc_id}",
                                      headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            continue
        if response.status_code == 200:
            body = response.json()
            return body["version"], "".join(
                op["insert"] for op in body["content"] if isinstance(op.get("insert"), str))
    return None


def _longest_gap(times: list[float], start: float, end: float) -> float:
    inside = [t for t in times if start <= t <= end]
    marks = [start, *inside, end]
    return max(b - a for a, b in zip(marks, marks[1:], strict=False))
