#!/usr/bin/env bash
# Packages the workspace's publishable crates as a registry would receive
# them, then builds every package from its own sources alone (cargo verifies
# them in dependency order, each taking its siblings from the packages just
# made, and the rest from the registry at the newest versions allowed). It
# catches what only shows outside the workspace: a `[patch]`, a path
# dependency without a version, a file read from outside the crate.
# Crates with `publish = false` (server, bench, testkit; their Cargo.toml
# says why) are left out here: `cargo package` would take them too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

start=$SECONDS
# Cargo keeps what it unpacks from the local registry of the packages just
# made under that registry's path: a second run at the same path, with the
# same versions, would verify against the first run's sources (the unpacked
# copies of local registries are the `registry/src/-*` folders). They go.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rm -rf "$cargo_home"/registry/src/-*/switchboard-* "$cargo_home"/registry/cache/-*/switchboard-*
# --allow-dirty: a local run with uncommitted edits packages them as they are.
cargo package --workspace --allow-dirty \
  --exclude switchboard-server --exclude switchboard-bench --exclude switchboard-testkit
echo "packaged and verified in $((SECONDS - start)) s:"
ls -1 "${CARGO_TARGET_DIR:-target}"/package/*.crate
