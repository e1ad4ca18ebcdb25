# The application's back end of the README's worked example: the hub asks
# it who a client is (connect) and hands it the clients' events (event).
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("BACKEND_SECRET", "change-me")  # the hub sends it as X-Secret
PROFILES = {"ada": {"name": "Ada Lovelace"}, "bob": {"name": "Bob"}}  # your database


class Backend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the hub reuses its connections

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.headers.get("X-Secret") != SECRET:
            answer = {"error": {"code": "forbidden", "message": "only the hub may call"}}
        elif self.path == "/connect":  # the hub checked the token: body["user"] is its sub
            profile = PROFILES.get(body["user"])
            answer = {"info": profile, "rooms": ["chat-*"], "join": ["chat-lobby"]} if profile \
                else {"error": {"code": "forbidden", "message": "no such user"}}
        elif self.path == "/event" and body["event"] == "add":  # an RPC: its answer is the ack
            answer = {"data": sum(body["data"])}
        elif self.path == "/event":
            answer = {"error": {"code": "no_handler", "message": "unknown event"}}
        else:
            answer = {}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "3000"))), Backend).serve_forever()
