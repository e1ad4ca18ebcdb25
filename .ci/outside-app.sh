#!/usr/bin/env bash
# Builds and runs a small application outside the workspace that depends on
# `switchboard` and `switchboard-client` by path, as a git or registry
# dependency would: none of the workspace's settings apply to it. The app
# (tests/outside-app/) starts a hub on 127.0.0.1:0, connects the Rust client,
# emits an event with an ack and checks the answer.
#
# It starts from the workspace's Cargo.lock (the versions CI tests), and builds
# into target/outside-app so that a second run is incremental.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
app="$(mktemp -d "${TMPDIR:-/tmp}/switchboard-outside-app.XXXXXX")"
trap 'rm -rf "$app"' EXIT

mkdir -p "$app/src"
sed "s#@REPO@#$repo#g" "$repo/tests/outside-app/Cargo.toml.in" > "$app/Cargo.toml"
cp "$repo/tests/outside-app/src/main.rs" "$app/src/main.rs"
cp "$repo/Cargo.lock" "$app/Cargo.lock"

export CARGO_TARGET_DIR="$repo/target/outside-app"
start=$SECONDS
cargo build --manifest-path "$app/Cargo.toml"
echo "outside app built in $((SECONDS - start)) s"

# The client must not bring the hub's HTTP server with it.
if cargo tree --manifest-path "$app/Cargo.toml" -p switchboard-client -e normal \
  | grep -E '^[^a-z]*(axum|hyper|switchboard) v'; then
  echo "switchboard-client depends on the hub or an HTTP server (above)" >&2
  exit 1
fi

timeout 60 "$CARGO_TARGET_DIR/debug/switchboard-outside-app"
echo "outside app ran in $((SECONDS - start)) s in all"
