"""A small WebSocket client that drives the workspace's server examples for
.ci/examples.sh (Python `websockets`, installed from tests/outside/requirements.txt).

    examples_client.py echo URL        text and binary messages come back unchanged
    examples_client.py chat URL        $join, `who`, `say` (and its `said`), `quit` (close 1000)
    examples_client.py hold URL CODE   connect (join `lobby` on a chat hub with --join), print
                                       `ready`, then wait for the server to close the
                                       socket with CODE (a server shutting down: 1001)

Exits 0 when every check passes, 1 with the reason otherwise.
"""

import json
import sys

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

TIMEOUT = 10


def fail(why):
    print(f"examples_client: {why}", file=sys.stderr)
    sys.exit(1)


def next_message(ws, want):
    """The next JSON message for which want(msg) holds; others are skipped."""
    while True:
        msg = json.loads(ws.recv(timeout=TIMEOUT))
        if want(msg):
            return msg


def welcome(ws):
    msg = next_message(ws, lambda m: True)
    if msg.get("event") != "$welcome":
        fail(f"the first message is not $welcome: {msg}")
    return msg["data"]["id"]


def request(ws, ack, event, data):
    ws.send(json.dumps({"event": event, "data": data, "ack": ack}))
    reply = next_message(ws, lambda m: m.get("reply") == ack)
    if "error" in reply:
        fail(f"{event} failed: {reply['error']}")
    return reply.get("data")


def echo(url):
    with connect(url, open_timeout=TIMEOUT) as ws:
        for payload in ["hello", "héllo wörld " * 100, b"\x00\x01\x02\xff", b""]:
            ws.send(payload)
            back = ws.recv(timeout=TIMEOUT)
            if back != payload:
                fail(f"echo sent {payload!r}, got {back!r}")
    print("echo: text and binary came back unchanged")


def chat(url):
    with connect(url, open_timeout=TIMEOUT) as ws:
        me = welcome(ws)
        if request(ws, 1, "$join", {"room": "lobby"}) != {"room": "lobby"}:
            fail("$join did not answer the room")
        members = request(ws, 2, "who", "lobby")
        if me not in members:
            fail(f"who does not list this socket: {members}")
        ws.send(json.dumps({"event": "say", "data": {"room": "lobby", "text": "hi from python"}}))
        said = next_message(ws, lambda m: m.get("event") == "said")
        if said["data"] != {"from": me, "text": "hi from python"}:
            fail(f"unexpected said: {said}")
        ws.send(json.dumps({"event": "quit", "data": None}))
        try:
            while True:
                ws.recv(timeout=TIMEOUT)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            if code != 1000:
                fail(f"quit closed with {code}, not 1000")
    print(f"chat: joined, who listed {len(members)} member(s), say was broadcast, quit closed with 1000")


def hold(url, code, join):
    with connect(url, open_timeout=TIMEOUT) as ws:
        if join:
            welcome(ws)
            request(ws, 1, "$join", {"room": "lobby"})
        print("ready", flush=True)
        try:
            while True:
                ws.recv(timeout=60)
        except ConnectionClosed as closed:
            got = closed.rcvd.code if closed.rcvd else None
            if got != code:
                fail(f"the server closed with {got}, not {code}")
    print(f"hold: the server closed the socket with {code}")


def main():
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "echo":
        echo(args[1])
    elif len(args) >= 2 and args[0] == "chat":
        chat(args[1])
    elif len(args) >= 3 and args[0] == "hold":
        hold(args[1], int(args[2]), "--join" in args[3:])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main()
