#!/usr/bin/env python3
"""Outside-client checks of a Switchboard server's long-polling (PROTOCOL.md 5, 6, 9).

Usage: polling_client.py http://127.0.0.1:PORT/ws

A whole long-polling session with nothing but the Python standard library
(urllib, json, threading), as any third-party HTTP client would do it. The
server under test is the standalone `switchboard` binary, started with
`--max-message-size 4KiB` and default rooms and relays; its HTTP API
(`POST /api/publish`, `DELETE /api/sockets/{id}`) answers loopback callers.

Prints one line per check (`ok  name` or `FAIL name: reason`) and last the line
`N passed, M failed`. Exit status 0 only when every check passed (2 for a bad
command line). Every request and every wait has a timeout, so the script never
hangs.
"""

from __future__ import annotations

import json
import time
import re
import sys
import threading
import traceback
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable

TIMEOUT = 5.0  # seconds for a single answer that should come at once
POLL_WAIT = 35.0  # a held GET answers within the poll timeout (default 25 s)
HELD = 0.5  # a GET still unanswered after this long counts as held open
SESSION_RE = re.compile(r"^[A-Za-z0-9_-]{22,}$")
MAX_MESSAGE = 4 * 1024  # the server's --max-message-size


class CheckFailed(Exception):
    pass


def require(cond: bool, reason: str) -> None:
    if not cond:
        raise CheckFailed(reason)


def short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise CheckFailed(f"answer {self.status} is not JSON: {short(self.body.decode('latin1'))}") from None

    def error_code(self) -> str | None:
        body = self.json()
        error = body.get("error") if isinstance(body, dict) else None
        return error.get("code") if isinstance(error, dict) else None

    def __repr__(self) -> str:
        return f"{self.status} {short(self.body.decode('latin1'))}"


def request(method: str, url: str, body: bytes | str | None = None, timeout: float = TIMEOUT) -> Answer:
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            return Answer(res.status, res.read())
    except urllib.error.HTTPError as e:
        return Answer(e.code, e.read())
    except (urllib.error.URLError, OSError) as e:
        raise CheckFailed(f"{method} {url}: {e}") from None


class Background:
    """A request running on its own thread, to be held open by the server."""

    def __init__(self, call: Callable[[], Answer]) -> None:
        self.answer: Answer | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self.thread.start()

    def _run(self, call: Callable[[], Answer]) -> None:
        try:
            self.answer = call()
        except BaseException as e:  # reported by result()
            self.error = e

    def still_open_after(self, seconds: float) -> bool:
        self.thread.join(seconds)
        return self.thread.is_alive()

    def result(self, timeout: float) -> Answer:
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise CheckFailed(f"no answer within {timeout:g} s")
        if self.error is not None:
            raise self.error
        assert self.answer is not None
        return self.answer


class Server:
    def __init__(self, hub_url: str) -> None:
        self.poll = hub_url.rstrip("/") + "/poll"
        parts = urllib.parse.urlsplit(hub_url)
        self.base = f"{parts.scheme}://{parts.netloc}"

    def publish(self, body: dict) -> None:
        answer = request("POST", self.base + "/api/publish", json.dumps(body))
        require(answer.status == 200, f"POST /api/publish answered {answer}")

    def open(self, body: str = "") -> "Session":
        answer = request("POST", self.poll, body)
        require(answer.status == 200, f"handshake POST answered {answer}")
        batch = answer.json()
        require(isinstance(batch, list) and batch, f"handshake answer is not a non-empty array: {answer}")
        welcome = batch[0]
        require(
            isinstance(welcome, dict) and welcome.get("event") == "$welcome" and isinstance(welcome.get("data"), dict),
            f"first element is not $welcome: {short(batch)}",
        )
        return Session(self, welcome["data"], batch[1:])


class Session:
    def __init__(self, server: Server, welcome: dict, rest: list) -> None:
        self.server = server
        self.welcome = welcome
        self.rest = rest
        self.token = welcome.get("session")
        self.id = welcome.get("id")
        self.url = server.poll + "?" + urllib.parse.urlencode({"sid": self.token})
        self.received = 0  # counted messages (PROTOCOL.md 5)
        self.inbox: list = []  # what GET answers brought and expect() has not taken

    def post(self, body: Any) -> Answer:
        return request("POST", self.url, body if isinstance(body, (str, bytes)) else json.dumps(body))

    def get(self, timeout: float = POLL_WAIT) -> Answer:
        return request("GET", self.url, timeout=timeout)

    def delete(self) -> Answer:
        return request("DELETE", self.url)

    def take(self, answer: Answer) -> list:
        require(answer.status == 200, f"GET answered {answer}")
        batch = answer.json()
        require(isinstance(batch, list), f"GET answer is not an array: {answer}")
        self.received += sum(1 for m in batch if not (isinstance(m, dict) and m.get("event") == "$pong"))
        return batch

    def expect(self, pred: Callable[[Any], bool], what: str, timeout: float = POLL_WAIT) -> Any:
        """GETs until a message satisfies pred (what came before stays in the inbox)."""
        deadline = time.monotonic() + timeout
        while True:
            for i, msg in enumerate(self.inbox):
                if pred(msg):
                    del self.inbox[i]
                    return msg
            left = deadline - time.monotonic()
            require(left > 0, f"no {what} within {timeout:g} s; got {short(self.inbox)}")
            self.inbox.extend(self.take(self.get(timeout=left + 1)))


def is_event(msg: Any, name: str) -> bool:
    return isinstance(msg, dict) and msg.get("event") == name


# ------------------------------------------------------------------ checks


def check_handshake(server: Server) -> None:
    a = server.open()
    b = server.open()
    for s in (a, b):
        w = s.welcome
        require(isinstance(w.get("id"), str) and w["id"], f"no id: {short(w)}")
        require(isinstance(s.token, str) and SESSION_RE.match(s.token), f"bad session token: {s.token!r}")
        require(w.get("resumed") is False and w.get("missed") == 0, f"a new session: {short(w)}")
        require(isinstance(w.get("ping_interval_ms"), int) and isinstance(w.get("ping_timeout_ms"), int), short(w))
        require(s.rest == [], f"nothing after $welcome on a new session: {short(s.rest)}")
    require(a.id != b.id and a.token != b.token, "two sessions share an id or token")
    for s in (a, b):
        s.delete()


def check_held_get_returns_publish(server: Server) -> None:
    s = server.open()
    held = Background(lambda: s.get())
    require(held.still_open_after(HELD), f"GET with nothing queued answered at once: {held.answer}")
    server.publish({"event": "news", "data": {"n": 1}, "to": s.id})
    batch = s.take(held.result(TIMEOUT))
    require(batch == [{"event": "news", "data": {"n": 1}}], f"expected the published event, got {short(batch)}")
    s.delete()


def check_join_and_ack(server: Server) -> None:
    s = server.open()
    answer = s.post({"event": "$join", "data": {"room": "py-room"}, "ack": 1})
    require(answer.status == 204, f"POST $join answered {answer}")
    reply = s.expect(lambda m: isinstance(m, dict) and m.get("reply") == 1, "reply 1")
    require(reply.get("data") == {"room": "py-room"} and "error" not in reply, f"bad $join reply: {short(reply)}")
    rooms = request("GET", server.base + "/api/rooms/py-room").json()
    require(rooms.get("members") == [s.id], f"the API does not list the member: {short(rooms)}")
    server.publish({"event": "in-room", "data": 7, "room": "py-room"})
    msg = s.expect(lambda m: is_event(m, "in-room"), "the room broadcast")
    require(msg.get("room") == "py-room" and msg.get("data") == 7, f"bad broadcast: {short(msg)}")
    s.delete()


def check_ping_pong(server: Server) -> None:
    s = server.open()
    answer = s.post({"event": "$ping"})
    require(answer.status == 204, f"POST $ping answered {answer}")
    s.expect(lambda m: is_event(m, "$pong"), "$pong")
    s.delete()


def check_second_get_409(server: Server) -> None:
    s = server.open()
    held = Background(lambda: s.get())
    require(held.still_open_after(HELD), f"GET with nothing queued answered at once: {held.answer}")
    second = s.get(timeout=TIMEOUT)
    require(second.status == 409, f"a second concurrent GET answered {second}, not 409")
    # The session stays open: the held GET still delivers.
    server.publish({"event": "after-409", "to": s.id})
    batch = s.take(held.result(TIMEOUT))
    require(any(is_event(m, "after-409") for m in batch), f"held GET after the 409 got {short(batch)}")
    s.delete()


def check_not_json_400(server: Server) -> None:
    s = server.open()
    answer = s.post("this is not json")
    require(answer.status == 400, f"a non-JSON body answered {answer}, not 400")
    require(answer.error_code() is not None, f"error body without error.code: {answer}")
    for body in ("42", '["not an object"]'):
        answer = s.post(body)
        require(answer.status == 400, f"body {body} answered {answer}, not 400")
    # The session stays open.
    require(s.post({"event": "$ping"}).status == 204, "POST after a 400 failed")
    s.expect(lambda m: is_event(m, "$pong"), "$pong after a 400")
    s.delete()


def check_oversize_413(server: Server) -> None:
    s = server.open()
    big = json.dumps({"event": "big", "data": "x" * (MAX_MESSAGE + 100)})
    answer = s.post(big)
    require(answer.status == 413, f"a {len(big)}-byte body answered {answer}, not 413")
    # The limit applies to the whole body: a batch of small messages over it too.
    batch = json.dumps([{"event": "small", "data": "y" * 1000}] * 5)
    answer = s.post(batch)
    require(answer.status == 413, f"a {len(batch)}-byte batch answered {answer}, not 413")
    require(s.post({"event": "$ping"}).status == 204, "POST after a 413 failed")
    s.expect(lambda m: is_event(m, "$pong"), "$pong after a 413")
    s.delete()


def check_resume(server: Server) -> None:
    s = server.open()
    for n in (1, 2, 3):
        server.publish({"event": "n", "data": n, "to": s.id})
    got: list = []
    while len(got) < 3:
        got.extend(m for m in s.take(s.get()) if is_event(m, "n"))
    require([m.get("data") for m in got] == [1, 2, 3], f"expected n 1, 2, 3, got {short(got)}")
    require(s.received == 3, f"counted {s.received}")
    # Resume as if the last answer had been lost: the last message comes again.
    again = server.open(json.dumps({"resume": s.token, "last": 2}))
    w = again.welcome
    require(w.get("resumed") is True and w.get("id") == s.id and w.get("session") == s.token, f"not resumed: {short(w)}")
    require(w.get("missed") == 1, f"missed should be 1: {short(w)}")
    require(again.rest == [{"event": "n", "data": 3}], f"expected the missed message, got {short(again.rest)}")
    # Unknown token: a new session.
    fresh = server.open(json.dumps({"resume": "x" * 32, "last": 0}))
    require(fresh.welcome.get("resumed") is False and fresh.id != s.id, f"unknown token: {short(fresh.welcome)}")
    again.delete()
    fresh.delete()


def check_kick_410(server: Server) -> None:
    s = server.open()
    held = Background(lambda: s.get())
    require(held.still_open_after(HELD), f"GET with nothing queued answered at once: {held.answer}")
    kicked = request("DELETE", server.base + "/api/sockets/" + urllib.parse.quote(s.id))
    require(kicked.status == 204, f"DELETE /api/sockets answered {kicked}")
    answer = held.result(TIMEOUT)
    require(answer.status == 410 and answer.error_code() == "kicked", f"held GET of a kicked session answered {answer}")
    later = s.get(timeout=TIMEOUT)
    require(later.status == 404, f"GET after the 410 answered {later}, not 404")


def check_delete(server: Server) -> None:
    s = server.open()
    answer = s.delete()
    require(answer.status == 204, f"DELETE answered {answer}, not 204")
    later = s.get(timeout=TIMEOUT)
    require(later.status == 404, f"GET after DELETE answered {later}, not 404")
    post = s.post({"event": "$ping"})
    require(post.status == 404, f"POST after DELETE answered {post}, not 404")
    resumed = server.open(json.dumps({"resume": s.token, "last": 0}))
    require(resumed.welcome.get("resumed") is False, f"an ended session resumed: {short(resumed.welcome)}")
    resumed.delete()


CHECKS = [
    ("handshake", check_handshake),
    ("held_get_returns_publish", check_held_get_returns_publish),
    ("join_ack_and_room_broadcast", check_join_and_ack),
    ("ping_pong", check_ping_pong),
    ("second_get_409", check_second_get_409),
    ("not_json_400", check_not_json_400),
    ("oversize_413", check_oversize_413),
    ("resume_replays_missed", check_resume),
    ("kick_410_then_404", check_kick_410),
    ("delete_204_then_404", check_delete),
]


def main(hub_url: str) -> int:
    server = Server(hub_url)
    passed = failed = 0
    for name, check in CHECKS:
        runner = Background(lambda check=check: check(server))  # type: ignore[misc]
        runner.thread.join(60)
        if runner.thread.is_alive():
            failed += 1
            print(f"FAIL {name}: check did not finish within 60 s", flush=True)
        elif isinstance(runner.error, CheckFailed):
            failed += 1
            print(f"FAIL {name}: {runner.error}", flush=True)
        elif runner.error is not None:
            failed += 1
            e = runner.error
            detail = traceback.format_exception_only(type(e), e)[-1].strip()
            print(f"FAIL {name}: unexpected {detail}", flush=True)
        else:
            passed += 1
            print(f"ok  {name}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    if len(sys.argv) != 2 or not sys.argv[1].startswith(("http://", "https://")):
        print("usage: polling_client.py http://HOST:PORT/ws", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
