#!/usr/bin/env bash
# Installs the browser libraries of the web application from the npm registry (exact
# versions from package-lock.json) and copies what the pages load into static/vendor/.
# Run once after a checkout or an upgrade: bash webentry/assets/build.sh
# axe-core (a development dependency) stays in node_modules/: the browser tests put it into the
# pages they check; no page of the application loads it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
vendor="$here/../static/vendor"
if ! command -v npm >/dev/null 2>&1; then
  echo "webentry/assets/build.sh: npm is needed (Debian: apt-get install -y npm)" >&2
  exit 2
fi
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
src="$here/node_modules/openseadragon/build/openseadragon"
rm -rf "$vendor/openseadragon"
mkdir -p "$vendor/openseadragon"
cp "$src/openseadragon.min.js" "$vendor/openseadragon/"
cp -r "$src/images" "$vendor/openseadragon/images"
cp "$here/node_modules/openseadragon/LICENSE.txt" "$vendor/openseadragon/" 2>/dev/null || true
echo "OpenSeadragon $(node -p "require('./node_modules/openseadragon/package.json').version") -> $vendor/openseadragon"
