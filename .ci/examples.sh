#!/usr/bin/env bash
# Smoke test of the workspace's examples (issue 17): builds them (debug, the workspace
# target dir: after `cargo test --workspace` that is a no-op) and runs each to a clean
# exit within a time limit, feeding input and starting servers as each needs:
#
#   pool_feeds (demo)  runs by itself: three feeds of its own, then it drains and exits
#   echo               started; text and binary echoed (examples_client.py); pool_feeds
#                      dialing it by URL until SIGINT; then SIGTERM with a client
#                      connected: the client gets 1001, echo exits 0 promptly
#   chat               started; two chat_cli clients talk through it (the sender's stdin
#                      ends: it must exit 0 on EOF; the listener's ends later, same);
#                      examples_client.py uses $join/who/say/quit; then SIGINT with a
#                      client connected: 1001, exit 0 promptly
#   echo, chat         each also stopped by the other signal
#
# Every example found under crates/*/examples must be one of those: a new one fails
# this script until it is added here.
#
#   bash .ci/examples.sh     # from the repository root; PYTHON picks the interpreter
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
LIMIT="${EXAMPLES_TIMEOUT:-20}" # seconds for any one step
STOP_LIMIT=5                    # seconds for a server to exit after a signal
COVERED=(chat chat_cli echo pool_feeds)

log() { echo "examples: $*"; }
die() {
  echo "examples: FAILED: $*" >&2
  exit 1
}

# ---------------------------------------------------------------- every example is covered
found=()
while IFS= read -r file; do
  case "$file" in
    */examples/*/main.rs) name="$(basename "$(dirname "$file")")" ;;
    */examples/*/*) continue ;; # a module of a multi-file example
    *) name="$(basename "$file" .rs)" ;;
  esac
  found+=("$name")
done < <(find crates -path '*/examples/*' -name '*.rs' | sort)
for name in "${found[@]}"; do
  [[ " ${COVERED[*]} " == *" $name "* ]] || die "example '$name' is not run by .ci/examples.sh: add it"
done
log "examples: ${found[*]}"

# ---------------------------------------------------------------- build
cargo build --workspace --examples
EX="${CARGO_TARGET_DIR:-target}/debug/examples"
for name in "${COVERED[@]}"; do [[ -x "$EX/$name" ]] || die "no $EX/$name after the build"; done

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  exec 3>&- 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Waits until file $1 has a line matching the ERE $2 (prints that line), or fails.
wait_line() {
  local file=$1 pattern=$2 what=$3 i
  for ((i = 0; i < LIMIT * 10; i++)); do
    if grep -E -m1 "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "--- $file" >&2
  cat "$file" >&2 || true
  die "$what: no line matching /$pattern/ within ${LIMIT}s"
}

# Waits for background process $1 to exit within $2 seconds and requires status 0.
wait_exit() {
  local pid=$1 secs=$2 what=$3 log=$4 i rc
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    cat "$log" >&2 || true
    die "$what: still running ${secs}s later"
  fi
  rc=0
  wait "$pid" || rc=$?
  if ((rc != 0)); then
    cat "$log" >&2 || true
    die "$what: exit status $rc"
  fi
}

# Starts server example $1 (args after it) in the background; sets SERVER_PID, SERVER_LOG.
start_server() {
  local name=$1
  shift
  SERVER_LOG="$WORK/$name.$RANDOM.log"
  RUST_LOG=warn "$EX/$name" "$@" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
}

# Sends signal $1 to the server and requires a prompt exit with status 0.
stop_server() {
  local sig=$1 what=$2 t0=$SECONDS
  kill -s "$sig" "$SERVER_PID"
  wait_exit "$SERVER_PID" "$STOP_LIMIT" "$what after SIG$sig" "$SERVER_LOG"
  log "$what: SIG$sig -> exit 0 in $((SECONDS - t0))s or less"
}

# Runs a client to a clean end within LIMIT; its output goes to file $1.
run_client() {
  local out=$1 what=$2
  shift 2
  local rc=0
  timeout "$LIMIT" "$@" >"$out" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$out" >&2 || true
    ((rc == 124)) && die "$what: did not end within ${LIMIT}s"
    die "$what: exit status $rc"
  fi
}

# ---------------------------------------------------------------- pool_feeds, demo mode
run_client "$WORK/pool_demo.out" "pool_feeds (demo)" "$EX/pool_feeds" </dev/null
grep -q '^30 frames from 3 feeds, 0 dropped$' "$WORK/pool_demo.out" \
  || { cat "$WORK/pool_demo.out" >&2; die "pool_feeds (demo): not every tick arrived"; }
log "pool_feeds (demo): 30 frames from 3 feeds, exit 0"

# ---------------------------------------------------------------- echo
start_server echo --listen 127.0.0.1:0
addr="$(wait_line "$SERVER_LOG" '^listening on ' echo | sed 's/^listening on //')"
run_client "$WORK/echo_client.out" "echo: examples_client.py echo" "$PYTHON" .ci/examples_client.py echo "ws://$addr/"
log "$(cat "$WORK/echo_client.out")"

# pool_feeds dialing a URL: it subscribes, echo answers, it runs until SIGINT.
"$EX/pool_feeds" "ws://$addr/" >"$WORK/pool_url.out" 2>&1 </dev/null &
pool_pid=$!
PIDS+=("$pool_pid")
wait_line "$WORK/pool_url.out" '^\[feed-0\] subscribe feed-0$' "pool_feeds (URL)" >/dev/null
kill -INT "$pool_pid"
wait_exit "$pool_pid" "$STOP_LIMIT" "pool_feeds (URL) after SIGINT" "$WORK/pool_url.out"
grep -q 'frames from 1 feeds' "$WORK/pool_url.out" || die "pool_feeds (URL): no summary line"
log "pool_feeds (URL): subscribed through echo, SIGINT -> exit 0"

# A client still connected when echo is told to stop: closed with 1001, echo exits 0.
"$PYTHON" .ci/examples_client.py hold "ws://$addr/" 1001 >"$WORK/echo_hold.out" 2>&1 &
hold_pid=$!
PIDS+=("$hold_pid")
wait_line "$WORK/echo_hold.out" '^ready$' "echo: held client" >/dev/null
stop_server TERM "echo (a client connected)"
wait_exit "$hold_pid" "$STOP_LIMIT" "echo: the held client" "$WORK/echo_hold.out"

start_server echo --listen 127.0.0.1:0
wait_line "$SERVER_LOG" '^listening on ' echo >/dev/null
stop_server INT "echo (idle)"

# ---------------------------------------------------------------- chat and chat_cli
start_server chat 127.0.0.1:0
url="$(wait_line "$SERVER_LOG" '^chat hub on ' chat | sed 's/^chat hub on //')"

# bob listens; his stdin stays open (fd 3) until we close it.
mkfifo "$WORK/bob.in"
"$EX/chat_cli" "$url" lobby bob <"$WORK/bob.in" >"$WORK/bob.out" 2>&1 &
bob_pid=$!
PIDS+=("$bob_pid")
exec 3>"$WORK/bob.in"
wait_line "$WORK/bob.out" '^\* joined lobby' "chat_cli (bob)" >/dev/null

# alice says two lines; the end of her input must end her client.
printf 'hello\n\nworld\n' >"$WORK/alice.in"
run_client "$WORK/alice.out" "chat_cli (alice) at the end of its input" \
  "$EX/chat_cli" "$url" lobby alice <"$WORK/alice.in"
grep -q '^\* joined lobby' "$WORK/alice.out" || die "chat_cli (alice): did not join"
if grep -q 'not sent' "$WORK/alice.out"; then cat "$WORK/alice.out" >&2; die "chat_cli (alice): a line was not sent"; fi
wait_line "$WORK/bob.out" '^<alice> world$' "chat_cli (bob) hearing alice" >/dev/null
grep -q '^<alice> hello$' "$WORK/bob.out" || die "chat_cli (bob): missed 'hello'"
log "chat_cli: alice's lines reached bob; alice exited 0 at the end of her input"

run_client "$WORK/chat_client.out" "chat: examples_client.py chat" "$PYTHON" .ci/examples_client.py chat "$url"
log "$(cat "$WORK/chat_client.out")"

# Ctrl-D for bob.
exec 3>&-
wait_exit "$bob_pid" "$LIMIT" "chat_cli (bob) at the end of its input" "$WORK/bob.out"
log "chat_cli (bob): exit 0 at the end of its input"

"$PYTHON" .ci/examples_client.py hold "$url" 1001 --join >"$WORK/chat_hold.out" 2>&1 &
hold_pid=$!
PIDS+=("$hold_pid")
wait_line "$WORK/chat_hold.out" '^ready$' "chat: held client" >/dev/null
stop_server INT "chat (a client connected)"
wait_exit "$hold_pid" "$STOP_LIMIT" "chat: the held client" "$WORK/chat_hold.out"

start_server chat 127.0.0.1:0
wait_line "$SERVER_LOG" '^chat hub on ' chat >/dev/null
stop_server TERM "chat (idle)"

log "every example ran to a clean end"
