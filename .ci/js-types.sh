#!/usr/bin/env bash
# The JS client as a package (issue 17): its TypeScript declarations checked by tsc
# against the typed example, then the package as npm packs it, installed into a
# scratch project outside the repository and imported there by its name: from Node
# (the `exports` map), and from TypeScript (the same example, against the installed
# declarations). Needs `npm ci` in clients/js (typescript is a devDependency).
#
#   bash .ci/js-types.sh     # from the repository root
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../clients/js"
JS="$PWD"
TSC="$JS/node_modules/.bin/tsc"
[[ -x "$TSC" ]] || { echo "js-types: no $TSC: run 'npm ci' in clients/js" >&2; exit 1; }
echo "js-types: tsc $("$TSC" --version)"

# In the repository: the example imports the package by its own name (self-reference).
"$TSC" -p types-test
"$TSC" -p types-test/tsconfig.nodom.json
echo "js-types: types-test/example.ts and the declarations without DOM check clean"

# Outside it: the packed tarball, installed (no registry involved: it has no dependencies).
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
npm pack --silent --pack-destination "$WORK" >/dev/null
tarball="$(ls "$WORK"/switchboard-client-*.tgz)"
listing="$(tar -tzf "$tarball" | sort | tr '\n' ' ')"
for f in package/package.json package/switchboard.js package/switchboard.d.ts package/lib/client.js package/README.md; do
  [[ " $listing" == *" $f "* ]] || { echo "js-types: $f missing from the package: $listing" >&2; exit 1; }
done
if [[ "$listing" == *package/test/* || "$listing" == *package/support/* || "$listing" == *package/types-test/* ]]; then
  echo "js-types: the package carries test files: $listing" >&2
  exit 1
fi
echo "js-types: packed $(basename "$tarball"): $(wc -w <<<"$listing") files"

mkdir "$WORK/app"
cd "$WORK/app"
echo '{"name":"app","private":true,"type":"module"}' >package.json
npm install --silent --no-audit --no-fund --offline "$tarball"
node --input-type=module -e "
import connect, { Client, CloseCode, SwitchboardError, pollingUrl } from 'switchboard-client';
import pkg from 'switchboard-client/package.json' with { type: 'json' };
if (typeof connect !== 'function' || typeof Client !== 'function' || CloseCode.KICKED !== 4000
    || !(new SwitchboardError('x') instanceof Error) || pollingUrl('ws://h/ws') !== 'http://h/ws/poll') {
  throw new Error('unexpected exports');
}
console.log('js-types: node imports', pkg.name, pkg.version, 'by name');
"
cp "$JS/types-test/example.ts" "$JS/types-test/tsconfig.json" .
"$TSC" -p .
echo "js-types: example.ts checks clean against the installed package"
