#!/usr/bin/env python3
"""Outside-client conformance checks of a Switchboard hub (PROTOCOL.md).

Usage: python_client.py ws://127.0.0.1:PORT/ws

Speaks the wire protocol with nothing but Python `websockets` and `json`, as
any third-party client would. The hub under test is expected to be set up as
the Rust test that launches it does:
  - an event handler `echo` that replies to an ack with the same data;
  - `$join` allowed for any room except names starting with `private`;
  - relays allowed for members of the room;
  - defaults otherwise (64 KiB message limit, 10 bad messages in a row close
    the connection with 1008).

Prints one line per check (`ok  name` or `FAIL name: reason`) and last the line
`N passed, M failed`. Exit status 0 only when every check passed. Every wait
has a timeout, so the script never hangs.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import traceback
from typing import Any, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

TIMEOUT = 5.0  # seconds for any single wait
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")
MAX_MESSAGE = 64 * 1024


class CheckFailed(Exception):
    pass


def require(cond: bool, reason: str) -> None:
    if not cond:
        raise CheckFailed(reason)


def short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Client:
    """One WebSocket connection to the hub, with timed waits."""

    def __init__(self, ws: ClientConnection, welcome: dict) -> None:
        self.ws = ws
        self.welcome = welcome
        self.id = welcome.get("data", {}).get("id") if isinstance(welcome.get("data"), dict) else None

    async def send(self, message: Any) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self, timeout: float = TIMEOUT) -> Any:
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except asyncio.TimeoutError:
            raise CheckFailed(f"no message within {timeout:g} s") from None
        except ConnectionClosed as e:
            raise CheckFailed(f"connection closed unexpectedly ({close_desc(e)})") from None
        if isinstance(raw, bytes):
            raise CheckFailed(f"binary frame on a JSON connection: {raw[:40]!r}")
        try:
            return json.loads(raw)
        except ValueError:
            raise CheckFailed(f"hub sent a frame that is not JSON: {short(raw)}") from None

    async def expect(
        self, pred: Callable[[Any], bool], what: str, timeout: float = TIMEOUT
    ) -> tuple[Any, list[Any]]:
        """Read until a message satisfies pred; return it and what came before."""
        seen: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise CheckFailed(f"no {what} within {timeout:g} s; got {short(seen)}")
            try:
                msg = await self.recv(left)
            except CheckFailed as e:
                raise CheckFailed(f"waiting for {what}: {e}; before that got {short(seen)}") from None
            if pred(msg):
                return msg, seen
            seen.append(msg)

    async def reply_to(self, ack: int) -> dict:
        msg, _ = await self.expect(
            lambda m: isinstance(m, dict) and m.get("reply") == ack, f"reply {ack}"
        )
        return msg

    async def still_open(self) -> None:
        """The connection answers `$ping` with `$pong`."""
        await self.send({"event": "$ping"})
        await self.expect(lambda m: is_event(m, "$pong"), "$pong after $ping")

    async def closed(self, timeout: float = TIMEOUT) -> tuple[int | None, list[Any]]:
        """Read until the hub closes; return its close code and what came before."""
        seen: list[Any] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise CheckFailed(f"connection still open after {timeout:g} s; got {short(seen)}")
                raw = await asyncio.wait_for(self.ws.recv(), left)
                seen.append(raw if isinstance(raw, bytes) else _loads(raw))
        except asyncio.TimeoutError:
            raise CheckFailed(f"connection still open after {timeout:g} s; got {short(seen)}") from None
        except ConnectionClosed as e:
            return (e.rcvd.code if e.rcvd is not None else None), seen

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), TIMEOUT)
        except Exception:
            pass


def _loads(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def close_desc(e: ConnectionClosed) -> str:
    if e.rcvd is not None:
        return f"close code {e.rcvd.code} {e.rcvd.reason!r}"
    return "no close frame received"


def is_event(m: Any, name: str) -> bool:
    return isinstance(m, dict) and m.get("event") == name


def is_error(m: Any, code: str) -> bool:
    return (
        is_event(m, "$error")
        and isinstance(m.get("data"), dict)
        and m["data"].get("code") == code
    )


class Hub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[Client] = []

    async def client(self, compression: str | None = "deflate") -> Client:
        try:
            ws = await asyncio.wait_for(
                connect(
                    self.url,
                    compression=compression,
                    proxy=None,
                    open_timeout=TIMEOUT,
                    ping_interval=None,
                    close_timeout=2,
                    max_size=4 * MAX_MESSAGE,
                ),
                TIMEOUT + 1,
            )
        except asyncio.TimeoutError:
            raise CheckFailed(f"cannot connect to {self.url}: timed out") from None
        except (OSError, Exception) as e:  # refused, bad handshake, ...
            raise CheckFailed(f"cannot connect to {self.url}: {type(e).__name__}: {e}") from None
        first: Any = None
        try:
            raw = await asyncio.wait_for(ws.recv(), TIMEOUT)
            first = _loads(raw) if isinstance(raw, str) else raw
        except asyncio.TimeoutError:
            await ws.close()
            raise CheckFailed(f"no first message within {TIMEOUT:g} s") from None
        except ConnectionClosed as e:
            raise CheckFailed(f"closed before $welcome ({close_desc(e)})") from None
        if not is_event(first, "$welcome"):
            await ws.close()
            raise CheckFailed(f"first message is not $welcome: {short(first)}")
        c = Client(ws, first)
        self.opened.append(c)
        return c

    async def close_all(self) -> None:
        await asyncio.gather(*(c.close() for c in self.opened), return_exceptions=True)
        self.opened.clear()


# ---------------------------------------------------------------- checks


async def check_welcome(hub: Hub) -> None:
    c = await hub.client()
    data = c.welcome.get("data")
    require(isinstance(data, dict), f"$welcome data is not an object: {short(c.welcome)}")
    require(isinstance(data.get("id"), str) and data["id"] != "", f"bad id: {short(data)}")
    session = data.get("session")
    require(
        isinstance(session, str) and SESSION_RE.match(session) is not None,
        f"session token {session!r} does not match {SESSION_RE.pattern}",
    )
    for key in ("ping_interval_ms", "ping_timeout_ms"):
        v = data.get(key)
        require(type(v) is int and v > 0, f"{key} is not a positive integer: {v!r}")
    require(data.get("resumed") is False, f"resumed is not false: {data.get('resumed')!r}")
    require(data.get("missed") == 0 and type(data.get("missed")) is int, f"missed is not 0: {data.get('missed')!r}")
    other = await hub.client()
    require(other.id != c.id, f"two connections got the same id {c.id!r}")
    require(other.welcome["data"].get("session") != session, "two connections got the same session token")


async def check_ping_pong(hub: Hub) -> None:
    c = await hub.client()
    await c.send({"event": "$ping"})
    msg = await c.recv()
    require(is_event(msg, "$pong"), f"expected $pong, got {short(msg)}")


async def check_echo_ack(hub: Hub) -> None:
    c = await hub.client()
    data = {"text": "héllo", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    await c.send({"event": "echo", "data": data, "ack": 1})
    msg = await c.reply_to(1)
    require("error" not in msg, f"reply has an error: {short(msg)}")
    require(msg.get("data") == data, f"reply data differs: {short(msg)}")
    require("event" not in msg, f"a reply must not carry an event: {short(msg)}")


async def check_no_handler(hub: Hub) -> None:
    c = await hub.client()
    await c.send({"event": "no-such-handler", "data": 1, "ack": 5})
    msg = await c.reply_to(5)
    err = msg.get("error")
    require(
        isinstance(err, dict) and err.get("code") == "no_handler",
        f"expected error code no_handler, got {short(msg)}",
    )
    require(isinstance(err.get("message"), str), f"error has no message string: {short(msg)}")


async def check_not_json(hub: Hub) -> None:
    c = await hub.client()
    await c.send("this is {not json")
    msg, _ = await c.expect(lambda m: is_event(m, "$error"), "$error")
    require(is_error(msg, "bad_message"), f"expected $error bad_message, got {short(msg)}")
    await c.still_open()


async def check_batch(hub: Hub) -> None:
    c = await hub.client()
    await c.send(
        [
            {"event": "echo", "data": "first", "ack": 1},
            {"event": "echo", "data": "second", "ack": 2},
            {"event": "echo", "data": "third", "ack": 3},
        ]
    )
    replies = []
    for _ in range(3):
        msg, _ = await c.expect(lambda m: isinstance(m, dict) and "reply" in m, "reply")
        replies.append(msg)
    order = [m.get("reply") for m in replies]
    require(order == [1, 2, 3], f"replies out of order: {order}")
    got = [m.get("data") for m in replies]
    require(got == ["first", "second", "third"], f"reply data wrong: {short(got)}")


async def _spoof(hub: Hub, event: str) -> None:
    c = await hub.client()
    await c.send({"event": event, "data": {"code": "bad_message", "message": "x", "id": "y"}})
    msg, _ = await c.expect(lambda m: is_event(m, "$error"), "$error")
    require(is_error(msg, "bad_message"), f"expected $error bad_message, got {short(msg)}")
    await c.still_open()


async def check_spoof_welcome(hub: Hub) -> None:
    await _spoof(hub, "$welcome")


async def check_spoof_error(hub: Hub) -> None:
    await _spoof(hub, "$error")


async def join(c: Client, room: str, ack: int) -> dict:
    await c.send({"event": "$join", "data": {"room": room}, "ack": ack})
    return await c.reply_to(ack)


async def check_join_lobby(hub: Hub) -> None:
    c = await hub.client()
    msg = await join(c, "lobby", 11)
    require("error" not in msg, f"join refused: {short(msg)}")
    require(msg.get("data") == {"room": "lobby"}, f"expected data {{'room': 'lobby'}}, got {short(msg)}")


async def check_join_forbidden(hub: Hub) -> None:
    c = await hub.client()
    msg = await join(c, "private-x", 12)
    err = msg.get("error")
    require(
        isinstance(err, dict) and err.get("code") == "forbidden",
        f"expected error code forbidden, got {short(msg)}",
    )


async def check_relay(hub: Hub) -> None:
    a = await hub.client()
    b = await hub.client()
    for who, c in (("A", a), ("B", b)):
        msg = await join(c, "lobby", 1)
        require("error" not in msg, f"{who} could not join lobby: {short(msg)}")
    await a.send({"event": "chat", "data": "hi", "room": "lobby", "ack": 7})
    msg, before = await a.expect(
        lambda m: isinstance(m, dict) and m.get("reply") == 7, "reply 7"
    )
    require("error" not in msg, f"relay refused: {short(msg)}")
    got, _ = await b.expect(lambda m: is_event(m, "chat"), "relayed chat on B")
    want = {"event": "chat", "data": "hi", "room": "lobby", "from": a.id}
    for key, value in want.items():
        require(got.get(key) == value, f"B got {short(got)}, want {short(want)}")
    require("ack" not in got, f"relay carried the sender's ack: {short(got)}")
    # A must not get its own relay: everything A receives up to the $pong
    # answering a later $ping, plus a short grace, must hold no chat.
    await a.send({"event": "$ping"})
    _, more = await a.expect(lambda m: is_event(m, "$pong"), "$pong")
    seen = before + more
    try:
        seen.append(await a.recv(timeout=0.3))
    except CheckFailed:
        pass
    own = [m for m in seen if is_event(m, "chat")]
    require(not own, f"sender received its own relay: {short(own)}")


async def _oversize(hub: Hub, compression: str | None) -> None:
    c = await hub.client(compression=compression)
    payload = json.dumps({"event": "echo", "data": "x" * (70 * 1024), "ack": 1})
    await c.send(payload)
    code, seen = await c.closed()
    replies = [m for m in seen if isinstance(m, dict) and m.get("reply") == 1]
    require(not replies, f"oversize message was handled: {short(replies)}")
    require(code == 1009, f"expected close code 1009, got {code}")


async def check_oversize(hub: Hub) -> None:
    await _oversize(hub, None)


async def check_oversize_deflate(hub: Hub) -> None:
    # 70 KiB of one letter compresses to a few hundred bytes: the limit
    # applies after decompression (PROTOCOL.md section 7).
    c = await hub.client(compression="deflate")
    negotiated = c.ws.response is not None and "permessage-deflate" in (
        c.ws.response.headers.get("Sec-WebSocket-Extensions") or ""
    )
    await c.close()
    require(negotiated, "hub did not negotiate permessage-deflate")
    await _oversize(hub, "deflate")


async def check_bad_in_a_row(hub: Hub) -> None:
    c = await hub.client()
    # Nine bad messages, then a good one, twice: the count starts again after
    # a good message, so the connection must still be open.
    for round_ in (1, 2):
        for i in range(9):
            await c.send(f"bad {round_}.{i}")
        await c.send({"event": "$ping"})
        _, seen = await c.expect(lambda m: is_event(m, "$pong"), f"$pong after 9 bad messages (round {round_})")
        errors = [m for m in seen if is_error(m, "bad_message")]
        require(len(errors) == 9, f"expected 9 $error bad_message, got {len(errors)}: {short(seen)}")
    for i in range(10):
        try:
            await c.ws.send(f"bad 3.{i}")
        except ConnectionClosed:
            break
    code, _ = await c.closed()
    require(code == 1008, f"expected close code 1008 after 10 bad messages in a row, got {code}")


CHECKS = [
    ("welcome", check_welcome),
    ("ping_pong", check_ping_pong),
    ("echo_ack", check_echo_ack),
    ("no_handler", check_no_handler),
    ("not_json_bad_message", check_not_json),
    ("batch_in_order", check_batch),
    ("spoofed_welcome", check_spoof_welcome),
    ("spoofed_error", check_spoof_error),
    ("join_lobby", check_join_lobby),
    ("join_private_forbidden", check_join_forbidden),
    ("relay_to_room", check_relay),
    ("oversize_close_1009", check_oversize),
    ("oversize_deflate_close_1009", check_oversize_deflate),
    ("ten_bad_in_a_row_close_1008", check_bad_in_a_row),
]


async def main(url: str) -> int:
    passed = failed = 0
    for name, check in CHECKS:
        hub = Hub(url)
        try:
            await asyncio.wait_for(check(hub), 30)
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except asyncio.TimeoutError:
            failed += 1
            print(f"FAIL {name}: check did not finish within 30 s", flush=True)
        except Exception as e:  # a bug in the check or an unexpected error
            failed += 1
            detail = traceback.format_exception_only(type(e), e)[-1].strip()
            print(f"FAIL {name}: unexpected {detail}", flush=True)
        else:
            passed += 1
            print(f"ok  {name}", flush=True)
        finally:
            await hub.close_all()
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith(("ws://", "wss://")):
        print("usage: python_client.py ws://HOST:PORT/ws", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main(sys.argv[1])))
