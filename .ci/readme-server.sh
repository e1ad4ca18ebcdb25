#!/usr/bin/env bash
# Runs the README's first command, `cargo run --release`, on a free port
# (`-- --listen 127.0.0.1:0`), waits for its start-up line, fetches the
# demo page and a WebSocket `$welcome`, and stops it with SIGTERM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
LOG="$(mktemp)"
cargo build --release --quiet
cargo run --release --quiet -- --listen 127.0.0.1:0 >"$LOG" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
URL=""
for _ in $(seq 1 300); do
  URL="$(grep -o 'switchboard listening on http://[0-9.:]*' "$LOG" | head -n1 | sed 's/.* on //')" || true
  [[ -n "$URL" ]] && break
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "the server exited:"; cat "$LOG"; exit 1
  fi
  sleep 0.1
done
[[ -n "$URL" ]] || { echo "no start-up line within 30 s:"; cat "$LOG"; exit 1; }
echo "server at $URL"
"$PYTHON" - "$URL" <<'PY'
import asyncio, json, sys, urllib.request
import websockets

base = sys.argv[1]
page = urllib.request.urlopen(base + "/", timeout=10).read().decode()
assert "<html" in page.lower(), "the demo page is not HTML"
print("demo page:", len(page), "bytes")

async def welcome():
    async with websockets.connect(base.replace("http://", "ws://") + "/ws") as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first.get("event") == "$welcome", first
        print("$welcome:", sorted(first.get("data", {})))

asyncio.run(welcome())
PY
kill -TERM "$PID"
wait "$PID" || { echo "the server did not stop cleanly (status $?)"; cat "$LOG"; exit 1; }
echo "stopped cleanly"
