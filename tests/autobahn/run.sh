#!/usr/bin/env bash
# Autobahn|Testsuite (fuzzingclient cases) against a WebSocket echo server,
# driven by the `kosoku` runner, gated on its index.json by check.py.
#
# Usage: tests/autobahn/run.sh [CASE_GLOB ...]
#   With no argument every case runs (1.* .. 13.*, compression included).
#
# Environment:
#   ECHO_URL        test this already-running server (e.g. ws://127.0.0.1:9001)
#                   instead of starting ours
#   ECHO_BIN        echo server to start (default: target/release/examples/echo);
#                   started as `$ECHO_BIN --listen 127.0.0.1:0`, must print
#                   `listening on 127.0.0.1:PORT`
#   AUTOBAHN_RUNNER kosoku (default) or wstest: the runner for the selected cases
#   AUTOBAHN_CASES  space-separated case globs when no argument is given (default: all)
#   AUTOBAHN_EXCLUDE      space-separated case globs to leave out (default: none)
#   AUTOBAHN_PARALLELISM  cases run at once by kosoku (default: 2)
#   AUTOBAHN_OUTDIR       reports (default: target/autobahn)
#   AUTOBAHN_TIMEOUT      seconds the whole kosoku run may take (default: 1200)
#   KOSOKU          kosoku command (default: kosoku on PATH)
#   WSTEST          reference runner (default: wstest of pyenv's Python 2.7.18)
#   AUTOBAHN_ALLOW_RUNNER_BROKEN=1  do not fail on kosoku-broken cases when
#                   wstest is unavailable (they are still listed)
#
# Re-run only the runner-broken cases (ids in $AUTOBAHN_OUTDIR/runner-broken.txt):
#   AUTOBAHN_RUNNER=wstest tests/autobahn/run.sh $(cat target/autobahn/runner-broken.txt)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

ECHO_BIN="${ECHO_BIN:-target/release/examples/echo}"
RUNNER="${AUTOBAHN_RUNNER:-kosoku}"
PARALLELISM="${AUTOBAHN_PARALLELISM:-2}"
OUTDIR="${AUTOBAHN_OUTDIR:-target/autobahn}"
TIMEOUT="${AUTOBAHN_TIMEOUT:-1200}"
KOSOKU="${KOSOKU:-kosoku}"
PYTHON="${PYTHON:-python3}"
if [[ -z "${WSTEST:-}" ]]; then
  WSTEST="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions/2.7.18/bin/wstest"
fi
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"

log() { echo "[autobahn] $*"; }

SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    local i
    for i in $(seq 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
  if [[ ! -x "$ECHO_BIN" ]]; then
    log "echo server $ECHO_BIN not found: build it with 'cargo build --release -p switchboard --example echo', or set ECHO_URL"
    exit 1
  fi
  local out="$OUTDIR/echo.stdout"
  : >"$out"
  "$ECHO_BIN" --listen 127.0.0.1:0 >"$out" 2>"$OUTDIR/echo.stderr" &
  SERVER_PID=$!
  local port="" deadline=$((SECONDS + 30))
  while [[ -z "$port" ]]; do
    port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*$/\1/p' "$out" | head -n1)"
    [[ -n "$port" ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      log "echo server exited before it was ready; stderr:"
      cat "$OUTDIR/echo.stderr" >&2 || true
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "echo server printed no 'listening on 127.0.0.1:PORT' line within 30 s"
      exit 1
    fi
    sleep 0.1
  done
  ECHO_URL="ws://127.0.0.1:$port"
  log "started $ECHO_BIN (pid $SERVER_PID) on $ECHO_URL"
}

server_still_alive() {
  if [[ -n "$SERVER_PID" ]] && ! kill -0 "$SERVER_PID" 2>/dev/null; then
    log "echo server died during the run; stderr tail:"
    tail -n 30 "$OUTDIR/echo.stderr" >&2 || true
    return 1
  fi
}

# run_wstest OUTDIR CASE... : reference runner (Python 2 autobahntestsuite)
run_wstest() {
  local out="$1"
  shift
  if [[ ! -x "$WSTEST" ]]; then
    log "reference runner not found at $WSTEST"
    log "install: pyenv install -s 2.7.18 && \$(pyenv root)/versions/2.7.18/bin/pip install autobahntestsuite==25.10.1"
    return 2
  fi
  rm -rf "$out"
  mkdir -p "$out"
  "$PYTHON" - "$out/spec.json" "$out" "$ECHO_URL" "$@" <<'PY'
import json, sys
spec, outdir, url, cases = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
json.dump({"outdir": outdir, "servers": [{"agent": "echo", "url": url}],
           "cases": cases, "exclude-cases": [], "exclude-agent-cases": {}},
          open(spec, "w"), indent=2)
PY
  log "wstest: $* against $ECHO_URL"
  # wstest's log goes to a file; its report is index.json in $out.
  (cd "$out" && timeout "$TIMEOUT" "$WSTEST" -m fuzzingclient -s spec.json >wstest.log 2>&1) || {
    log "wstest exited $?; log tail:"
    tail -n 20 "$out/wstest.log" >&2 || true
  }
  [[ -f "$out/index.json" ]]
}

if [[ -z "${ECHO_URL:-}" ]]; then
  start_server
else
  log "testing the running server at $ECHO_URL"
fi

CASES=("$@")
if ((${#CASES[@]} == 0)) && [[ -n "${AUTOBAHN_CASES:-}" ]]; then
  read -r -a CASES <<<"$AUTOBAHN_CASES"
fi
START=$SECONDS

if [[ "$RUNNER" == "wstest" ]]; then
  ((${#CASES[@]})) || CASES=("*")
  run_wstest "$OUTDIR/wstest" "${CASES[@]}" || { log "wstest produced no report"; exit 1; }
  log "wstest took $((SECONDS - START)) s"
  server_still_alive
  rc=0
  "$PYTHON" "$HERE/check.py" "$OUTDIR/wstest/index.json" || rc=$?
  exit "$rc"
fi

if ! command -v "$KOSOKU" >/dev/null 2>&1; then
  log "kosoku not found: pip install -r tests/autobahn/requirements.txt"
  exit 1
fi

KARGS=("$ECHO_URL" -p "$PARALLELISM" -o "$OUTDIR/kosoku")
for c in "${CASES[@]}"; do KARGS+=(-i "$c"); done
read -r -a EXCLUDES <<<"${AUTOBAHN_EXCLUDE:-}"
for c in "${EXCLUDES[@]}"; do KARGS+=(-x "$c"); done
rm -rf "$OUTDIR/kosoku"
log "kosoku ${KARGS[*]}"
# kosoku exits 1 when any case is not OK (UNIMPLEMENTED included): gate on
# index.json through check.py instead of on its exit code.
set +e
timeout "$TIMEOUT" "$KOSOKU" "${KARGS[@]}" >"$OUTDIR/kosoku.log" 2>&1
krc=$?
set -e
log "kosoku exited $krc after $((SECONDS - START)) s (log: $OUTDIR/kosoku.log)"
if [[ ! -f "$OUTDIR/kosoku/index.json" ]]; then
  log "kosoku wrote no index.json; log tail:"
  tail -n 30 "$OUTDIR/kosoku.log" >&2 || true
  echo "0 passed, 1 failed"
  exit 1
fi
server_still_alive

BROKEN="$OUTDIR/runner-broken.txt"
set +e
"$PYTHON" "$HERE/check.py" "$OUTDIR/kosoku/index.json" --broken-out "$BROKEN" --allow-runner-broken >"$OUTDIR/check-kosoku.txt"
set -e
CHECK_ARGS=("$OUTDIR/kosoku/index.json")
if [[ -s "$BROKEN" ]]; then
  mapfile -t BROKEN_CASES <"$BROKEN"
  log "kosoku broke by itself on ${#BROKEN_CASES[@]} case(s): ${BROKEN_CASES[*]}; re-running them under the reference runner"
  if run_wstest "$OUTDIR/wstest" "${BROKEN_CASES[@]}"; then
    CHECK_ARGS+=(--override "$OUTDIR/wstest/index.json")
    server_still_alive
  else
    log "could not re-run them under wstest; see tests/autobahn/README.md"
    if [[ "${AUTOBAHN_ALLOW_RUNNER_BROKEN:-0}" == "1" && "${CI:-}" != "true" ]]; then
      CHECK_ARGS+=(--allow-runner-broken)
    fi
  fi
fi
log "total $((SECONDS - START)) s; reports in $OUTDIR (index.html per runner)"
rc=0
"$PYTHON" "$HERE/check.py" "${CHECK_ARGS[@]}" || rc=$?
exit "$rc"
