#!/usr/bin/env bash
# Regenerates UPSTREAM.diff: this crate against the published sockudo-ws 3.1.0.
#
#   bash crates/switchboard-sockudo-ws/upstream-diff.sh            # fetches upstream with cargo
#   bash crates/switchboard-sockudo-ws/upstream-diff.sh DIR        # or compares with an unpacked copy
#
# The diff lists, first, what this crate leaves out of upstream's package
# (whole files and directories, by name), then the changes to every file both
# have, and the files this crate adds, in full. Cargo.toml is compared with
# upstream's original manifest (Cargo.toml.orig), not the normalized one.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ $# -ge 1 ]]; then
  upstream="$(cd "$1" && pwd)"
else
  # A throwaway package depending on exactly sockudo-ws 3.1.0: cargo fetches
  # and unpacks it, and `cargo metadata` says where.
  mkdir -p "$work/fetch/src"
  : > "$work/fetch/src/lib.rs"
  cat > "$work/fetch/Cargo.toml" <<'TOML'
[package]
name = "fetch-sockudo-ws-upstream"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
sockudo-ws = { version = "=3.1.0", default-features = false }

[workspace]
TOML
  manifest="$(cargo metadata --format-version 1 --manifest-path "$work/fetch/Cargo.toml" \
    | python3 -c 'import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "sockudo-ws":
        print(p["manifest_path"])')"
  upstream="$(dirname "$manifest")"
fi

# Both trees under stable names, so the diff's paths do not depend on where
# they lie.
mkdir -p "$work/a" "$work/b"
cp -a "$upstream/." "$work/a/sockudo-ws-3.1.0"
cp -a "$here/." "$work/b/switchboard-sockudo-ws"
rm -rf "$work/b/switchboard-sockudo-ws/target" "$work/b/switchboard-sockudo-ws/UPSTREAM.diff"*
mv "$work/a/sockudo-ws-3.1.0/Cargo.toml.orig" "$work/a/Cargo.toml.orig"
rm "$work/a/sockudo-ws-3.1.0/Cargo.toml"
mv "$work/a/Cargo.toml.orig" "$work/a/sockudo-ws-3.1.0/Cargo.toml"
mv "$work/a/sockudo-ws-3.1.0" "$work/sockudo-ws-3.1.0"
mv "$work/b/switchboard-sockudo-ws" "$work/switchboard-sockudo-ws"

cd "$work"
# `diff` exits 1 when the trees differ, which they do.
listing() { diff -rq sockudo-ws-3.1.0 switchboard-sockudo-ws || true; }
{
  echo "# switchboard-sockudo-ws against sockudo-ws 3.1.0 (regenerate: bash upstream-diff.sh)."
  echo "# README.md is this crate's own (upstream's is not kept); Cargo.toml is compared"
  echo "# with upstream's Cargo.toml.orig."
  echo "#"
  echo "# Left out of upstream's package:"
  listing | sed -n 's#^Only in sockudo-ws-3.1.0\(.*\): \(.*\)#\1/\2#p' \
    | sed 's#^/##' | sort | sed 's/^/#   /'
  echo
  { diff -ruN -x README.md \
    $(listing | sed -n 's#^Only in sockudo-ws-3.1.0.*: \(.*\)#-x \1#p') \
    sockudo-ws-3.1.0 switchboard-sockudo-ws || true; } \
    | sed -e 's#^diff -ruN .* \(sockudo-ws-3\.1\.0/.*\)#diff -ruN \1#' \
      -e 's#^\(---\|+++\) \([^\t]*\)\t.*#\1 \2#' 
} > "$here/UPSTREAM.diff.new"
mv "$here/UPSTREAM.diff.new" "$here/UPSTREAM.diff"
echo "wrote $here/UPSTREAM.diff"
